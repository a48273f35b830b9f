"""model/errors.py: every error code of the reference with its parameter names."""
from __future__ import annotations

from reference_dir import reference_errors
from xenapi_impl.model import MODEL
from xenapi_impl.model.errors import ERRORS


def test_errors_match_the_reference() -> None:
    reference = reference_errors()
    assert list(ERRORS) == list(reference)
    assert {k: list(v) for k, v in ERRORS.items()} == reference


def test_every_declared_error_of_a_message_is_known() -> None:
    unknown = {(m.full_name, e) for m in MODEL.methods.values() for e in m.errors
               if e not in ERRORS}
    assert not unknown
