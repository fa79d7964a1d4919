"""zicht's engine: configuration, indicator sources, the pipeline and its outputs.

The public API is small: load a configuration, run it.

>>> from zicht.engine import load_config
>>> from zicht.engine.data import DEMO_CONFIG
>>> config = load_config(DEMO_CONFIG)
>>> config.run.name
'Amsterdam demo'

``run(config, out_dir)`` then writes the outputs (see :func:`engine.pipeline.run`).
Every error zicht raises on purpose is a :class:`ZichtError`.
"""

from zicht.engine.config import Config, load_config
from zicht.engine.pipeline import RunResult, run
from zicht.errors import ZichtError

__all__ = ["Config", "RunResult", "ZichtError", "load_config", "run"]
