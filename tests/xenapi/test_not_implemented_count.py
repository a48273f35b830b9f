"""How many of the model's messages still answer NOT_IMPLEMENTED (issue 10's measure).

Every message of the served classes is enumerated from the model. Those the
dispatcher has no implementation for are
called through the in-process dispatcher as pool-admin with well-formed arguments (a live
object for each reference where one exists), and the answers counted. Implemented messages
are not called (some destroy or shut down what they are given); the ones whose implementation
answers NOT_IMPLEMENTED by itself (VM.send_sysrq/send_trigger on a running VM and
VM.query_services, as xapi does) are listed in SELF_NOT_IMPLEMENTED and counted too.
`pytest -s` prints the list.

Issue 10 measured 222 of 1,075 before; on this model (1,216 messages) the count was 251 at
eeae144, before this branch's messages; 217 of 1,216 at 03b3f8b; then VM_appliance, VMSS,
VM_group and the missing VM messages (1,280 messages): 200; the blob class, data sources,
blobs, role, HA planner, sync_database, agent, update-sync and telemetry messages: 164; the
Certificate class, certificates, TLS, host/pool settings (1,311 messages): 72; the VLAN, Bond
and tunnel classes, the pool's VLAN calls and the management interface (1,364 messages): 62;
then 54; storage motion (VDI.pool_migrate): 53.

Every message that answers NOT_IMPLEMENTED must be named, in a group with its reason, in
xenapi_impl/README.md's section "What answers NOT_IMPLEMENTED, and why"; and every name there
must still answer so (the list shrinks as messages are implemented)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from harness import UNIX_ROOT, run
from xenapi_impl import api
from xenapi_impl.api.registry import IMPLEMENTATIONS
from xenapi_impl.errors import XenAPIError
from xenapi_impl.model import MODEL
from xenapi_impl.server import implicit

NULL = "OpaqueRef:NULL"
#: messages implemented to answer NOT_IMPLEMENTED, as xapi's own implementation does
SELF_NOT_IMPLEMENTED = {"VM.send_sysrq", "VM.send_trigger", "VM.query_services"}
#: the ceiling: lower it when messages are implemented, never raise it
MAX_NOT_IMPLEMENTED = 53


def unimplemented() -> list[str]:
    api.load_all()
    out = []
    for name, msg in MODEL.methods.items():
        impl = IMPLEMENTATIONS.get(name)
        if impl is None and msg.implicit is not None:
            impl = implicit.make(msg)
        elif impl is None and msg.cls in MODEL.classes:
            impl = implicit.map_accessor(msg, MODEL.classes[msg.cls])
        if impl is None:
            out.append(name)
    return sorted(out)


def arg(t: Any, live: dict[str, str]) -> Any:
    if t.kind == "ref":
        return live.get(t.cls, NULL)
    if t.kind in ("int",):
        return "0"
    if t.kind == "datetime":
        return "19700101T00:00:00Z"
    if t.kind == "record":
        return {}
    value = t.default_value()
    return value


def test_count_not_implemented(capsys) -> None:
    missing = unimplemented()

    async def body(h) -> dict[str, list[str]]:
        # the local superuser: local-root-only messages get past RBAC too
        s = await h.call("session.login_with_password", "root", "", caller=UNIX_ROOT)
        live = {}
        for cls in MODEL.classes:
            if cls in h.services.store_classes:
                refs = list(h.store.records(cls))
                if refs:
                    live[cls] = refs[0]
        live["session"] = s
        answers: dict[str, list[str]] = {}
        for name in missing:
            msg = MODEL.methods[name]
            args = [arg(p.type, live) for p in msg.arg_params]
            params = [s, *args] if msg.takes_session else args
            try:
                await h.call(name, *params, caller=UNIX_ROOT)
                code = "OK"
            except XenAPIError as exc:
                code = exc.code
            answers.setdefault(code, []).append(name)
        return answers

    answers = run(body)
    not_impl = answers.get("NOT_IMPLEMENTED", [])
    others = {k: v for k, v in answers.items() if k != "NOT_IMPLEMENTED"}
    total = len(MODEL.methods)
    count = len(not_impl) + sum(len(v) for v in others.values()) + len(SELF_NOT_IMPLEMENTED)
    with capsys.disabled():
        print(f"\n{count} of {total} messages answer NOT_IMPLEMENTED "
              f"({len(not_impl)} called and answered so; {len(SELF_NOT_IMPLEMENTED)} by their "
              f"implementation, as xapi's; {sum(len(v) for v in others.values())} stopped "
              f"earlier by an argument check: {sorted(others)})")
    # a message with no implementation never does anything else than refuse
    assert "OK" not in answers, answers.get("OK")
    assert set(others) <= {"HANDLE_INVALID", "INVALID_VALUE", "SESSION_INVALID"}, others
    assert count <= MAX_NOT_IMPLEMENTED, sorted(not_impl)
    for name in SELF_NOT_IMPLEMENTED:
        assert name in IMPLEMENTATIONS


# --- the README's groups (xenapi_impl/README.md, "What answers NOT_IMPLEMENTED, and why") ---
README = Path(__file__).resolve().parents[2] / "xenapi_impl" / "README.md"
SECTION = "## What answers NOT_IMPLEMENTED, and why"


def listed() -> set[str]:
    """The `Class.message` names of the README's section."""
    text = README.read_text(encoding="utf-8")
    assert SECTION in text, f"{README} has no section {SECTION!r}"
    body = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"`([A-Za-z_]+\.[A-Za-z_]+)`", body))


def test_every_not_implemented_message_has_a_listed_reason() -> None:
    missing = set(unimplemented()) | SELF_NOT_IMPLEMENTED
    assert sorted(missing - listed()) == [], "add them to a group of the README's section"


def test_listed_messages_still_answer_not_implemented() -> None:
    names = listed()
    assert sorted(n for n in names if n not in MODEL.methods) == [], "not messages"
    stale = names - set(unimplemented()) - SELF_NOT_IMPLEMENTED
    assert sorted(stale) == [], "implemented now: take them out of the README's section"
