"""The committed API reference (docs/api) is exactly what the model generates."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from xenapi_impl.model import MODEL
from xenapi_impl.model.docs import render

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "api"


def test_generated_reference_equals_committed(tmp_path: Path) -> None:
    out = tmp_path / "api"
    proc = subprocess.run([sys.executable, "-m", "xenapi_impl.model.docs", str(out)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    generated = {p.name: p.read_text(encoding="utf-8") for p in out.glob("*.md")}
    committed = {p.name: p.read_text(encoding="utf-8") for p in COMMITTED.glob("*.md")}
    assert sorted(generated) == sorted(committed), (
        "docs/api is stale: run `python -m xenapi_impl.model.docs docs/api`")
    stale = [n for n in generated if generated[n] != committed[n]]
    assert not stale, f"stale pages {stale}: run `python -m xenapi_impl.model.docs docs/api`"


def test_reference_covers_every_class_and_method() -> None:
    files = render()
    assert set(files) == {f"{c}.md" for c in MODEL.classes} | {"index.md", "enums.md",
                                                                 "system.md"}
    for c in MODEL.classes.values():
        page = files[f"{c.name}.md"]
        for f in c.fields:
            assert f"| {f} |" in page, (c.name, f)
        for m in c.messages.values():
            marker = f"### {m.name}\n" if m.implicit is None else f"| {m.name} |"
            assert marker in page, m.full_name


def test_rendering_is_deterministic() -> None:
    assert render() == render()
