"""The operator docs keep up with the code: every setting is in the configuration reference,
every CLI command in the guide, and the site builds with --strict."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fieldlink.cli import app as cli_app
from fieldlink.config import Settings

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_configuration_reference_lists_every_setting() -> None:
    reference = (DOCS / "configuration.md").read_text()
    missing = [
        f"FIELDLINK_{name.upper()}"
        for name in Settings.model_fields
        if f"`FIELDLINK_{name.upper()}`" not in reference
    ]
    assert missing == [], f"add these to docs/configuration.md: {missing}"


def test_the_guide_names_every_top_level_command() -> None:
    guide = "\n".join(p.read_text() for p in DOCS.glob("*.md"))
    names = [c.name for c in cli_app.registered_commands] + [
        g.name for g in cli_app.registered_groups
    ]
    missing = [n for n in names if n and f"fieldlink {n}" not in guide]
    assert missing == [], f"document these commands in docs/: {missing}"


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    mkdocs = shutil.which("mkdocs") or str(Path(sys.executable).parent / "mkdocs")
    if not Path(mkdocs).exists():
        pytest.skip("mkdocs is not installed (pip install -e '.[dev]')")
    out = subprocess.run(
        [mkdocs, "build", "--strict", "--quiet", "--site-dir", str(tmp_path / "site")],
        cwd=DOCS.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
