"""Rounding of published figures, as CBS does: counts to multiples of 5.

Rounding is to the nearest multiple of the base, halves away from zero, so a
published 5 stands for a true value from 3 to 7 (counts are integers) and a
published 0 for 0 to 2. The attacker's audit uses exactly these intervals. Rounding
is not additive: published buurten need not add up to the published wijk.
"""

from __future__ import annotations

import numpy as np


def round_to_base(values: np.ndarray, base: float | np.ndarray) -> np.ndarray:
    """Round to the nearest multiple of ``base`` (halves away from zero); NaN stays NaN."""
    values = np.asarray(values, dtype=float)
    return np.sign(values) * np.floor(np.abs(values) / base + 0.5) * base


def half_width(base: float, integer: bool) -> float:
    """How far a true value can lie from its published rounded value.

    For integer counts and base 5 that is 2 (3..7 round to 5); for real amounts it is
    half the base.
    """
    if base <= 1 and integer:
        return 0.0
    return (base - 1) / 2 if integer else base / 2
