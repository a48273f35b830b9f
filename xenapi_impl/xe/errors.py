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
    "BRIDGE_NAME_EXISTS": ("The specified bridge already exists.", ("bridge",)),
    "CHANGE_PASSWORD_REJECTED": (
        "The system rejected the password change request; perhaps the new password was too "
        "short?",
        ("msg",)),
    "DB_UNIQUENESS_CONSTRAINT_VIOLATION": (
        "You attempted an operation which would have resulted in duplicate keys in the "
        "database.",
        ("table", "field", "value")),
    "DEVICE_ALREADY_ATTACHED": ("The device is already attached to a VM", ("device",)),
    "DEVICE_ALREADY_DETACHED": ("The device is not currently attached", ("device",)),
    "DUPLICATE_PIF_DEVICE_NAME": (
        "A PIF with this specified device name already exists.",
        ("device",)),
    "EVENT_FROM_TOKEN_PARSE_FAILURE": (
        "The event.from token could not be parsed. Valid values include: "", and a value "
        "returned from a previous event.from call.",
        ("token",)),
    "EVENT_SUBSCRIPTION_PARSE_FAILURE": (
        "The server failed to parse your event subscription. Valid values include: *, class- "
        "name, class-name/object-reference.",
        ("subscription",)),
    "HOST_DISABLED": ("The specified server is disabled.", ("host",)),
    "HOST_OFFLINE": (
        "You attempted an operation which involves a host which could not be contacted.",
        ("host",)),
    "INVALID_CIDR_ADDRESS_SPECIFIED": (
        "A required parameter contained an invalid CIDR address (<addr>/<prefix length>)",
        ("parameter",)),
    "INVALID_DEVICE": ("The device name is invalid", ("device",)),
    "INVALID_IP_ADDRESS_SPECIFIED": (
        "A required parameter contained an invalid IP address",
        ("parameter",)),
    "MAC_DOES_NOT_EXIST": ("The MAC address specified does not exist on this server.", ("MAC",)),
    "MAC_INVALID": ("The MAC address specified is not valid.", ("MAC",)),
    "MEMORY_CONSTRAINT_VIOLATION": (
        "The dynamic memory range does not satisfy the following constraint.",
        ("constraint",)),
    "MESSAGE_METHOD_UNKNOWN": (
        "You tried to call a method that does not exist. The method name that you used is "
        "echoed.",
        ("method",)),
    "MESSAGE_PARAMETER_COUNT_MISMATCH": (
        "You tried to call a method with the incorrect number of parameters. The fully- "
        "qualified method name that you used, and the number of received and expected "
        "parameters are returned.",
        ("method", "expected", "received")),
    "NETWORK_CONTAINS_PIF": ("The network contains active PIFs and cannot be deleted.", ("pifs",)),
    "NETWORK_CONTAINS_VIF": ("The network contains active VIFs and cannot be deleted.", ("vifs",)),
    "NETWORK_INCOMPATIBLE_PURPOSES": (
        "You tried to add a purpose to a network but the new purpose is not compatible with an "
        "existing purpose of the network or other networks.",
        ("new_purpose", "conflicting_purpose")),
    "PBD_EXISTS": ("A PBD already exists connecting the SR to the server.", ("sr", "host", "pbd")),
    "PIF_DEVICE_NOT_FOUND": ("The specified device was not found.", ()),
    "PIF_DOES_NOT_ALLOW_UNPLUG": (
        "The operation you requested cannot be performed because the specified PIF does not "
        "allow unplug.",
        ("PIF",)),
    "PIF_IS_PHYSICAL": (
        "You tried to destroy a PIF, but it represents an aspect of the physical host "
        "configuration, and so cannot be destroyed. The parameter echoes the PIF handle you "
        "gave.",
        ("PIF",)),
    "PIF_UNMANAGED": (
        "The operation you requested cannot be performed because the specified PIF is not "
        "managed by xapi.",
        ("PIF",)),
    "SESSION_AUTHENTICATION_FAILED": (
        "The credentials given by the user are incorrect, so access has been denied, and you "
        "have not been issued a session handle.",
        ()),
    "SESSION_NOT_REGISTERED": (
        "This session is not registered to receive events. You must call event.register before "
        "event.next. The session handle you are using is echoed.",
        ("handle",)),
    "SR_NOT_ATTACHED": ("The SR is not attached.", ("sr",)),
    "SR_NOT_EMPTY": ("The SR operation cannot be performed because the SR is not empty.", ()),
    "SR_UNKNOWN_DRIVER": (
        "The SR could not be connected because the driver was not recognised.",
        ("driver",)),
    "SR_UUID_EXISTS": ("An SR with that uuid already exists.", ("uuid",)),
    "SR_VDI_LOCKING_FAILED": (
        "The operation could not proceed because necessary VDIs were already locked at the "
        "storage level.",
        ()),
    "USER_IS_NOT_LOCAL_SUPERUSER": (
        "Only the local superuser can perform this operation.",
        ("msg",)),
    "VBD_NOT_UNPLUGGABLE": (
        "Drive could not be hot-unplugged because it is not marked as unpluggable",
        ("vbd",)),
    "VDI_MISSING": (
        "This operation cannot be performed because the specified VDI could not be found on the "
        "storage substrate",
        ("sr", "vdi")),
    "VDI_TOO_LARGE": ("The VDI is too large.", ("vdi", "maximum size")),
    "VDI_TOO_SMALL": (
        "The VDI is too small. Please resize it to at least the minimum size.",
        ("vdi", "minimum size")),
    "VIF_IN_USE": ("Network has active VIFs", ("network", "VIF")),
    "VLAN_TAG_INVALID": (
        "The VLAN tag you gave was invalid -- it must be between 0 and 4094. The parameter "
        "echoes the VLAN tag you gave.",
        ("VLAN",)),
    "VM_CANNOT_DELETE_DEFAULT_TEMPLATE": (
        "You cannot delete the specified default template.",
        ("vm",)),
    "VM_HAS_NO_SUSPEND_VDI": ("VM cannot be resumed because it has no suspend VDI", ("vm",)),
    "VM_REVERT_FAILED": (
        "An error occured while reverting the specified virtual machine to the specified "
        "snapshot",
        ("vm", "snapshot")),
    "VM_SHUTDOWN_TIMEOUT": ("VM failed to shutdown before the timeout expired", ("vm", "timeout")),
    "XMLRPC_UNMARSHAL_FAILURE": (
        "The server failed to unmarshal the XMLRPC message; it was expecting one element and "
        "received something else.",
        ("expected", "received")),
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
