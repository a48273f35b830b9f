"""role.get_permissions(_name_label) and role.get_by_permission(_name_label) over the role
records derived from the model."""
from __future__ import annotations

from harness import run


def test_permissions_and_roles_holding_them() -> None:
    async def body(h) -> None:
        s = await h.login()
        roles = await h.call("role.get_all_records", s)
        by_label = {r["name_label"]: ref for ref, r in roles.items()}
        admin, ro = by_label["pool-admin"], by_label["read-only"]
        perms = await h.call("role.get_permissions", s, admin)
        assert set(perms) == set(roles[admin]["subroles"]) and len(perms) > 1000
        labels = await h.call("role.get_permissions_name_label", s, ro)
        assert "vm.get_record" in labels and "vm.start" not in labels
        start = by_label["vm.start"]
        holders = {roles[r]["name_label"]
                   for r in await h.call("role.get_by_permission", s, start)}
        assert holders == {"pool-admin", "pool-operator", "vm-power-admin", "vm-admin",
                           "vm-operator"}
        same = await h.call("role.get_by_permission_name_label", s, "vm.start")
        assert {roles[r]["name_label"] for r in same} == holders
        assert await h.call("role.get_by_permission_name_label", s, "no.such") == []
        assert await h.call("role.get_by_permission", s, admin) == []   # not a permission
    run(body)
