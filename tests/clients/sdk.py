"""Helpers for the tests that drive the server with the official XenAPI SDK."""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

import pytest
import XenAPI


def details(call: Callable[..., Any], *args: Any) -> list[str]:
    """The ErrorDescription of the XenAPI.Failure that `call(*args)` must raise."""
    with pytest.raises(XenAPI.Failure) as info:
        call(*args)
    return info.value.details


@contextlib.contextmanager
def logged_in(server: Any, originator: str) -> Iterator[Any]:
    """`session.xenapi` of a root session on `server` (a ServerProcess), logged out after."""
    s = XenAPI.Session(server.url)
    s.xenapi.login_with_password("root", server.password, "1.0", originator)
    try:
        yield s.xenapi
    finally:
        s.xenapi.session.logout()


def add_disk(x: Any, vm: str, sr: str, size: int, userdevice: str = "0") -> tuple[str, str]:
    """A new empty VDI of `size` bytes in `sr`, plugged into `vm` as a disk: (VDI, VBD)."""
    vdi = x.VDI.create({"SR": sr, "virtual_size": str(size), "type": "user",
                        "sharable": False, "read_only": False, "other_config": {},
                        "name_label": f"disk {userdevice}", "name_description": ""})
    vbd = x.VBD.create({"VM": vm, "VDI": vdi, "userdevice": userdevice, "bootable": True,
                        "mode": "RW", "type": "Disk", "empty": False, "other_config": {},
                        "qos_algorithm_type": "", "qos_algorithm_params": {}})
    return vdi, vbd
