"""How xe prints a XenAPI failure, as xapi's CLI does.

A code xe knows is printed as its description followed by one ``name: value`` line per
parameter (a ref shown as ``uuid (name-label)``); any other code as ``Error code: X`` and
``Error parameters: a, b``. The descriptions are xapi's (ocaml/idl/datamodel_errors.ml), for
the errors this server raises on the paths xe drives; the parameter names are those of the
reference's error list (tests/clients/test_xe.py checks them against xenapi-errors.json).
"""
from __future__ import annotations

from typing import Callable

#: code -> (description, parameter names)
ERRORS: dict[str, tuple[str, tuple[str, ...]]] = {
    "INTERNAL_ERROR": (
        "The server failed to handle your request, due to an internal error. The given "
        "message may give details useful for debugging the problem.", ("message",)),
    "HANDLE_INVALID": (
        "You gave an invalid object reference. The object may have recently been deleted. "
        "The class parameter gives the type of reference given, and the handle parameter "
        "echoes the bad value given.", ("class", "handle")),
    "UUID_INVALID": ("The uuid you supplied was invalid.", ("type", "uuid")),
    "MAP_DUPLICATE_KEY": (
        "You tried to add a key-value pair to a map, but that key is already there.",
        ("type", "param_name", "uuid", "key")),
    "VALUE_NOT_SUPPORTED": (
        "You attempted to set a value that is not supported by this implementation. The "
        "fully-qualified field name and the value that you tried to set are returned. Also "
        "returned is a developer-only diagnostic reason.", ("field", "value", "reason")),
    "INVALID_VALUE": ("The value given is invalid", ("field", "value")),
    "FIELD_TYPE_ERROR": ("The value specified is of the wrong type", ("field",)),
    "OPERATION_NOT_ALLOWED": ("You attempted an operation that was not allowed.", ("reason",)),
    "OPERATION_BLOCKED": (
        "You attempted an operation that was explicitly blocked (see the blocked_operations "
        "field of the given object).", ("ref", "code")),
    "NOT_IMPLEMENTED": ("The function is not implemented", ("function",)),
    "PERMISSION_DENIED": ("Caller not allowed to perform this operation.", ("message",)),
    "RBAC_PERMISSION_DENIED": ("RBAC permission denied.", ("permission", "message")),
    "SESSION_INVALID": (
        "You gave an invalid session reference. It may have been invalidated by a server "
        "restart, or timed out. You should get a new session handle, using one of the "
        "session.login_ calls. This error does not invalidate the current connection. The "
        "handle parameter echoes the bad value given.", ("handle",)),
    "VM_BAD_POWER_STATE": (
        "You attempted an operation on a VM that was not in an appropriate power state at "
        "the time; for example, you attempted to start a VM that was already running. The "
        "parameters returned are the VM's handle, and the expected and actual VM state at "
        "the time of the call.", ("vm", "expected", "actual")),
    "VM_IS_TEMPLATE": ("The operation attempted is not valid for a template VM", ("vm",)),
    "OTHER_OPERATION_IN_PROGRESS": (
        "Another operation involving the object is currently in progress",
        ("class", "object", "operation_type", "operation_ref")),
    "VM_NO_EMPTY_CD_VBD": ("The VM has no empty CD drive (VBD).", ("vm",)),
    "VM_NO_SUSPEND_SR": ("This VM does not have a suspend SR specified.", ("vm",)),
    "VM_HVM_REQUIRED": ("HVM is required for this operation", ("vm",)),
    "VBD_NOT_EMPTY": ("Operation could not be performed because the drive is not empty",
                      ("vbd",)),
    "VBD_IS_EMPTY": ("Operation could not be performed because the drive is empty", ("vbd",)),
    "VBD_NOT_REMOVABLE_MEDIA": ("Media could not be ejected because it is not removable",
                                ("vbd",)),
    "VBD_CDS_MUST_BE_READONLY": ("Read/write CDs are not supported", ()),
    "VDI_IN_USE": ("This operation cannot be performed because this VDI is in use by some "
                   "other operation", ("vdi", "operation")),
    "VDI_IS_NOT_ISO": ("This operation can only be performed on CD VDIs (iso files or CDROM "
                       "drives)", ("vdi", "type")),
    "VDI_READONLY": ("The operation required write access but this VDI is read-only",
                     ("vdi",)),
    "DEVICE_ALREADY_EXISTS": ("A device with the name given already exists on the selected VM",
                              ("device",)),
    "HOST_NOT_ENOUGH_FREE_MEMORY": (
        "Not enough server memory is available to perform this operation.",
        ("needed", "available")),
    "SR_FULL": ("The SR is full. Requested new size exceeds the maximum size",
                ("requested", "maximum")),
    "SR_BACKEND_FAILURE": ("There was an SR backend failure.", ("status", "stdout", "stderr")),
    "SR_OPERATION_NOT_SUPPORTED": (
        "The SR backend does not support the operation (check the SR's allowed operations)",
        ("sr",)),
    "SR_HAS_PBD": ("The SR is still connected to a host via a PBD. It cannot be destroyed or "
                   "forgotten.", ("sr",)),
    "EVENTS_LOST": ("Some events have been lost from the queue and cannot be retrieved.", ()),
}


def describe(code: str, params: list[str], ref_text: Callable[[str, str], str]) -> list[str]:
    """The lines xe prints on stderr for this failure. ``ref_text(param_name, value)`` turns a
    ref parameter into ``uuid (name)``."""
    known = ERRORS.get(code)
    if known is None:
        return [f"Error code: {code}",
                f"Error parameters: {', '.join(ref_text('', p) for p in params)}"]
    doc, names = known
    lines = [doc]
    for i in range(max(len(names), len(params))):
        name = names[i] if i < len(names) else "<extra>"
        value = ref_text(name, params[i]) if i < len(params) else "<unknown>"
        lines.append(f"{name}: {value}")
    return lines
