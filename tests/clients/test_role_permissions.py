"""role.get_permissions / get_permissions_name_label / get_by_permission /
get_by_permission_name_label through a real server and the official SDK: the roles' permission
sets follow the role order (read-only's are in every role's, pool-admin holds them all)."""
from __future__ import annotations

import pytest
import XenAPI


def test_permissions_of_roles(x):
    roles = {x.role.get_name_label(r): r for r in x.role.get_by_name_label("read-only") +
             x.role.get_by_name_label("pool-admin") + x.role.get_by_name_label("vm-admin")}
    ro, admin, vm_admin = roles["read-only"], roles["pool-admin"], roles["vm-admin"]
    ro_names = set(x.role.get_permissions_name_label(ro))
    admin_names = set(x.role.get_permissions_name_label(admin))
    assert "vm.get_record" in ro_names and "vm.start" not in ro_names
    assert "vm.start" in admin_names and ro_names < admin_names
    assert "vm.start" in set(x.role.get_permissions_name_label(vm_admin))
    assert "pool.join" not in set(x.role.get_permissions_name_label(vm_admin))
    perms = x.role.get_permissions(ro)
    assert len(perms) == len(ro_names)
    assert {x.role.get_name_label(p) for p in perms[:20]} <= ro_names
    # a permission holds none
    assert x.role.get_permissions(perms[0]) == []


def test_roles_holding_a_permission(x):
    holders = {x.role.get_name_label(r) for r in x.role.get_by_permission_name_label("VM.start")}
    assert holders == {"pool-admin", "pool-operator", "vm-power-admin", "vm-admin",
                       "vm-operator"}
    holders = {x.role.get_name_label(r)
               for r in x.role.get_by_permission_name_label("host.backup_rrds")}
    assert holders == {"pool-admin"}
    perm = x.role.get_by_name_label("vm.get_record")[0]
    assert len(x.role.get_by_permission(perm)) >= 6     # every role reads
    assert x.role.get_by_permission_name_label("no.such_permission") == []
    with pytest.raises(XenAPI.Failure) as e:
        x.role.get_by_permission("OpaqueRef:nope")
    assert e.value.details[:2] == ["HANDLE_INVALID", "role"]
