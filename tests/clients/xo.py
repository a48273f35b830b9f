"""Xen Orchestra's connector (npm `xen-api` in node/) as the client tests run it: where it
lives, the loud failure when it is missing (it is part of what the server must prove; `make
venv` runs npm ci), and reading the JSON steps its scripts print."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

NODE_DIR = os.path.join(os.path.dirname(__file__), "node")


def require_node() -> None:
    """Fail (not skip) when node or the connector is missing."""
    if shutil.which("node") is None or not os.path.isdir(
            os.path.join(NODE_DIR, "node_modules", "xen-api")):
        raise RuntimeError("node or tests/clients/node/node_modules/xen-api missing: "
                           "install nodejs and npm, then run `make venv`")


def proceed(proc: subprocess.Popen) -> None:
    """Let a script that holds after each step (xo_vm.mjs) go on to its next one."""
    proc.stdin.write("\n")
    proc.stdin.flush()


def read_step(proc: subprocess.Popen) -> dict:
    """The script's next JSON step line; warnings are skipped, an error step fails."""
    line = proc.stdout.readline()
    if not line:
        proc.wait(10)
        raise AssertionError(f"node exited ({proc.returncode}): {proc.stderr.read()}")
    msg = json.loads(line)
    if msg["step"] == "warning":
        return read_step(proc)
    assert msg["step"] != "error", msg
    return msg
