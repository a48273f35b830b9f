"""Interfaces as /sys/class/net describes them (read-only; any names, not only ethN)."""
from __future__ import annotations

import os
import re

from .model import Interface

SYS_NET = "/sys/class/net"
_PCI_ADDR = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")
_PCI_IDS = ("/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids")
IFF_UP = 0x1


def _read(path: str) -> str | None:
    """A sysfs attribute, or None when absent or unreadable (speed of a down link: EINVAL)."""
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _int(text: str | None, base: int = 10) -> int | None:
    try:
        return int(text, base) if text is not None else None
    except ValueError:
        return None


def _link_name(path: str) -> str:
    try:
        return os.path.basename(os.readlink(path))
    except OSError:
        return ""


def _uevent(base: str) -> dict[str, str]:
    out = {}
    for line in (_read(os.path.join(base, "uevent")) or "").splitlines():
        k, _, v = line.partition("=")
        out[k] = v
    return out


def _kind(base: str, uevent: dict[str, str], bus: str) -> str:
    devtype = uevent.get("DEVTYPE", "")
    if os.path.isdir(os.path.join(base, "bridge")) or devtype == "bridge":
        return "bridge"
    if os.path.isdir(os.path.join(base, "bonding")) or devtype == "bond":
        return "bond"
    if devtype == "vlan":
        return "vlan"
    if os.path.exists(os.path.join(base, "device")) and bus not in ("", "xen-backend"):
        return "physical"
    return "virtual"         # refined by iproute2's link kind (veth, dummy...) when available


def _pci_path(base: str) -> str:
    """The PCI address of the NIC (a virtio NIC's is its parent's)."""
    real = os.path.realpath(os.path.join(base, "device"))
    found = ""
    for part in real.split(os.sep):
        if _PCI_ADDR.match(part):
            found = part
    return found


def _hexid(text: str | None) -> str:
    return text[2:] if text and text.startswith("0x") else (text or "")


_pci_names: dict[tuple[str, str], tuple[str, str]] | None = None


def pci_names(vendor: str, device: str) -> tuple[str, str]:
    """(vendor name, device name) from pci.ids when the system has one, else ("", "")."""
    global _pci_names
    if _pci_names is None:
        _pci_names = {}
        for path in _PCI_IDS:
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    lines = f.readlines()
            except OSError:
                continue
            vend, vname = "", ""
            for line in lines:
                if not line.strip() or line.startswith("#"):
                    continue
                if line.startswith("C "):   # device classes follow: no more vendors
                    break
                if not line.startswith("\t"):
                    vend, _, vname = line.strip().partition("  ")
                    _pci_names[(vend, "")] = (vname, "")
                elif not line.startswith("\t\t") and vend:
                    dev, _, dname = line.strip().partition("  ")
                    _pci_names[(vend, dev)] = (vname, dname)
            break
    if (vendor, device) in _pci_names:
        return _pci_names[(vendor, device)]
    return (_pci_names.get((vendor, ""), ("", ""))[0], "")


def read_interface(name: str, root: str = SYS_NET) -> Interface | None:
    """One interface, or None if it vanished while being read."""
    base = os.path.join(root, name)
    if not os.path.isdir(base):
        return None
    uevent = _uevent(base)
    dev = os.path.join(base, "device")
    bus = _link_name(os.path.join(dev, "subsystem")) if os.path.exists(dev) else ""
    kind = _kind(base, uevent, bus)
    flags = _int(_read(os.path.join(base, "flags")), 16) or 0
    carrier = _read(os.path.join(base, "carrier"))
    duplex = _read(os.path.join(base, "duplex"))
    speed = _int(_read(os.path.join(base, "speed")))
    iface = Interface(
        name=name, kind=kind,
        mac=(_read(os.path.join(base, "address")) or "").lower(),
        mtu=_int(_read(os.path.join(base, "mtu"))) or 0,
        ifindex=_int(_read(os.path.join(base, "ifindex"))) or 0,
        operstate=_read(os.path.join(base, "operstate")) or "unknown",
        up=bool(flags & IFF_UP),
        carrier=None if carrier not in ("0", "1") else carrier == "1",
        speed=speed if speed is not None and speed > 0 else None,
        duplex=duplex if duplex in ("full", "half") else None,
        driver=_link_name(os.path.join(dev, "driver")) if os.path.exists(dev) else "",
        bus=bus,
        master=_link_name(os.path.join(base, "master")),
    )
    if os.path.exists(dev):
        iface.pci_bus_path = _pci_path(base)
        iface.vendor_id = _hexid(_read(os.path.join(dev, "vendor")))
        iface.device_id = _hexid(_read(os.path.join(dev, "device")))
        if iface.pci_bus_path and not iface.vendor_id:
            pci = os.path.realpath(dev)
            while pci != "/" and os.path.basename(pci) != iface.pci_bus_path:
                pci = os.path.dirname(pci)
            iface.vendor_id = _hexid(_read(os.path.join(pci, "vendor")))
            iface.device_id = _hexid(_read(os.path.join(pci, "device")))
        if iface.vendor_id:
            iface.vendor_name, iface.device_name = pci_names(iface.vendor_id, iface.device_id)
    if kind == "bridge":
        try:
            iface.ports = sorted(os.listdir(os.path.join(base, "brif")))
        except OSError:
            iface.ports = []
    elif kind == "bond":
        iface.ports = sorted((_read(os.path.join(base, "bonding", "slaves")) or "").split())
    return iface


def list_names(root: str = SYS_NET) -> list[str]:
    try:
        names = os.listdir(root)
    except OSError:
        return []
    return sorted(n for n in names if n != "lo"
                  and _int(_read(os.path.join(root, n, "type"))) != 772)   # ARPHRD_LOOPBACK
