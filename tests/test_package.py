"""What an install puts on the path: one package, ``zicht``, and its public API."""

from __future__ import annotations

import subprocess
import sys

import zicht


def _python(code: str, cwd) -> subprocess.CompletedProcess:
    # a folder outside the checkout, so only what the install provides can be imported
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_the_install_provides_zicht_and_no_generic_top_level_packages(tmp_path):
    assert _python("import zicht.disclosure, zicht.engine.cli", tmp_path).returncode == 0
    for generic in ("engine", "models", "spatial", "boundaries", "disclosure"):
        result = _python(f"import {generic}", tmp_path)
        assert result.returncode != 0, f"'import {generic}' works outside the checkout"
        assert "ModuleNotFoundError" in result.stderr


def test_every_public_name_resolves():
    for name in zicht.__all__:
        assert getattr(zicht, name) is not None, name
    assert sorted(zicht.__all__) == sorted(dir(zicht))


def test_importing_zicht_loads_no_stage_package(tmp_path):
    """``import zicht`` is cheap: the API is imported when first used."""
    code = "import sys, zicht; print(sorted(m for m in sys.modules if m.startswith('zicht.')))"
    result = _python(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['zicht.errors']"


def test_python_dash_m_zicht_is_the_command_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "zicht", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: zicht")
