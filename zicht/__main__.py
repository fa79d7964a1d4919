"""``python -m zicht``: the command line, as the ``zicht`` script."""

from zicht.engine.cli import main

raise SystemExit(main())
