"""tests/reference/xenapi-model.json is what tests/reference/extract.py makes of the reference
material, when that is present (../shared/reference beside the clone, or
$XENAPI_REFERENCE_DIR); without it the excerpt is all the other tests need."""
from __future__ import annotations

import json

import pytest

from reference.extract import dumps, extract
from reference_dir import EXCERPT, source_dir

SOURCE = source_dir()


@pytest.mark.skipif(not (SOURCE / "xenapi.json").exists(),
                    reason=f"no reference material in {SOURCE}: the excerpt is used as it is")
def test_excerpt_matches_the_reference_material() -> None:
    assert json.loads(EXCERPT.read_text()) == extract(SOURCE), \
        "out of date: run tests/reference/extract.py"
    assert EXCERPT.read_text() == dumps(extract(SOURCE)), "run tests/reference/extract.py"


def test_excerpt_keeps_no_prose() -> None:
    """Descriptions are digests: no field of the excerpt holds a sentence."""
    text = EXCERPT.read_text()
    data = json.loads(text)
    for c in data["classes"]:
        assert len(c["doc"]) == 12
        for f in c.get("fields", []):
            assert len(f["doc"]) == 12, (c["name"], f["name"])
        for m in c.get("messages", []):
            assert len(m["doc"]) == 12 and all(len(p[3]) == 12 for p in m["params"])
    assert "Unique identifier/object reference" not in text
