"""Fresh references and uuids."""
from __future__ import annotations

import uuid as _uuid

NULL_REF = "OpaqueRef:NULL"
REF_PREFIX = "OpaqueRef:"


def new_ref() -> str:
    return REF_PREFIX + str(_uuid.uuid4())


def new_uuid() -> str:
    return str(_uuid.uuid4())
