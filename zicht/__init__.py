"""zicht: open geospatial risk scoring for Dutch municipalities, with disclosure control.

One import package; each stage of the flow is a subpackage that can be used on its own:

- :mod:`zicht.boundaries`: CBS wijk and buurt polygons, checked, in RD New (EPSG:28992);
- :mod:`zicht.engine`: configuration, indicator sources, the pipeline, CLI and outputs;
- :mod:`zicht.disclosure`: statistical disclosure control of everything published;
- :mod:`zicht.spatial`: spatial weights, hotspots and trends;
- :mod:`zicht.models`: risk scores per theme.

The names below are the public API. They are imported when first used, so that
``import zicht`` (and ``zicht --help``) stays fast.

>>> import zicht
>>> config = zicht.load_config(zicht.DEMO_CONFIG)
>>> config.run.name
'Amsterdam demo'
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from zicht.errors import ZichtError

__version__ = "0.1.0"

# public name -> the module that defines it
_API = {
    "Config": "zicht.engine.config",
    "load_config": "zicht.engine.config",
    "run": "zicht.engine.pipeline",
    "RunResult": "zicht.engine.pipeline",
    "DEMO_CONFIG": "zicht.engine.data",
    "read_boundaries": "zicht.boundaries.read",
    "Boundaries": "zicht.boundaries.read",
    "protect": "zicht.disclosure",
    "attack": "zicht.disclosure",
    "DisclosureParams": "zicht.disclosure",
}

__all__ = [
    "DEMO_CONFIG",
    "Boundaries",
    "Config",
    "DisclosureParams",
    "RunResult",
    "ZichtError",
    "__version__",
    "attack",
    "load_config",
    "protect",
    "read_boundaries",
    "run",
]

if TYPE_CHECKING:
    from zicht.boundaries.read import Boundaries, read_boundaries
    from zicht.disclosure import DisclosureParams, attack, protect
    from zicht.engine.config import Config, load_config
    from zicht.engine.data import DEMO_CONFIG
    from zicht.engine.pipeline import RunResult, run


def __getattr__(name: str) -> Any:
    if name in _API:
        value = getattr(import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'zicht' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
