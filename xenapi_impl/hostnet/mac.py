"""MAC addresses: validation, normalisation, generation for VIFs.

Generated MACs are locally administered unicast addresses (first octet: bit 1 set, bit 0
clear), so they never collide with a vendor-assigned NIC address. Like xapi, which derives
a VIF's MAC from a per-VM seed and the device number, we derive it from the VM's uuid and
the VIF's device: re-creating "device 0 of this VM" gives the same MAC (guests keep their
DHCP lease and udev names across VIF re-creation). On a clash with an existing VIF the next
candidate in the same deterministic sequence is taken.
"""
from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Collection

_MAC = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")
#: candidates tried before giving up (2**46 addresses: a clash run this long means a bug)
MAX_ATTEMPTS = 4096


class MacGenerationError(RuntimeError):
    """No free MAC found (only with an absurd number of VIFs or a broken `taken` set)."""


def is_valid_mac(mac: str) -> bool:
    """xapi's syntax: six colon-separated pairs of hex digits."""
    return bool(_MAC.fullmatch(mac))


def normalize_mac(mac: str) -> str:
    """The stored form: lowercase (comparisons between MACs are case-insensitive)."""
    return mac.lower()


def is_unicast(mac: str) -> bool:
    return not int(mac[:2], 16) & 0x01


def is_locally_administered(mac: str) -> bool:
    return bool(int(mac[:2], 16) & 0x02)


def usable_guest_mac(mac: str) -> bool:
    """A MAC a guest NIC may carry: valid syntax, unicast, not all-zero."""
    return is_valid_mac(mac) and is_unicast(mac) and int(mac.replace(":", ""), 16) != 0


def _format(raw: bytes) -> str:
    octets = bytearray(raw[:6])
    octets[0] = (octets[0] & 0xFC) | 0x02     # unicast, locally administered
    return ":".join(f"{b:02x}" for b in octets)


def random_mac() -> str:
    return _format(os.urandom(6))


def derived_mac(vm_uuid: str, device: str, attempt: int = 0) -> str:
    """The `attempt`-th candidate MAC for device `device` of the VM `vm_uuid`."""
    digest = hashlib.sha256(f"{vm_uuid.lower()}/{device}/{attempt}".encode()).digest()
    return _format(digest)


def generate_mac(vm_uuid: str, device: str, taken: Collection[str]) -> str:
    """The first derived candidate not in `taken` (lowercase MACs of the existing VIFs)."""
    for attempt in range(MAX_ATTEMPTS):
        mac = derived_mac(vm_uuid, device, attempt)
        if mac not in taken:
            return mac
    raise MacGenerationError(f"no free MAC for VM {vm_uuid} device {device} "
                             f"after {MAX_ATTEMPTS} candidates")
