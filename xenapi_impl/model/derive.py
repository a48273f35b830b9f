"""The implicit messages, derived mechanically from a class declaration (as the reference does).

For a class with ``accessors``:
- ``get_<field>`` for every field (roles: everyone, read-only and client-cert included);
- for RW fields only: ``set_<field>``; for RW maps also ``add_to_<field>`` (key, value) and
  ``remove_from_<field>`` (key); for RW sets also ``add_<field>`` and ``remove_<field>`` (value).
  Their roles are the field's ``write_roles`` or else the class's ``roles``. Fields the
  reference lets clients change only through a custom message are declared RO, with that
  message explicit (e.g. ``VM.set_memory_static_max``);
- ``get_record``, ``get_by_uuid``, and ``get_by_name_label`` when the class has a nested
  ``name/label`` field (a flat ``name_label``, as in ``pool``, gives none).
With ``get_all``: ``get_all``, ``get_all_records``. With ``constructor``: ``create`` (one
``<class> record`` parameter) and ``destroy``, both with the class's roles and an async form.
No other implicit message has an async form.
"""
from __future__ import annotations

from typing import Iterator

from xenapi_impl.model import roles as R
from xenapi_impl.model.dsl import RW, ClassDef, FieldDef, MessageDef, Param, SESSION_PARAM
from xenapi_impl.model.types import MapType, SetType, XType, parse_type

__all__ = ["implicit_messages", "IMPLICIT_KINDS"]

IMPLICIT_KINDS = (
    "get_field", "set_field", "add_to", "remove_from", "add", "remove", "get_record", "get_all",
    "get_all_records", "get_by_uuid", "get_by_name_label", "create", "destroy",
)
_GETTER_ROLES = R.R_READ_ONLY


def _msg(c: ClassDef, name: str, kind: str, params: list[Param], result: XType | None,
         roles: frozenset[str], doc: str, result_doc: str = "", f: FieldDef | None = None,
         is_async: bool = False) -> MessageDef:
    return MessageDef(cls=c.name, name=name, params=[SESSION_PARAM, *params], result=result,
                      roles=roles, is_async=is_async, implicit=kind, field=f, doc=doc,
                      result_doc=result_doc)


def _field_messages(c: ClassDef, f: FieldDef, self_p: Param) -> Iterator[MessageDef]:
    void = parse_type("void")
    yield _msg(c, f"get_{f.name}", "get_field", [self_p], f.type, _GETTER_ROLES,
               f"Get the {f.path} field of the given {c.name}.", "value of the field", f)
    if f.qualifier != RW:
        return
    roles = f.write_roles if f.write_roles is not None else c.roles
    yield _msg(c, f"set_{f.name}", "set_field",
               [self_p, Param("value", f.type, "New value to set")], void, roles,
               f"Set the {f.path} field of the given {c.name}.", f=f)
    t = f.type
    if isinstance(t, MapType):
        yield _msg(c, f"add_to_{f.name}", "add_to",
                   [self_p, Param("key", t.key, "Key to add"),
                    Param("value", t.value, "Value to add")], void, roles,
                   f"Add the given key-value pair to the {f.path} field of the given {c.name}.",
                   f=f)
        yield _msg(c, f"remove_from_{f.name}", "remove_from",
                   [self_p, Param("key", t.key, "Key to remove")], void, roles,
                   f"Remove the given key and its corresponding value from the {f.path} field "
                   f"of the given {c.name}.  If the key is not in that Map, then do nothing.", f=f)
    elif isinstance(t, SetType):
        yield _msg(c, f"add_{f.name}", "add",
                   [self_p, Param("value", t.element, "New value to add")], void, roles,
                   f"Add the given value to the {f.path} field of the given {c.name}.  If the "
                   "value is already in that Set, then do nothing.", f=f)
        yield _msg(c, f"remove_{f.name}", "remove",
                   [self_p, Param("value", t.element, "Value to remove")], void, roles,
                   f"Remove the given value from the {f.path} field of the given {c.name}.  If "
                   "the value is not in that Set, then do nothing.", f=f)


def implicit_messages(c: ClassDef) -> list[MessageDef]:
    """Every implicit message of ``c``, in a stable order (fields as declared)."""
    ref = parse_type(f"{c.name} ref")
    record = parse_type(f"{c.name} record")
    self_p = Param("self", ref, "reference to the object")
    out: list[MessageDef] = []
    if c.accessors:
        out.append(_msg(c, "get_record", "get_record", [self_p], record, _GETTER_ROLES,
                        f"Get a record containing the current state of the given {c.name}.",
                        "all fields from the object"))
        out.append(_msg(c, "get_by_uuid", "get_by_uuid",
                        [Param("uuid", parse_type("string"), "UUID of object to return")], ref,
                        _GETTER_ROLES,
                        f"Get a reference to the {c.name} instance with the specified UUID.",
                        "reference to the object"))
        if any(f.path == "name/label" for f in c.fields.values()):
            out.append(_msg(c, "get_by_name_label", "get_by_name_label",
                            [Param("label", parse_type("string"), "label of object to return")],
                            parse_type(f"{c.name} ref set"), _GETTER_ROLES,
                            f"Get all the {c.name} instances with the given label.",
                            "references to objects with matching names"))
    if c.get_all:
        # the reference's plural: "VMs", but "VM_metrics instances"
        many = f"{c.name} instances" if c.name.endswith("s") else f"{c.name}s"
        out.append(_msg(c, "get_all", "get_all", [], parse_type(f"{c.name} ref set"),
                        _GETTER_ROLES, f"Return a list of all the {many} known to the system.",
                        "references to all objects"))
        out.append(_msg(c, "get_all_records", "get_all_records", [],
                        parse_type(f"({c.name} ref -> {c.name} record) map"), _GETTER_ROLES,
                        f"Return a map of {c.name} references to {c.name} records for all "
                        f"{many} known to the system.", "records of all objects"))
    if c.constructor:
        args = ", ".join(f.name + ("*" if f.required else "") for f in c.constructor_fields())
        out.append(_msg(c, "create", "create",
                        [Param("args", record, "All constructor arguments")], ref, c.roles,
                        (c.create_doc or f"Create a new {c.name} instance, and return its "
                         "handle.") + f"\nThe constructor args are: {args} (* = non-optional).",
                        "reference to the newly created object", is_async=True))
        out.append(_msg(c, "destroy", "destroy", [self_p], parse_type("void"), c.roles,
                        c.destroy_doc or f"Destroy the specified {c.name} instance.",
                        is_async=True))
    if c.accessors:
        for f in c.fields.values():
            out.extend(_field_messages(c, f, self_p))
    return out
