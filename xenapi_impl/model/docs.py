"""Generate the API reference (Markdown) from the model: ``python -m xenapi_impl.model.docs DIR``.

One file per class, ``enums.md``, ``system.md`` and ``index.md``. The output is committed in
docs/api/ and a test regenerates it, so the reference never drifts from the declarations.
Output is deterministic (declaration order, no timestamps).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from pathlib import Path
from typing import Any, Iterable

from xenapi_impl.model import MODEL, REQUIRED
from xenapi_impl.model.dsl import ClassDef, FieldDef, MessageDef
from xenapi_impl.model.registry import Model
from xenapi_impl.model.roles import CLIENT_CERT, ORDER, ordered
from xenapi_impl.model.types import XType, format_datetime

__all__ = ["render", "write", "main"]


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _code(text: str) -> str:
    return f"`{text}`"


def _type(t: XType | None, model: Model) -> str:
    if t is None:
        return "`void`"
    return _code(t.name)


def _default(f: FieldDef) -> str:
    if f.default is REQUIRED:
        return "*required*"
    v: Any = f.default
    if isinstance(v, _dt.datetime):
        return _code(format_datetime(v))
    return _code(json.dumps(v, ensure_ascii=False))


def _roles(m: MessageDef) -> str:
    """Compact: the weakest role of the hierarchy that may call, "+ client-cert" if granted."""
    if not m.roles:
        return "local superuser only"
    roles = ordered(m.roles)
    for i in range(len(ORDER), 0, -1):
        prefix = set(ORDER[:i])
        if prefix <= m.roles:
            weakest = [r for r in ORDER[:i] if r != CLIENT_CERT][-1:] or []
            rest = [r for r in roles if r not in prefix]
            text = f"{weakest[0]} and above" if weakest else ""
            if CLIENT_CERT in rest:
                text = (text + " + " if text else "") + CLIENT_CERT
                rest.remove(CLIENT_CERT)
            if text and not rest:
                return text
            break
    return ", ".join(roles)


def _message_section(m: MessageDef, model: Model) -> list[str]:
    sig = ", ".join(p.name + ("?" if not p.required else "") for p in m.params)
    out = [f"### {m.name}", "", f"`{_type(m.result, model).strip('`')} {m.full_name}({sig})`", ""]
    if m.doc:
        out += [" ".join(m.doc.split()), ""]
    if m.params:
        out += ["| Parameter | Type | Description |", "|---|---|---|"]
        for p in m.params:
            desc = _cell(p.doc)
            if not p.required:
                dv = p.default
                shown = format_datetime(dv) if isinstance(dv, _dt.datetime) else json.dumps(dv)
                desc = (desc + " " if desc else "") + f"(optional, default `{shown}`)"
            out.append(f"| {p.name} | {_type(p.type, model)} | {desc} |")
        out.append("")
    result = _type(m.result, model)
    if m.result_doc:
        result += f": {' '.join(m.result_doc.split())}"
    out.append(f"- Result: {result}")
    out.append(f"- Roles: {_roles(m)}")
    out.append(f"- Async form: {'`Async.' + m.full_name + '`' if m.is_async else 'none'}")
    if m.implicit:
        out.append(f"- Implicit: {m.implicit}" + (f" (field `{m.field.name}`)" if m.field else ""))
    if m.errors:
        out.append(f"- Errors: {', '.join(_code(e) for e in m.errors)}")
    out.append("")
    return out


def _class_page(c: ClassDef, model: Model) -> str:
    out = [f"# {c.name}", "", " ".join(c.doc.split()), ""]
    out.append(f"- Persistent: {'yes' if c.persistent else 'no (kept in memory)'}")
    kinds = []
    if c.accessors:
        kinds.append("field accessors, get_record, get_by_uuid")
    if c.get_all:
        kinds.append("get_all, get_all_records")
    if c.constructor:
        kinds.append("create, destroy")
    out.append(f"- Implicit messages: {'; '.join(kinds) if kinds else 'none'}")
    out.append("")
    out += ["## Fields", "", "| Field | Type | Qualifier | Default | Description |",
            "|---|---|---|---|---|"]
    for f in c.fields.values():
        out.append(f"| {f.name} | {_type(f.type, model)} | {f.qualifier} | {_default(f)} | "
                   f"{_cell(f.doc)} |")
    out.append("")
    explicit = [m for m in c.messages.values() if m.implicit is None]
    implicit = [m for m in c.messages.values() if m.implicit is not None]
    if explicit:
        out += ["## Messages", ""]
        for m in sorted(explicit, key=lambda m: m.name):
            out += _message_section(m, model)
    if implicit:
        out += ["## Implicit messages", "",
                "Derived from the fields (see xenapi_impl/model/derive.py). "
                "The session is the first parameter of each.", "",
                "| Message | Parameters | Result | Roles | Async |", "|---|---|---|---|---|"]
        for m in implicit:
            ps = ", ".join(f"{p.name}: `{p.type.name}`" for p in m.arg_params)
            out.append(f"| {m.name} | {_cell(ps)} | {_type(m.result, model)} | {_roles(m)} | "
                       f"{'yes' if m.is_async else 'no'} |")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def _enums_page(model: Model) -> str:
    used: set[str] = set()
    for m in model.methods.values():
        for p in m.params:
            used |= p.type.referenced_enums()
        if m.result is not None:
            used |= m.result.referenced_enums()
    for c in model.classes.values():
        for f in c.fields.values():
            used |= f.type.referenced_enums()
    out = ["# Enums", ""]
    enums = model.enums
    for name in sorted(used, key=str.lower):
        e = enums[name]
        out += [f"## {name}", "", "| Value | Description |", "|---|---|"]
        for v in e.values:
            out.append(f"| {v} | {_cell(e.docs.get(v, ''))} |")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def _system_page(model: Model) -> str:
    out = ["# system", "", "XML-RPC introspection calls; they take no session.", ""]
    for m in model.system.values():
        out += _message_section(m, model)
    return "\n".join(out).rstrip("\n") + "\n"


def _index_page(model: Model) -> str:
    n_async = sum(1 for m in model.methods.values() if m.is_async)
    out = ["# XenAPI reference", "",
           "Generated from the model declarations (`xenapi_impl/model/`) by "
           "`python -m xenapi_impl.model.docs docs/api`; do not edit.", "",
           f"{len(model.classes)} classes, {len(model.methods)} methods "
           f"({n_async} with an `Async.` form).", "",
           "| Class | Fields | Messages | Description |", "|---|---|---|---|"]
    for c in model.classes.values():
        out.append(f"| [{c.name}]({c.name}.md) | {len(c.fields)} | {len(c.messages)} | "
                   f"{_cell(c.doc)} |")
    out += ["", "Also: [enums](enums.md), [system](system.md).", "",
            "## Referenced but not served", "",
            "Ref types may name these classes; such fields hold `OpaqueRef:NULL` "
            "(ref sets stay empty).", "", "| Class | Description |", "|---|---|"]
    for name in sorted(model.external_classes, key=str.lower):
        out.append(f"| {name} | {_cell(model.external_classes[name])} |")
    return "\n".join(out).rstrip("\n") + "\n"


def render(model: Model = MODEL) -> dict[str, str]:
    """File name -> content of the whole reference."""
    files = {"index.md": _index_page(model), "enums.md": _enums_page(model),
             "system.md": _system_page(model)}
    for c in model.classes.values():
        files[f"{c.name}.md"] = _class_page(c, model)
    return files


def write(target: Path, model: Model = MODEL) -> list[Path]:
    """Write the reference into ``target``, removing stale .md files there."""
    target.mkdir(parents=True, exist_ok=True)
    files = render(model)
    for old in target.glob("*.md"):
        if old.name not in files:
            old.unlink()
    written = []
    for name, text in files.items():
        p = target / name
        p.write_text(text, encoding="utf-8")
        written.append(p)
    return written


def main(argv: Iterable[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m xenapi_impl.model.docs",
                                 description="Generate the Markdown API reference.")
    ap.add_argument("target", type=Path, help="output directory (e.g. docs/api)")
    args = ap.parse_args(list(argv) if argv is not None else None)
    written = write(args.target)
    print(f"wrote {len(written)} files to {args.target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
