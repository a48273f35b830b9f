"""host.*: free memory and overhead, the management interface, and dom0 plugins.

host.call_plugin runs `<plugin-dir>/<plugin>` (only names listed in that directory, as xapi's
/etc/xapi.d/plugins) with one argument, the XML-RPC methodCall `fn(session_id, args)`, and
reads its XML-RPC methodResponse from stdout: a string result, a XenAPI failure struct (raised
as that error), or a fault (XENAPI_PLUGIN_FAILURE ["fault", code, reason]). A plugin that
exits non-zero fails with XENAPI_PLUGIN_FAILURE ["non-zero exit", stdout, stderr]."""
from __future__ import annotations

import asyncio
import os
import signal
import xmlrpc.client

from ..errors import XenAPIError
from ..server.context import Context
from .registry import implements

DEFAULT_PLUGIN_DIR = "/etc/xapi.d/plugins"


@implements("host.compute_free_memory")
async def compute_free_memory(ctx: Context, host: str) -> int:
    from .vm import hypervisor
    if host != ctx.services.host_ref:
        raise XenAPIError("HOST_OFFLINE", host)
    return await hypervisor(ctx).free_memory_kib() * 1024


@implements("host.compute_memory_overhead")
async def compute_memory_overhead(ctx: Context, host: str) -> int:
    return ctx.txn.get("host", host)["memory_overhead"]


@implements("host.get_management_interface")
async def get_management_interface(ctx: Context, host: str) -> str:
    for ref, rec in ctx.store.records("PIF").items():
        if rec["host"] == host and rec["management"]:
            return ref
    # xapi: the lookup finds no PIF and the exception escapes as an internal error
    raise XenAPIError("INTERNAL_ERROR", "Not_found")


def _plugin_path(ctx: Context, name: str) -> str:
    root = getattr(ctx.services, "plugin_dir", None) or DEFAULT_PLUGIN_DIR
    try:
        listed = os.listdir(root)
    except OSError:
        listed = []
    if name not in listed:
        raise XenAPIError("XENAPI_MISSING_PLUGIN", name)
    return os.path.join(root, name)


def _signal_name(n: int) -> str:
    try:
        return signal.Signals(n).name
    except ValueError:
        return str(n)


def plugin_result(output: str) -> str:
    """The result of a plugin's methodResponse (or the error it stands for)."""
    try:
        (value,), _ = xmlrpc.client.loads(output)
    except xmlrpc.client.Fault as fault:
        raise XenAPIError("XENAPI_PLUGIN_FAILURE", "fault", str(fault.faultCode),
                          str(fault.faultString)) from None
    except Exception as exc:  # noqa: BLE001 - any unparsable output is the plugin's failure
        raise XenAPIError("XENAPI_PLUGIN_FAILURE", "failed to parse plugin output", output,
                          str(exc)) from None
    if isinstance(value, dict) and value.get("Status") == "Failure":
        desc = [str(d) for d in value.get("ErrorDescription") or ["INTERNAL_ERROR"]]
        raise XenAPIError(desc[0], *desc[1:])
    if isinstance(value, dict) and value.get("Status") == "Success":
        value = value.get("Value")
    if not isinstance(value, str):
        raise XenAPIError("XENAPI_PLUGIN_FAILURE", "unexpected XMLRPC result", output)
    return value


@implements("host.call_plugin")
async def call_plugin(ctx: Context, host: str, plugin: str, fn: str,
                      args: dict[str, str]) -> str:
    if host != ctx.services.host_ref:
        raise XenAPIError("HOST_OFFLINE", host)
    path = _plugin_path(ctx, plugin)
    call = xmlrpc.client.dumps((ctx.session_ref or "", dict(args)), methodname=fn,
                               allow_none=False)
    try:
        proc = await asyncio.create_subprocess_exec(
            path, call, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
    except OSError as exc:
        raise XenAPIError("XENAPI_PLUGIN_FAILURE", "non-zero exit", "",
                          f"cannot execute {path}: {exc.strerror}") from None
    try:
        out_b, err_b = await proc.communicate()
    except BaseException:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    out = out_b.decode("utf-8", "replace")
    err = err_b.decode("utf-8", "replace")
    rc = proc.returncode
    if rc is not None and rc < 0:
        raise XenAPIError("XENAPI_PLUGIN_FAILURE", f"signal: {_signal_name(-rc)}", out, err)
    if rc != 0:
        raise XenAPIError("XENAPI_PLUGIN_FAILURE", "non-zero exit", out, err)
    return plugin_result(out)
