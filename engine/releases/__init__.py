"""Releases: what a steward has put out, and what every later run must respect.

:mod:`~engine.releases.ledger` keeps the ledger (a folder outside every output: it
holds true values); :mod:`~engine.releases.identity` says when a run's master is a
release's master again and when two cells are one figure;
:mod:`~engine.releases.apriori` joins what is already out to a new run's table.
"""

from zicht.engine.releases.apriori import Released, check_rules
from zicht.engine.releases.identity import definitions, identity, input_digests, master_key
from zicht.engine.releases.ledger import Ledger, Release, open_ledger, record_release

__all__ = [
    "Ledger",
    "Release",
    "Released",
    "check_rules",
    "definitions",
    "identity",
    "input_digests",
    "master_key",
    "open_ledger",
    "record_release",
]
