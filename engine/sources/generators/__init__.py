"""Seeded generators of synthetic unit-level records, one module per kind of record;
:mod:`zicht.engine.sources.synthetic` names them and runs them."""
