"""RBAC roles: the reference's static roles, their order, and who may call what.

The reference orders its roles from most to least powerful; a message allowed to a role is
allowed to every role before it. ``client-cert`` (granted to clients that authenticate with a
certificate) sits just before ``read-only`` in that order, so "read-only and above" includes it
while "vm-operator and above" does not; messages open to certificate clients add it explicitly.
A message with no role at all is reserved to the local superuser (xapi's _R_LOCAL_ROOT_ONLY).

Role records (the ``role`` class) are derived from the model: the seven roles, plus one
permission per method (``is_internal`` true, no subroles); a role's ``subroles`` are the
permissions of the methods it may call. uuids are stable across runs and equal to xapi's:
the MD5 digest of the name read as a uuid, except pool-admin's fixed one.
"""
from __future__ import annotations

import functools
import hashlib
import uuid as _uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xenapi_impl.model.dsl import MessageDef

__all__ = [
    "POOL_ADMIN", "POOL_OPERATOR", "VM_POWER_ADMIN", "VM_ADMIN", "VM_OPERATOR", "CLIENT_CERT",
    "READ_ONLY", "ORDER", "DESCRIPTIONS", "INTERNAL", "at_least", "R_POOL_ADMIN", "R_POOL_OP",
    "R_VM_POWER_ADMIN", "R_VM_ADMIN", "R_VM_OP", "R_READ_ONLY", "R_CLIENT_CERT",
    "R_LOCAL_ROOT_ONLY", "permitted", "ordered", "role_uuid", "role_ref", "builtin_roles",
    "POOL_ADMIN_UUID", "R_TASK_ANY",
]

POOL_ADMIN = "pool-admin"
POOL_OPERATOR = "pool-operator"
VM_POWER_ADMIN = "vm-power-admin"
VM_ADMIN = "vm-admin"
VM_OPERATOR = "vm-operator"
CLIENT_CERT = "client-cert"
READ_ONLY = "read-only"

#: most powerful first; a role may do what every role after it may do
ORDER: tuple[str, ...] = (
    POOL_ADMIN, POOL_OPERATOR, VM_POWER_ADMIN, VM_ADMIN, VM_OPERATOR, CLIENT_CERT, READ_ONLY,
)

DESCRIPTIONS: dict[str, str] = {
    POOL_ADMIN: "The Pool Administrator role has full access to all features and settings, "
    "including accessing Dom0 and managing subjects, roles and external authentication",
    POOL_OPERATOR: "The Pool Operator role manages host- and pool-wide resources, including "
    "setting up storage, creating resource pools and managing patches, high availability (HA) "
    "and workload balancing (WLB)",
    VM_POWER_ADMIN: "The VM Power Administrator role has full access to VM and template "
    "management and can choose where to start VMs and use the dynamic memory control and VM "
    "snapshot features",
    VM_ADMIN: "The VM Administrator role can manage VMs and templates",
    VM_OPERATOR: "The VM Operator role can use VMs and interact with VM consoles",
    CLIENT_CERT: "The Client Certificate role has access to functionality granted to those who "
    "authenticate using a client certificate",
    READ_ONLY: "The Read-Only role can log in with basic read-only access",
}

#: internal roles are not granted to subjects by name
INTERNAL: frozenset[str] = frozenset({CLIENT_CERT})

PERMISSION_DESCRIPTION = "A basic permission"
#: the reference gives pool-admin a fixed uuid (it is the default of subject.roles)
POOL_ADMIN_UUID = "0165f154-ba3e-034e-6b27-5d271af109ba"


def at_least(role: str) -> frozenset[str]:
    """``role`` and every role above it."""
    try:
        i = ORDER.index(role)
    except ValueError:
        raise ValueError(f"unknown role {role!r}") from None
    return frozenset(ORDER[: i + 1])


R_POOL_ADMIN = at_least(POOL_ADMIN)
R_POOL_OP = at_least(POOL_OPERATOR)
R_VM_POWER_ADMIN = at_least(VM_POWER_ADMIN)
R_VM_ADMIN = at_least(VM_ADMIN)
R_VM_OP = at_least(VM_OPERATOR)
R_READ_ONLY = at_least(READ_ONLY)  # everyone, client-cert included
R_CLIENT_CERT = frozenset({CLIENT_CERT})
R_LOCAL_ROOT_ONLY: frozenset[str] = frozenset()
#: xapi's `task.<action>/any` permissions (no message carries them): acting on a task another
#: user made (cancel, destroy, set_status, set_result, ...); a task's owner needs none
R_TASK_ANY = R_POOL_OP


def ordered(roles: frozenset[str] | set[str]) -> list[str]:
    """Roles in the reference's order (how xenapi.json lists them)."""
    unknown = set(roles) - set(ORDER)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    return [r for r in ORDER if r in roles]


def permitted(message: "MessageDef | str", role: str) -> bool:
    """May a subject holding ``role`` call ``message`` (a MessageDef or a full method name)?

    Async forms carry the roles of their sync message. Unknown methods are never permitted.
    """
    if isinstance(message, str):
        from xenapi_impl.model import MODEL

        name = message[6:] if message.startswith("Async.") else message
        m = MODEL.methods.get(name)
        if m is None:
            return False
        return role in m.roles
    return role in message.roles


@functools.cache
def role_uuid(name: str) -> str:
    """The stable uuid of a role or permission (by its name as written, before lowercasing);
    remembered: every start derives the 1,400 role records again."""
    if name == POOL_ADMIN:
        return POOL_ADMIN_UUID
    return str(_uuid.UUID(bytes=hashlib.md5(name.encode("utf-8")).digest()))


def role_ref(name: str) -> str:
    return "OpaqueRef:" + role_uuid(name)


def builtin_roles(methods: "dict[str, MessageDef] | None" = None) -> dict[str, dict[str, Any]]:
    """The role records to seed the store with: {ref: record}, refs and uuids stable.

    One record per static role (``subroles``: the permissions it holds) and one per method
    (a permission: lowercase full name, no subroles, ``is_internal`` true).
    """
    if methods is None:
        from xenapi_impl.model import MODEL

        methods = MODEL.methods
    out: dict[str, dict[str, Any]] = {}
    perms_of: dict[str, list[str]] = {r: [] for r in ORDER}
    for full_name in sorted(methods):
        m = methods[full_name]
        ref = role_ref(full_name)
        out[ref] = {
            "uuid": role_uuid(full_name),
            "name_label": full_name.lower(),
            "name_description": PERMISSION_DESCRIPTION,
            "subroles": [],
            "is_internal": True,
        }
        for r in m.roles:
            perms_of[r].append(ref)
    for r in ORDER:
        out[role_ref(r)] = {
            "uuid": role_uuid(r),
            "name_label": r,
            "name_description": DESCRIPTIONS[r],
            "subroles": perms_of[r],
            "is_internal": r in INTERNAL,
        }
    return out
