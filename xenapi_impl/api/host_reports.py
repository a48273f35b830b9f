"""host.* and pool.* that report on the host or reach its extensions: API extensions, the
clients' User-Agents, the system-status capabilities, uncooperative VMs, Xen's debug keys;
UEFI Secure Boot readiness; and the messages the reference removed.

API extensions are executables in the `extensions` directory beside the plugin directory
(xapi's /etc/xapi.d/extensions beside /etc/xapi.d/plugins): `call_extension` takes an XML-RPC
methodCall whose method names the extension, runs it with the call as its argument (as
host.call_plugin runs plugins) and answers its result; an extension that is not there is
MESSAGE_METHOD_UNKNOWN [name].
"""
from __future__ import annotations

import base64
import binascii
import io
import os
import tarfile
import xml.etree.ElementTree as ET
import xmlrpc.client

from ..errors import XenAPIError
from .context import Context
from .host_misc import DEFAULT_PLUGIN_DIR, run_program
from .registry import implements
from .host_fanout import call_on, on_host


def extension_dir(ctx: Context) -> str:
    plugins = getattr(ctx.services, "plugin_dir", None) or DEFAULT_PLUGIN_DIR
    return os.path.join(os.path.dirname(os.path.abspath(plugins)), "extensions")


def _extension(ctx: Context, name: str) -> str | None:
    root = extension_dir(ctx)
    try:
        listed = os.listdir(root)
    except OSError:
        return None
    return os.path.join(root, name) if name in listed else None


@implements("host.has_extension")
async def has_extension(ctx: Context, host: str, name: str) -> bool:
    return _extension(ctx, name) is not None


@implements("pool.has_extension")
async def pool_has_extension(ctx: Context, self: str, name: str) -> bool:
    """Every host has it (each is asked on its own host)."""
    for host in ctx.txn.refs("host"):
        if not await call_on(ctx, host, "host.has_extension", name):
            return False
    return True


@implements("host.call_extension")
async def call_extension(ctx: Context, host: str, call: str) -> str:
    try:
        _params, name = xmlrpc.client.loads(call)
    except Exception:  # noqa: BLE001 - whatever the parser says, the call is malformed
        raise XenAPIError("XMLRPC_UNMARSHAL_FAILURE", "methodCall", call[:200]) from None
    path = _extension(ctx, name or "") if name else None
    if path is None:
        raise XenAPIError("MESSAGE_METHOD_UNKNOWN", str(name))
    return await run_program(path, call)


@implements("host.get_tracked_user_agents")
async def get_tracked_user_agents(ctx: Context, self: str) -> dict[str, str]:
    return ctx.services.user_agents.tracked()


#: what a status report of this host holds (xen-bugtool's capability format)
CAPABILITIES = (
    ("xenapi-server-log", "text/plain", "yes", "The XenAPI server's log file"),
    ("xenapi-database", "text/plain", "no", "The host's database (may hold secrets)"),
    ("xen-dmesg", "text/plain", "yes", "The hypervisor's console ring (host.dmesg)"),
    ("host-config", "text/plain", "yes", "Settings applied to dom0 (time zone, NTP, SSH...)"),
)


@implements("host.get_system_status_capabilities")
async def get_system_status_capabilities(ctx: Context, host: str) -> str:
    root = ET.Element("system-status-capabilities")
    for key, mime, checked, doc in CAPABILITIES:
        ET.SubElement(root, "capability", {
            "key": key, "content-type": mime, "default-checked": checked, "min-size": "-1",
            "max-size": "-1", "min-time": "-1", "max-time": "-1", "pii": "maybe",
            "description": doc})
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


@implements("host.get_uncooperative_resident_VMs")
async def get_uncooperative_resident_VMs(ctx: Context, self: str) -> list[str]:
    """Deprecated; xapi answers the empty set (VM.get_cooperative is true for every VM) since
    its memory daemon stopped tracking the balloon drivers' cooperation."""
    return []


@implements("host.send_debug_keys")
async def send_debug_keys(ctx: Context, host: str, keys: str) -> None:
    """Xen's debug keys through libxl (`xl debug-keys`): the handlers' output goes to the
    hypervisor's console ring (host.dmesg), on the simulator as on real Xen."""
    if not all(" " < c < "\x7f" for c in keys):
        raise XenAPIError("INVALID_VALUE", "keys", keys)
    hv = getattr(ctx.services.backend, "hypervisor", None)
    if hv is None:
        raise XenAPIError("NOT_IMPLEMENTED", "host.send_debug_keys (no hypervisor backend)")
    await hv.run("send_debug_keys", hv.context.send_debug_keys, keys)


on_host("host.has_extension", "host.call_extension", "host.get_tracked_user_agents",
        "host.get_system_status_capabilities", "host.send_debug_keys")


# --- UEFI Secure Boot -------------------------------------------------------------------------
def _auth_files(blob: str) -> set[str]:
    """The names in a base64 tarball of UEFI auth files (PK.auth, KEK.auth, db.auth...)."""
    try:
        data = base64.b64decode(blob, validate=True)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            return {os.path.basename(m.name) for m in tar.getmembers() if m.isfile()}
    except (binascii.Error, ValueError, tarfile.TarError, EOFError):
        return set()


@implements("pool.get_guest_secureboot_readiness")
async def get_guest_secureboot_readiness(ctx: Context, self: str) -> str:
    rec = ctx.txn.get("pool", self)
    names = _auth_files(rec["custom_uefi_certificates"] or rec["uefi_certificates"])
    if not {"PK.auth", "KEK.auth", "db.auth"} <= names:
        return "not_ready"
    return "ready" if "dbx.auth" in names else "ready_no_dbx"


# --- removed from the reference (xapi answers MESSAGE_REMOVED) ----------------------------------
# (pool.test_archive_target tested the archive targets of VM protection policies, removed with
# them; xapi keeps the message and answers MESSAGE_REMOVED)
for _name in ("host.set_cpu_features", "host.reset_cpu_features", "pool.test_archive_target"):
    async def _removed(ctx: Context, *args: object) -> None:
        raise XenAPIError("MESSAGE_REMOVED")
    implements(_name)(_removed)
