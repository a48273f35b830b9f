"""A second simulated host for the migration tests: a process of its own with its own
XLSIM_STATE_FILE, driven by JSON lines on stdin/stdout. Each request is one line
{"op": ..., ...}; each answer one line {"ok": value} or {"error": class, "rc": rc, "msg": ...}.

    python tests/binding/mighost.py STATE_FILE
"""
from __future__ import annotations

import json
import os
import socket
import sys
from typing import Any

os.environ["XLSIM_STATE_FILE"] = sys.argv[1]   # before the simulator's first call

from xenlight_py import Context, DiskConfig, DomainConfig, XenlightError  # noqa: E402
from xenlight_py.migration import migrate_receive, migrate_send  # noqa: E402


def config(c: dict[str, Any]) -> DomainConfig:
    disks = [DiskConfig("xvda", c["disk"])] if c.get("disk") else []
    return DomainConfig(name=c["name"], kernel="/boot/vmlinuz", memory=c["memory"],
                        vcpus=c.get("vcpus", 1), uuid=c.get("uuid"), disks=disks)


def info(ctx: Context, domid: int) -> dict[str, Any]:
    i = ctx.domain_info(domid)
    return {"domid": domid, "name": ctx.domid_to_name(domid), "uuid": i.uuid,
            "running": i.running, "paused": i.paused, "shutdown": i.shutdown,
            "reason": int(i.shutdown_reason), "state": i.state, "vcpus": i.vcpu_online,
            "memkb": i.current_memkb,
            "disk": disk(ctx, domid)}


def disk(ctx: Context, domid: int) -> str | None:
    try:
        return ctx.disk(domid, "xvda").target
    except XenlightError:
        return None


def main() -> None:
    ctx = Context(backend="sim")
    listener: socket.socket | None = None
    for line in sys.stdin:
        req = json.loads(line)
        op = req["op"]
        try:
            if op == "configure":
                ctx.sim.configure(**req.get("host", {}))
                out: Any = None
            elif op == "create":
                out = ctx.create_domain(config(req["cfg"]))
            elif op == "list":
                out = [info(ctx, d.domid) for d in ctx.list_domains() if d.domid]
            elif op == "free":
                out = ctx.free_memory()
            elif op == "guest":
                out = ctx.sim.guest_state(req["domid"]).__dict__
            elif op == "fail":
                ctx.sim.fail_next(req["function"], req["rc"])
                out = None
            elif op == "listen":
                listener = socket.create_server(("127.0.0.1", 0))
                out = listener.getsockname()[1]
            elif op == "receive":
                assert listener is not None
                conn, _ = listener.accept()
                with conn:
                    out = migrate_receive(ctx, conn, config(req["cfg"]))
            elif op == "restore":             # the bare libxl steps, no handshake
                assert listener is not None
                conn, _ = listener.accept()
                with conn:
                    out = ctx.create_restore(config(req["cfg"]), conn, paused=True)
            elif op == "unpause":
                ctx.unpause(req["domid"])
                out = None
            elif op == "send":
                with socket.create_connection(("127.0.0.1", req["port"])) as conn:
                    migrate_send(ctx, req["domid"], conn)
                out = None
            else:
                raise ValueError(f"unknown op {op!r}")
            answer: dict[str, Any] = {"ok": out}
        except XenlightError as e:
            answer = {"error": type(e).__name__, "rc": e.rc, "msg": str(e)}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    ctx.close()


if __name__ == "__main__":
    main()
