"""numpy's seeded shuffles, compiled: the permutations ``Generator.permuted`` draws,
bit for bit, in less time.

A global Moran's I test shuffles the known values of a column 999 times
(:mod:`spatial.moran`); nationally that is 24 sizes of some 12,000 buurten, 0.23 s
each in numpy and 0.14 s here (the swaps at random places, not the draws, take most
of it). The published p-values are those of numpy's shuffles, so a faster shuffle
must be the same shuffle: this module runs numpy's own algorithm on the generator's
own state (O'Neill's PCG64, its XSL-RR output and numpy's buffering of 32-bit
draws; a draw up to ``i`` by masked rejection, as numpy's ``random_interval``; the
Fisher-Yates shuffle from the last position down), and hands the state back to the
generator, which goes on as if numpy had drawn. Another bit generator than PCG64
(the one ``default_rng`` makes) is shuffled by numpy itself. This copies numpy's
algorithm (checked against numpy 2.4): ``tests/test_shuffles.py`` compares it with
the installed numpy, and fails where a numpy draws otherwise.

O'Neill, M. E. (2014). PCG: A family of simple fast space-efficient statistically
good algorithms for random number generation. HMC-CS-2014-0905.

>>> rng = np.random.default_rng(7)
>>> ours = permuted_indices(rng, 10, 3)
>>> theirs = np.random.default_rng(7).permuted(np.tile(np.arange(10)[:, None], 3), axis=0)
>>> bool((ours == theirs).all())
True
"""

from __future__ import annotations

import numba
import numpy as np

_MASK64 = (1 << 64) - 1
# PCG64's 128-bit multiplier (numpy's PCG_DEFAULT_MULTIPLIER_128), in two halves
_MULTIPLIER_HIGH = np.uint64(2549297995355413924)
_MULTIPLIER_LOW = np.uint64(4865540595714422341)
_LOW32 = np.uint64(0xFFFFFFFF)
_32, _58, _63, _64 = np.uint64(32), np.uint64(58), np.uint64(63), np.uint64(64)
_ONE, _ZERO = np.uint64(1), np.uint64(0)


def permuted_indices(rng: np.random.Generator, n: int, count: int) -> np.ndarray:
    """``count`` seeded shuffles of ``0 .. n-1`` as the columns of an (n x count)
    int32 array: ``rng.permuted`` of ``count`` columns of ``arange(n)`` along axis 0,
    the same values, and ``rng`` left where numpy leaves it."""
    bits = rng.bit_generator
    if type(bits) is not np.random.PCG64 or n > 2**31:
        column = np.arange(n, dtype=np.int32)[:, None]
        return rng.permuted(np.broadcast_to(column, (n, count)), axis=0)
    state = bits.state
    pcg = state["state"]
    words = np.array(
        [
            pcg["state"] >> 64,
            pcg["state"] & _MASK64,
            pcg["inc"] >> 64,
            pcg["inc"] & _MASK64,
            state["has_uint32"],
            state["uinteger"],
        ],
        dtype=np.uint64,
    )
    out = np.empty((n, count), dtype=np.int32)
    _shuffle_columns(words, out)
    bits.state = {
        "bit_generator": "PCG64",
        "state": {"state": (int(words[0]) << 64) | int(words[1]), "inc": pcg["inc"]},
        "has_uint32": int(words[4]),
        "uinteger": int(words[5]),
    }
    return out


@numba.njit(cache=True, nogil=True)
def _shuffle_columns(words: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
    """Every column of ``out`` a shuffle of ``0 .. n-1``, one after another, as
    numpy's ``permuted`` makes them (Fisher-Yates from the last position down, on a
    row buffer, then written to the column); ``words`` is the generator's state
    (state high and low, increment high and low, whether a 32-bit draw is buffered,
    and that draw), advanced in place."""
    n, count = out.shape
    row = np.empty(n, dtype=np.int32)
    for k in range(count):
        for i in range(n):
            row[i] = i
        for i in range(n - 1, 0, -1):
            j = _interval(words, np.uint64(i))
            row[i], row[j] = row[j], row[i]
        for i in range(n):
            out[i, k] = row[i]


@numba.njit(cache=True, nogil=True)
def _interval(words: np.ndarray, most: np.uint64) -> np.int64:  # pragma: no cover
    """A uniform draw from ``0 .. most`` (below 2**32), as numpy's
    ``random_interval``: 32-bit draws under the smallest mask that covers ``most``,
    until one is not above it."""
    mask = most
    mask |= mask >> np.uint64(1)
    mask |= mask >> np.uint64(2)
    mask |= mask >> np.uint64(4)
    mask |= mask >> np.uint64(8)
    mask |= mask >> np.uint64(16)
    value = _next32(words) & mask
    while value > most:
        value = _next32(words) & mask
    return np.int64(value)


@numba.njit(cache=True, nogil=True)
def _next32(words: np.ndarray) -> np.uint64:  # pragma: no cover
    """numpy's 32-bit draw from PCG64: the low half of a 64-bit output, its high half
    kept for the next call."""
    if words[4] != _ZERO:
        words[4] = _ZERO
        return words[5]
    value = _next64(words)
    words[4] = _ONE
    words[5] = value >> _32
    return value & _LOW32


@numba.njit(cache=True, nogil=True)
def _next64(words: np.ndarray) -> np.uint64:  # pragma: no cover
    """One PCG64 step: state = state * multiplier + increment (mod 2**128), then the
    XSL-RR output of the new state (its halves xor-ed, rotated by its top 6 bits)."""
    high, low = words[0], words[1]
    new_low = low * _MULTIPLIER_LOW
    new_high = high * _MULTIPLIER_LOW + low * _MULTIPLIER_HIGH + _high_product(low, _MULTIPLIER_LOW)
    low = new_low + words[3]
    carry = _ONE if low < new_low else _ZERO
    high = new_high + words[2] + carry
    words[0], words[1] = high, low
    mixed = high ^ low
    turn = high >> _58
    return (mixed >> turn) | (mixed << ((_64 - turn) & _63))


@numba.njit(cache=True, nogil=True)
def _high_product(a: np.uint64, b: np.uint64) -> np.uint64:  # pragma: no cover
    """The high 64 bits of the 128-bit product of ``a`` and ``b``."""
    a0, a1, b0, b1 = a & _LOW32, a >> _32, b & _LOW32, b >> _32
    p00, p01, p10, p11 = a0 * b0, a0 * b1, a1 * b0, a1 * b1
    middle = (p00 >> _32) + (p01 & _LOW32) + (p10 & _LOW32)
    return p11 + (p01 >> _32) + (p10 >> _32) + (middle >> _32)
