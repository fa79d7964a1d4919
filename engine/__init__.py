"""zicht's engine: configuration, indicator sources, the pipeline and its outputs.

The public API is small: load a configuration, run it.

>>> from zicht.engine import load_config
>>> from zicht.engine.data import DEMO_CONFIG
>>> config = load_config(DEMO_CONFIG)
>>> config.run.name
'Amsterdam demo'

``run(config, out_dir)`` then writes the outputs (see :func:`engine.pipeline.run`).
Every error zicht raises on purpose is a :class:`ZichtError`. The names are imported
when first used, so that the command line (:mod:`engine.cli`) starts fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from zicht.errors import ZichtError

# public name -> the module that defines it
_API = {
    "Config": "zicht.engine.config",
    "load_config": "zicht.engine.config",
    "run": "zicht.engine.pipeline",
    "RunResult": "zicht.engine.pipeline",
}

__all__ = ["Config", "RunResult", "ZichtError", "load_config", "run"]

if TYPE_CHECKING:
    from zicht.engine.config import Config, load_config
    from zicht.engine.pipeline import RunResult, run


def __getattr__(name: str) -> Any:
    if name in _API:
        value = getattr(import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'zicht.engine' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
