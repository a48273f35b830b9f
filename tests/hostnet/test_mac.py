"""MAC rules: syntax, unicast/locally administered generation, derivation, uniqueness."""
from __future__ import annotations

import uuid

import pytest

from xenapi_impl.hostnet import mac as M


@pytest.mark.parametrize("text,ok", [
    ("00:16:3e:12:34:56", True), ("AA:BB:CC:DD:EE:FF", True), ("aa:bb:cc:dd:ee:f", False),
    ("aa-bb-cc-dd-ee-ff", False), ("aabbccddeeff", False), ("aa:bb:cc:dd:ee:ff:00", False),
    ("gg:bb:cc:dd:ee:ff", False), ("", False), (" aa:bb:cc:dd:ee:ff", False),
    ("aa:bb:cc:dd:ee:ff\n", False), ("a:bb:cc:dd:ee:fff", False),
])
def test_syntax(text, ok):
    assert M.is_valid_mac(text) is ok


def test_guest_usable_refuses_multicast_and_zero():
    assert M.usable_guest_mac("00:16:3e:00:00:01")
    assert not M.usable_guest_mac("01:00:5e:00:00:01")      # multicast bit
    assert not M.usable_guest_mac("ff:ff:ff:ff:ff:ff")      # broadcast
    assert not M.usable_guest_mac("00:00:00:00:00:00")


def test_generated_macs_are_locally_administered_unicast():
    for _ in range(2000):
        for mac in (M.random_mac(), M.derived_mac(str(uuid.uuid4()), "0")):
            assert M.is_valid_mac(mac) and mac == mac.lower()
            first = int(mac[:2], 16)
            assert first & 0x02 and not first & 0x01, mac


def test_derivation_is_stable_per_vm_and_device():
    vm = str(uuid.uuid4())
    assert M.generate_mac(vm, "0", set()) == M.generate_mac(vm.upper(), "0", set())
    assert M.generate_mac(vm, "0", set()) != M.generate_mac(vm, "1", set())
    assert M.generate_mac(vm, "0", set()) != M.generate_mac(str(uuid.uuid4()), "0", set())


def test_generation_skips_taken_addresses():
    vm = str(uuid.uuid4())
    first = M.generate_mac(vm, "0", set())
    second = M.generate_mac(vm, "0", {first})
    assert second != first and second == M.derived_mac(vm, "0", 1)
    taken: set[str] = set()
    for i in range(3000):                 # many VMs with the same device: all distinct
        taken.add(M.generate_mac(str(uuid.uuid4()), "0", taken))
    assert len(taken) == 3000


def test_generation_gives_up_loudly():
    vm = str(uuid.uuid4())
    taken = {M.derived_mac(vm, "0", n) for n in range(M.MAX_ATTEMPTS)}
    with pytest.raises(M.MacGenerationError):
        M.generate_mac(vm, "0", taken)
