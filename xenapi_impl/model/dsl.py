"""The small language the class declarations are written in: ``field``, ``param``, ``message``,
``cls``. See model/README.md for how to declare a class.

A declaration states what the reference states about a class (fields with type, qualifier,
default; explicit messages with params, result, errors, roles, async flag) and three switches
for the implicit messages; :mod:`xenapi_impl.model.derive` produces the implicit messages.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field as _dc_field
from typing import Any, Iterable, Sequence

from xenapi_impl.model import roles as _roles
from xenapi_impl.model.types import RefType, SetType, XType, parse_type

__all__ = [
    "REQUIRED", "RW", "RO_CTOR", "RO_RUN", "QUALIFIERS", "Param", "FieldDef", "MessageDef",
    "ClassDef", "field", "param", "message", "cls", "DeclarationError", "SESSION_PARAM",
]


class DeclarationError(ValueError):
    """A declaration that breaks the DSL's rules (caught at import time, by the tests)."""


class _Required:
    """Sentinel default: the constructor must be given this field / the caller this param."""

    _instance: "_Required | None" = None

    def __new__(cls) -> "_Required":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "REQUIRED"

    def __copy__(self) -> "_Required":
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> "_Required":
        return self

    def __reduce__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


def _nested(v: list[Any] | dict[Any, Any]) -> bool:
    return any(isinstance(x, (list, dict)) for x in (v.values() if isinstance(v, dict) else v))
_UNSET: Any = object()

RW = "RW"
RO_CTOR = "RO/constructor"
RO_RUN = "RO/runtime"
QUALIFIERS = (RW, RO_CTOR, RO_RUN)


@dataclass(frozen=True)
class Param:
    """A message parameter. ``default`` is REQUIRED unless the caller may leave it out
    (then only trailing parameters may have one)."""

    name: str
    type: XType
    doc: str = ""
    default: Any = REQUIRED

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


SESSION_PARAM = Param("session_id", parse_type("session ref"), "Reference to a valid session")


@dataclass(eq=False)
class FieldDef:
    """A field of a class. ``name`` is the wire name (``name_label``); ``path`` the reference's
    name (``name/label``: the ``/`` marks a namespace)."""

    name: str
    type: XType
    qualifier: str
    default: Any
    doc: str = ""
    path: str = ""
    #: roles of the implicit setters of this field (None: the class's ``roles``)
    write_roles: frozenset[str] | None = None
    cls: str = ""

    @property
    def is_constructor_field(self) -> bool:
        """Given to create (RW and RO/constructor fields); RO/runtime fields are the server's."""
        return self.qualifier != RO_RUN

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def fresh_default(self) -> Any:
        """A copy of the default safe to store (REQUIRED: the type's empty value)."""
        if self.default is REQUIRED:
            return self.type.default_value()
        if isinstance(self.default, (list, dict)):
            nested = _nested(self.default)
            return copy.deepcopy(self.default) if nested else copy.copy(self.default)
        return self.default

    def __repr__(self) -> str:
        return f"FieldDef({self.cls}.{self.name}: {self.type.name}, {self.qualifier})"


@dataclass(eq=False)
class MessageDef:
    """A callable message. ``params`` include ``session_id`` first when the call takes one."""

    cls: str
    name: str
    params: list[Param]
    result: XType | None
    roles: frozenset[str]
    is_async: bool = False
    implicit: str | None = None
    field: FieldDef | None = None
    doc: str = ""
    result_doc: str = ""
    errors: tuple[str, ...] = ()
    takes_session: bool = True
    full_name: str = ""
    #: names in full_name order; filled by __post_init__
    arg_params: list[Param] = _dc_field(default_factory=list)

    def __post_init__(self) -> None:
        self.full_name = f"{self.cls}.{self.name}"
        self.arg_params = self.params[1:] if self.takes_session else list(self.params)

    @property
    def min_args(self) -> int:
        """Arguments a caller must give, the session excluded."""
        return sum(1 for p in self.arg_params if p.required)

    @property
    def max_args(self) -> int:
        """Arguments a caller may give, the session excluded."""
        return len(self.arg_params)

    @property
    def async_name(self) -> str | None:
        return f"Async.{self.full_name}" if self.is_async else None

    def __repr__(self) -> str:
        return f"MessageDef({self.full_name})"


@dataclass(eq=False)
class ClassDef:
    name: str
    doc: str
    fields: dict[str, FieldDef]
    messages: dict[str, MessageDef]
    persistent: bool = True
    #: default roles of the implicit setters, create and destroy
    roles: frozenset[str] = _roles.R_POOL_ADMIN
    #: implicit create/destroy
    constructor: bool = False
    #: implicit get_all and get_all_records
    get_all: bool = True
    #: implicit field getters/setters, get_record and get_by_uuid
    accessors: bool = True
    #: what create/destroy do, when the class says more than the generic sentence
    create_doc: str = ""
    destroy_doc: str = ""

    def default_record(self) -> dict[str, Any]:
        """A full record of defaults (a REQUIRED field holds its type's empty value)."""
        copiers = self.__dict__.get("_copiers")
        if copiers is None:  # built on first use: declarations do not change afterwards
            from xenapi_impl.model.types import default_copier
            copiers = [(n, default_copier(f.type.default_value() if f.required else f.default))
                       for n, f in self.fields.items()]
            self.__dict__["_copiers"] = copiers
        return {name: fresh() for name, fresh in copiers}

    def constructor_fields(self) -> list[FieldDef]:
        return [f for f in self.fields.values() if f.is_constructor_field]

    def required_fields(self) -> list[str]:
        return [f.name for f in self.fields.values() if f.is_constructor_field and f.required]

    def __repr__(self) -> str:
        return f"ClassDef({self.name})"


# -- the DSL -----------------------------------------------------------------------------------

def field(path: str, type: str, qualifier: str = RW, doc: str = "", default: Any = _UNSET,
          write_roles: frozenset[str] | None = None) -> FieldDef:
    """Declare a field. ``path`` as the reference names it (``name/label`` for nested ones).

    Without ``default``: RO/runtime fields take their type's empty value, ref sets start empty
    (as in xapi), every other constructor field is REQUIRED at create.
    A default is given in any form its type's ``check`` accepts (``"19700101T00:00:00Z"``).
    """
    if qualifier not in QUALIFIERS:
        raise DeclarationError(f"field {path}: qualifier {qualifier!r} not in {QUALIFIERS}")
    t = parse_type(type)
    name = path.replace("/", "_")
    if default is _UNSET:
        if qualifier == RO_RUN:
            value: Any = t.default_value()
        elif isinstance(t, SetType) and isinstance(t.element, RefType):
            value = []
        else:
            value = REQUIRED
    elif default is REQUIRED:
        value = REQUIRED
    else:
        value = t.check(default, name)
    return FieldDef(name=name, type=t, qualifier=qualifier, default=value, doc=doc, path=path,
                    write_roles=write_roles)


def param(name: str, type: str, doc: str = "", default: Any = REQUIRED) -> Param:
    t = parse_type(type)
    if default is not REQUIRED:
        default = t.check(default, name)
    return Param(name, t, doc, default)


def message(name: str, doc: str = "", params: Sequence[Param] = (), result: str = "void",
            result_doc: str = "", errors: Iterable[str] = (),
            roles: frozenset[str] = _roles.R_POOL_ADMIN, is_async: bool = False,
            session: bool = True) -> MessageDef:
    """Declare an explicit message; ``cls`` binds it to its class.

    ``params`` exclude the session: ``session=True`` (the default) puts ``session_id`` first.
    """
    ps = list(params)
    seen_optional = False
    for p in ps:
        if not p.required:
            seen_optional = True
        elif seen_optional:
            raise DeclarationError(
                f"message {name}: required param {p.name} after an optional one")
    if len({p.name for p in ps}) != len(ps):
        raise DeclarationError(f"message {name}: duplicate parameter names")
    bad = set(roles) - set(_roles.ORDER)
    if bad:
        raise DeclarationError(f"message {name}: unknown roles {sorted(bad)}")
    return MessageDef(
        cls="", name=name, params=([SESSION_PARAM] if session else []) + ps,
        result=parse_type(result), roles=frozenset(roles), is_async=is_async, doc=doc,
        result_doc=result_doc, errors=tuple(errors), takes_session=session)


def cls(name: str, doc: str, fields: Sequence[FieldDef], messages: Sequence[MessageDef] = (),
        *, persistent: bool = True, roles: frozenset[str] = _roles.R_POOL_ADMIN,
        constructor: bool = False, get_all: bool = True, accessors: bool = True,
        create_doc: str = "", destroy_doc: str = "") -> ClassDef:
    """Declare a class: its fields, explicit messages, and which implicit messages it has.

    - ``roles``: who may call the implicit setters, create and destroy (a field's
      ``write_roles`` overrides it for that field's setters); getters are open to everyone.
    - ``constructor``: implicit ``create`` (record of constructor fields) and ``destroy``.
    - ``get_all``: implicit ``get_all`` and ``get_all_records``.
    - ``accessors``: implicit field getters/setters, ``get_record``, ``get_by_uuid``
      and ``get_by_name_label`` (when a ``name/label`` field exists).
    - ``create_doc``/``destroy_doc``: replace the generic description of create/destroy.
    """
    from xenapi_impl.model.derive import implicit_messages

    fdict: dict[str, FieldDef] = {}
    for f in fields:
        if f.name in fdict:
            raise DeclarationError(f"class {name}: field {f.name} declared twice")
        f.cls = name
        fdict[f.name] = f
    c = ClassDef(name=name, doc=doc, fields=fdict, messages={}, persistent=persistent,
                 roles=frozenset(roles), constructor=constructor, get_all=get_all,
                 accessors=accessors, create_doc=create_doc, destroy_doc=destroy_doc)
    for m in implicit_messages(c):
        c.messages[m.name] = m
    for m in messages:
        if m.name in c.messages:
            raise DeclarationError(f"class {name}: message {m.name} declared twice "
                                   f"(or clashes with an implicit one)")
        m.cls = name
        m.__post_init__()
        c.messages[m.name] = m
    return c
