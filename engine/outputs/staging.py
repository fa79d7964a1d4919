"""Atomic output: every file is written into a staging folder inside the output
directory and moved into place only when all are complete, so a run that fails
leaves the directory as it was."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from zicht.errors import OutputError


@contextlib.contextmanager
def staged_output(out_dir: Path) -> Iterator[Path]:
    """Yield a staging folder; on success move its files into ``out_dir``.

    On any exception the staging folder is removed, and ``out_dir`` too if this call
    created it, so nothing half-written is left behind.
    """
    out_dir = Path(out_dir)
    created = not out_dir.exists()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=".zicht-staging-", dir=out_dir))
    except OSError as exc:
        raise OutputError(
            f"{out_dir}: output directory cannot be written ({exc.strerror})"
        ) from None
    try:
        yield stage
        for item in sorted(stage.iterdir()):
            os.replace(item, out_dir / item.name)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        if created:
            shutil.rmtree(out_dir, ignore_errors=True)
        raise
    shutil.rmtree(stage, ignore_errors=True)
