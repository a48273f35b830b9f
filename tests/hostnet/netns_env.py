"""A throw-away network namespace with a known layout, for discovery and PIF tests.

Everything lives inside the namespace (veth pairs whose both ends are in it, a bridge), so
no packet can leave the machine; the namespace and its resolv.conf are removed afterwards.

    nic0   veth (peer uplink1)  02:00:00:aa:00:01  mtu 1450  10.77.0.2/24 static, fd77::2/64
                                default route via 10.77.0.1 (IPv4), fd77::1 (IPv6)
    uplink1 veth (peer nic0)    02:00:00:aa:00:02  enslaved to br7
    br7    bridge               10.78.0.1/24 with a finite lifetime (looks DHCP-assigned)
    resolv.conf: nameserver 10.77.0.53, nameserver fd77::53
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid

NIC0_MAC = "02:00:00:aa:00:01"
UPLINK_MAC = "02:00:00:aa:00:02"


def available() -> str | None:
    """Why namespaces cannot be used here, or None (tried once: containers may refuse)."""
    global _why
    if _why is None:
        _why = _probe()
    return _why or None


_why: str | None = None


def _probe() -> str:
    if os.geteuid() != 0:
        return "needs root"
    if shutil.which("ip") is None:
        return "needs iproute2"
    name = "xnt-probe-" + uuid.uuid4().hex[:8]
    done = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if done.returncode != 0:
        return f"ip netns add refused: {done.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return ""


class NetnsEnv:
    def __init__(self) -> None:
        self.name = "xnt-" + uuid.uuid4().hex[:8]
        self.etc = f"/etc/netns/{self.name}"

    def ip(self, *args: str) -> None:
        subprocess.run(["ip", "-n", self.name, *args], check=True, capture_output=True)

    def exec(self, *args: str) -> str:
        return subprocess.run(["ip", "netns", "exec", self.name, *args], check=True,
                              capture_output=True, text=True).stdout

    def __enter__(self) -> "NetnsEnv":
        subprocess.run(["ip", "netns", "add", self.name], check=True, capture_output=True)
        try:
            os.makedirs(self.etc, exist_ok=True)
            with open(os.path.join(self.etc, "resolv.conf"), "w") as f:
                f.write("nameserver 10.77.0.53\nnameserver fd77::53\n")
            self.ip("link", "set", "lo", "up")
            self.ip("link", "add", "nic0", "address", NIC0_MAC, "mtu", "1450", "type", "veth",
                    "peer", "name", "uplink1", "address", UPLINK_MAC)
            self.ip("link", "add", "br7", "type", "bridge")
            self.ip("link", "set", "uplink1", "master", "br7")
            for dev in ("nic0", "uplink1", "br7"):
                self.ip("link", "set", dev, "up")
            self.ip("addr", "add", "10.77.0.2/24", "dev", "nic0")
            self.ip("-6", "addr", "add", "fd77::2/64", "dev", "nic0", "nodad")
            self.ip("addr", "add", "10.78.0.1/24", "dev", "br7", "valid_lft", "3600",
                    "preferred_lft", "1800")
            self.ip("route", "add", "default", "via", "10.77.0.1", "dev", "nic0", "onlink")
            self.ip("-6", "route", "add", "default", "via", "fd77::1", "dev", "nic0",
                    "onlink")
            self._wait_carrier("nic0")
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_carrier(self, dev: str) -> None:
        """A veth's carrier comes up asynchronously once both ends are up: wait for it
        (a readiness wait, not a timing assertion)."""
        for _ in range(500):
            if self.exec("cat", f"/sys/class/net/{dev}/carrier").strip() == "1":
                return
            time.sleep(0.01)
        raise RuntimeError(f"{dev}: no carrier in the test namespace")

    def add_veth(self, a: str, b: str) -> None:
        self.ip("link", "add", a, "type", "veth", "peer", "name", b)

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
        shutil.rmtree(self.etc, ignore_errors=True)
