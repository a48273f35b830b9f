"""The XenAPI data model, declared once (see README.md in this directory).

``MODEL`` holds the classes, their fields and messages (explicit ones as declared in
``classes/``, implicit ones derived by ``derive.py``) and the method table dispatch serves.
"""
from __future__ import annotations

from xenapi_impl.model.classes import ALL_CLASSES
from xenapi_impl.model.dsl import (
    QUALIFIERS, REQUIRED, RO_CTOR, RO_RUN, RW, ClassDef, FieldDef, MessageDef, Param,
)
from xenapi_impl.model.registry import Model
from xenapi_impl.model.relations import RELATIONS
from xenapi_impl.model.roles import builtin_roles, permitted
from xenapi_impl.model.system import SYSTEM_MESSAGES
from xenapi_impl.model.types import XType, parse_type

__all__ = [
    "MODEL", "Model", "ClassDef", "FieldDef", "MessageDef", "Param", "XType", "REQUIRED", "RW",
    "RO_CTOR", "RO_RUN", "QUALIFIERS", "parse_type", "permitted", "builtin_roles",
]

MODEL: Model = Model(ALL_CLASSES, SYSTEM_MESSAGES, RELATIONS)
