"""The permission check, as xapi does it.

xapi's permission for a message is its name lowercased ("vm.destroy"); a denied call answers
RBAC_PERMISSION_DENIED [permission, "No permission in user session. (Roles with this
permission: r1, r2, ...)"] (xapi's Rbac.check). The local superuser may call everything; a
message that lists no role at all is for the local superuser only (xapi's _R_LOCAL_ROOT_ONLY).
"""
from __future__ import annotations

from ..errors import XenAPIError
from ..model import roles as _roles

ROLES: tuple[str, ...] = tuple(r for r in _roles.ORDER if r not in _roles.INTERNAL)


def permission_of(method: str) -> str:
    return method.lower()


def denied(method: str, roles: frozenset[str]) -> XenAPIError:
    allowed = ", ".join(_roles.ordered(roles))
    return XenAPIError("RBAC_PERMISSION_DENIED", permission_of(method),
                       f"No permission in user session. (Roles with this permission: {allowed})")


def check(method: str, roles: frozenset[str], role: str, local_superuser: bool) -> None:
    """Raise RBAC_PERMISSION_DENIED unless `role` (or the local superuser) may call `method`."""
    if local_superuser or role in roles:
        return
    raise denied(method, roles)
