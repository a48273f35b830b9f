"""pool.join's checks on the joining host, with the master's answers stubbed (the real path,
several processes and PostgreSQL, is tests/clients/test_pool.py): a different API version is
refused with the reference's error and parameters, join_force goes on regardless."""
from __future__ import annotations

import pytest
from harness import Harness, run

from xenapi_impl.api import pool_join
from xenapi_impl.errors import XenAPIError


@pytest.fixture
def stub_master(monkeypatch):
    done: list[str] = []
    monkeypatch.setattr(pool_join, "_master_call", lambda base, method, params: "OpaqueRef:s")
    monkeypatch.setattr(pool_join, "_http_json", lambda url, payload, timeout=30: {
        "db": "postgresql://pool", "api_version": "2.20"})

    async def copy_into(services, url):
        done.append(url)
    monkeypatch.setattr(pool_join, "_copy_into", copy_into)
    monkeypatch.setattr(pool_join, "restart_soon", lambda services, delay=0.3: done.append("restart"))
    return done


def test_a_different_api_version_is_refused_unless_forced(stub_master, tmp_path):
    async def body(h: Harness) -> None:
        h.services.state_base = str(tmp_path / "x.db")
        h.services.https_port = 443
        s = await h.login()
        with pytest.raises(XenAPIError) as err:
            await h.call("pool.join", s, "192.0.2.1", "root", "pw")
        assert err.value.description == ["POOL_JOINING_HOST_MUST_HAVE_SAME_API_VERSION",
                                         "2.21", "2.20"]
        assert stub_master == []
        await h.call("pool.join_force", s, "192.0.2.1", "root", "pw")
        assert stub_master == ["postgresql://pool", "restart"]
        assert (tmp_path / "x.db.pool").read_text().strip() == "postgresql://pool"
    run(body)


def test_a_host_with_bonds_tunnels_or_vlans_is_refused(stub_master, tmp_path):
    """xapi's pre-join checks: such a host would bring networks that clash with the pool's."""
    null = "OpaqueRef:NULL"
    net = {"name_label": "n", "name_description": "", "other_config": {}, "bridge": "",
           "managed": True, "tags": []}

    async def body(h: Harness) -> None:
        h.services.state_base = str(tmp_path / "x.db")
        h.services.https_port = 443
        s = await h.login()
        host = h.services.host_ref

        async def nic(device: str, mac: str, ip: str = "") -> str:
            return await h.call("PIF.db_introduce", s, device, await h.call(
                "network.create", s, net), host, mac, "1500", "-1", True,
                "Static" if ip else "None", ip, "255.0.0.0" if ip else "", "", "", null,
                null, False, {})

        async def refused() -> list[str]:
            with pytest.raises(XenAPIError) as err:
                await h.call("pool.join_force", s, "192.0.2.1", "root", "pw")
            return err.value.description

        a, b = await nic("eth5", "02:00:00:00:05:05", "10.5.0.5"), await nic("eth6",
                                                                            "02:00:00:00:06:06")
        vlan = await h.call("VLAN.create", s, b, "5", await h.call("network.create", s, net))
        assert await refused() == ["POOL_JOINING_HOST_HAS_NON_MANAGEMENT_VLANS"]
        await h.call("VLAN.destroy", s, vlan)
        tunnel = await h.call("tunnel.create", s, a, await h.call("network.create", s, net),
                              "gre")
        assert await refused() == ["POOL_JOINING_HOST_HAS_TUNNELS"]
        await h.call("tunnel.destroy", s, tunnel)
        await h.call("Bond.create", s, await h.call("network.create", s, net), [a, b], "",
                     "active-backup", {})
        assert await refused() == ["POOL_JOINING_HOST_HAS_BONDS"]
        assert stub_master == []
    run(body)
