"""The reference model the tests compare against, kept in the repository.

tests/reference/xenapi-model.json is an excerpt of the reference material (xenapi.json and
xenapi-errors.json, in ../shared/reference beside the clone): every name, type, qualifier,
default, role and error code, and of each description only a digest (`doc_digest`).
tests/reference/extract.py regenerates it; tests/test_reference_excerpt.py checks it against
../shared/reference (or $XENAPI_REFERENCE_DIR) when that is there.
"""
from __future__ import annotations

import functools
import json
from typing import Any

from reference.extract import EXCERPT, doc_digest, source_dir

__all__ = ["EXCERPT", "doc_digest", "reference_classes", "reference_errors", "source_dir"]


@functools.cache
def _load() -> dict[str, Any]:
    return json.loads(EXCERPT.read_text())


def reference_classes() -> dict[str, dict[str, Any]]:
    """Class name -> {name, doc, and for the classes the model declares (and SM): fields,
    messages (params as [name, type, required, doc]), enums}."""
    return {c["name"]: c for c in _load()["classes"]}


def reference_errors() -> dict[str, list[str]]:
    """Error code -> the names of its parameters."""
    return dict(_load()["errors"])
