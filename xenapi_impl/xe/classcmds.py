"""The commands generated from the model for every listable class:
``<class>-list``, ``-param-list``, ``-param-get``, ``-param-set``, ``-param-add``,
``-param-remove``, ``-param-clear`` (the last four only where the class has fields they can
change), plus the filtered views xe has on VM (``template-list``, ``snapshot-list``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xenapi_impl.xe.commands import Ctx, Run, Spec, Table
from xenapi_impl.xe.fields import (
    BadValue, CliClass, CliField, format_value, listable_classes, matches, parse_value,
)
from xenapi_impl.xe.grammar import STD_PARAMS, CliFailure


@dataclass
class View:
    """What ``<name>-list`` lists: a class, with filters always applied (``template``: VMs
    with is-a-template=true...)."""

    name: str
    cls: CliClass
    filters: tuple[tuple[str, str], ...] = ()
    plural: str = ""


Row = tuple[str, dict[str, Any]]


# -- selecting records ---------------------------------------------------------------------

def _filter_field(cls: CliClass, key: str) -> tuple[CliField, str | None]:
    """``key`` as (field, map key or "contains" for sets); CliFailure if no such field."""
    cf = cls.field(key)
    if cf is not None:
        return cf, None
    name, sep, sub = key.partition(":")
    cf = cls.field(name) if sep else None
    if cf is None:
        raise CliFailure(f"Unknown field '{key}'")
    if cf.is_set:
        if sub != "contains":
            raise CliFailure("Invalid syntax for set filtering (should be "
                             "set-param:contains=key)")
    elif not cf.is_map:
        raise CliFailure(f"Field '{cf.name}' is not a set or map")
    return cf, sub


def _keep(ctx: Ctx, cf: CliField, sub: str | None, wanted: str, rec: dict[str, Any]) -> bool:
    value = rec.get(cf.field.name)
    if sub is None:
        return matches(cf, value, wanted, ctx.refs)
    if cf.is_map:
        return isinstance(value, dict) and value.get(sub) == wanted
    elem = cf.type.element  # type: ignore[attr-defined]
    return any(format_value(elem, x, ctx.refs) == wanted for x in value or [])


def filter_rows(ctx: Ctx, cls: CliClass, rows: list[Row], filters: list[tuple[str, str]]
                ) -> list[Row]:
    for key, wanted in filters:
        cf, sub = _filter_field(cls, key)
        rows = [r for r in rows if _keep(ctx, cf, sub, wanted, r[1])]
    return rows


def all_rows(ctx: Ctx, cls: CliClass) -> list[Row]:
    """Every record of the class, by name-label then uuid (xe prints in server order; a
    stable order reads better)."""
    records = ctx.call(f"{cls.cls.name}.get_all_records")
    ctx.refs.prime(records)
    rows = list(records.items())
    rows.sort(key=lambda r: (str(r[1].get("name_label", "")), str(r[1].get("uuid", ""))))
    return rows


def user_filters(ctx: Ctx, ignore: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    return [(k, v) for k, v in ctx.params.items()
            if k.partition(":")[0] not in STD_PARAMS + ("params",) + ignore
            and not k.startswith("database:")]


def columns(cls: CliClass, wanted: str | None, default: list[str]) -> list[CliField]:
    """The fields to print, in the model's order: ``wanted`` (the params= value: "all" or
    "a,b") or the default."""
    if wanted == "all":
        return list(cls.fields.values())
    names = set(wanted.split(",")) if wanted is not None else set(default)
    return [cf for cf in cls.fields.values() if cf.name in names]


def record_lines(ctx: Ctx, fields: list[CliField], rec: dict[str, Any]) -> list[tuple[str, str]]:
    return [(cf.label, format_value(cf.type, rec.get(cf.field.name), ctx.refs))
            for cf in fields]


def by_uuid(ctx: Ctx, cls: CliClass) -> tuple[str, dict[str, Any]]:
    ref = ctx.call(f"{cls.cls.name}.get_by_uuid", ctx.param("uuid"))
    rec = ctx.call(f"{cls.cls.name}.get_record", ref)
    ctx.refs.prime({ref: rec})
    return ref, rec


def _field_named(cls: CliClass, name: str) -> CliField:
    cf = cls.field(name)
    if cf is None:      # as xe: CLI_failed_to_find_param, printed as a server error
        from xenapi_impl.xe.transport import Failure
        raise Failure("Missing parameter", [name])
    return cf


# -- the commands ----------------------------------------------------------------------------

def _list(view: View) -> Run:
    def run(ctx: Ctx) -> None:
        rows = all_rows(ctx, view.cls)
        rows = filter_rows(ctx, view.cls, rows, list(view.filters) + user_filters(ctx))
        fields = columns(view.cls, ctx.params.get("params"), view.cls.default_columns())
        ctx.printer.table([record_lines(ctx, fields, rec) for _, rec in rows])
    return run


def _param_list(cls: CliClass) -> Run:
    def run(ctx: Ctx) -> None:
        _, rec = by_uuid(ctx, cls)
        ctx.printer.table([record_lines(ctx, list(cls.fields.values()), rec)])
    return run


def _param_get(cls: CliClass) -> Run:
    def run(ctx: Ctx) -> None:
        _, rec = by_uuid(ctx, cls)
        cf = _field_named(cls, ctx.param("param-name"))
        value = rec.get(cf.field.name)
        if "param-key" in ctx.params and cf.is_map:
            key = ctx.params["param-key"]
            if key not in value:
                raise CliFailure(f"Key {key} not found in map")
            vtype = cf.type.value  # type: ignore[attr-defined]
            ctx.printer.items([format_value(vtype, value[key], ctx.refs)])
            return
        ctx.printer.items([format_value(cf.type, value, ctx.refs)])
    return run


def _set_map_key(ctx: Ctx, ref: str, cf: CliField, rec: dict[str, Any], key: str,
                 value: str) -> None:
    current = rec.get(cf.field.name) or {}
    if cf.adder and cf.remover:
        if key in current:
            ctx.call(cf.remover, ref, key)
        ctx.call(cf.adder, ref, key, value)
    elif cf.setter:
        ctx.call(cf.setter, ref, {**current, key: value})
    else:
        raise CliFailure(f"Map field '{cf.name}' is read-only.")
    current[key] = value
    rec[cf.field.name] = current


def _param_set(cls: CliClass) -> Run:
    def run(ctx: Ctx) -> None:
        ref, rec = by_uuid(ctx, cls)
        plain: list[tuple[CliField, Any]] = []
        keyed: list[tuple[CliField, str, str]] = []
        for key, text in ctx.params.items():       # check everything before changing anything
            if key in ("uuid",) + STD_PARAMS:
                continue
            cf = cls.field(key)
            if cf is None:
                name, sep, sub = key.partition(":")
                cf = cls.field(name) if sep else None
                if cf is None:
                    raise CliFailure(f"Unknown field '{key}'")
                if cf.is_set:
                    raise CliFailure("Cannot param-set on set fields")
                if not cf.is_map:
                    raise CliFailure(f"Field '{cf.name}' is not a set or map")
                if not (cf.adder or cf.setter):
                    raise CliFailure(f"Map field '{cf.name}' is read-only.")
                keyed.append((cf, sub or "", text))
                continue
            if cf.setter is None:
                if cf.adder:
                    raise CliFailure(f"Field '{key}' is a map or set. use the "
                                     "'name:key=value' syntax.")
                raise CliFailure(f"Field '{key}' is read-only.")
            try:
                plain.append((cf, parse_value(cf.type, key, text, ctx.refs)))
            except BadValue as exc:
                raise CliFailure(str(exc)) from None
        for cf, value in plain:
            ctx.call(cf.setter, ref, value)
        for cf, sub, text in keyed:
            _set_map_key(ctx, ref, cf, rec, sub, text)
    return run


def _param_add(cls: CliClass) -> Run:
    def run(ctx: Ctx) -> None:
        ref, _ = by_uuid(ctx, cls)
        cf = _field_named(cls, ctx.param("param-name"))
        if cf.is_set and cf.adder:
            if "param-key" not in ctx.params:
                raise CliFailure("When adding a key to a set, use the syntax: *-param-add "
                                 "param-name=<name> param-key=<key>")
            ctx.call(cf.adder, ref, ctx.params["param-key"])
        elif cf.is_map and cf.adder:
            for k, v in ctx.params.items():
                if k not in ("uuid", "param-name", "param-key") + STD_PARAMS:
                    ctx.call(cf.adder, ref, k, v)
        elif cf.is_set or cf.is_map:
            raise CliFailure("Parameter is read-only")
        else:
            raise CliFailure("Can only add to parameters of type Set or Map")
    return run


def _param_remove(cls: CliClass) -> Run:
    def run(ctx: Ctx) -> None:
        ref, rec = by_uuid(ctx, cls)
        cf = _field_named(cls, ctx.param("param-name"))
        key = ctx.param("param-key")
        if (cf.is_set or cf.is_map) and cf.remover is None:
            raise CliFailure("Cannot remove parameters from read-only map")
        if not (cf.is_set or cf.is_map):
            raise CliFailure("Can only remove from parameters of type Set or Map")
        if key not in (rec.get(cf.field.name) or ()):
            raise CliFailure(f"Key {key} is not in the set" if cf.is_set
                             else f"Key {key} is not in map")
        ctx.call(cf.remover, ref, key)
    return run


def _param_clear(cls: CliClass) -> Run:
    def run(ctx: Ctx) -> None:
        ref, rec = by_uuid(ctx, cls)
        cf = _field_named(cls, ctx.param("param-name"))
        value = rec.get(cf.field.name)
        if (cf.is_set or cf.is_map) and cf.setter:
            ctx.call(cf.setter, ref, [] if cf.is_set else {})
        elif (cf.is_set or cf.is_map) and cf.remover:
            for key in list(value or ()):
                ctx.call(cf.remover, ref, key)
        elif cf.setter:
            try:
                ctx.call(cf.setter, ref, parse_value(cf.type, cf.name, "", ctx.refs))
            except BadValue:
                raise CliFailure("Cannot clear this parameter") from None
        else:
            raise CliFailure("Can only clear RW parameters")
    return run


def _plural(name: str) -> str:
    return name if name.endswith("s") else f"{name}s"


def views() -> list[View]:
    out = []
    for c in listable_classes():
        if c.cls.name == "VM":
            out.append(View("vm", c, (("is-a-template", "false"),), "VMs"))
            out.append(View("template", c, (("is-a-template", "true"),
                                            ("is-a-snapshot", "false")), "templates"))
            out.append(View("snapshot", c, (("is-a-snapshot", "true"),), "snapshots"))
        else:
            out.append(View(c.name, c, (), _plural(c.name)))
    return out


def register(table: Table) -> None:
    for view in views():
        c = view.cls
        filters = [cf.name for cf in c.fields.values()]
        filters += [f"{cf.name}:contains" for cf in c.fields.values() if cf.is_set]
        table.add(Spec(f"{view.name}-list", [], ["params"] + filters,
                       f"Lists all the {view.plural}, filtering on the optional arguments. To "
                       "filter on map parameters, use the syntax 'map-param:key=value'",
                       _list(view), standard=view.name in ("vm", "template", "sr", "network",
                                                           "host")))
        if view.name in ("template", "snapshot"):
            continue     # their param commands are vm-param-*, as for any VM
        n = view.name
        settable = [cf.name for cf in c.fields.values() if cf.setter]
        settable += [f"{cf.name}:" for cf in c.fields.values()
                     if cf.is_map and (cf.adder or cf.setter)]
        addable = [cf.name for cf in c.fields.values() if cf.adder]
        clearable = [cf.name for cf in c.fields.values()
                     if cf.setter or ((cf.is_set or cf.is_map) and cf.remover)]
        table.add(Spec(f"{n}-param-list", ["uuid"], [],
                       "Lists all the parameters of the object specified by the uuid.",
                       _param_list(c)))
        table.add(Spec(f"{n}-param-get", ["uuid", "param-name"], ["param-key"],
                       "Gets the parameter specified of the object. If the parameter is a map "
                       "of key=value pairs, use 'param-key=<key>' to get the value associated "
                       "with a particular key.", _param_get(c)))
        if settable:
            table.add(Spec(f"{n}-param-set", ["uuid"], settable,
                           "Sets the parameter specified. If param-value is not given, the "
                           "parameter is set to a null value. To set a (key,value) pair in a "
                           "map parameter, use the syntax 'map-param:key=value'.",
                           _param_set(c)))
        if addable:
            table.add(Spec(f"{n}-param-add", ["uuid", "param-name"], ["param-key"],
                           "Adds to a set or map parameter. If the parameter is a set, use "
                           "param-key=<key to add>. If the parameter is a map, pass the values "
                           "to add as 'key=value' pairs.", _param_add(c)))
            table.add(Spec(f"{n}-param-remove", ["uuid", "param-name", "param-key"], [],
                           "Removes a member or a key,value pair from a set/map respectively.",
                           _param_remove(c)))
        if clearable:
            table.add(Spec(f"{n}-param-clear", ["uuid", "param-name"], [],
                           f"Clears the specified parameter (param-name can be "
                           f"{','.join(clearable)}).", _param_clear(c)))

