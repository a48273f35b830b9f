"""This host's identity, kept in its own state (`<state>.inventory`), as xapi keeps it in
/etc/xensource-inventory (INSTALLATION_UUID): the host record a server process owns is the one
with this uuid, whatever database it opens. Several hosts on one pool database each find their
own record; a host that joins or leaves a pool keeps its uuid."""
from __future__ import annotations

import os

KEY = "INSTALLATION_UUID"


def path_of(state_base: str) -> str:
    return os.path.abspath(state_base) + ".inventory"


def read(state_base: str | None) -> dict[str, str]:
    if state_base is None:
        return {}
    try:
        with open(path_of(state_base)) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return {}
    out = {}
    for line in lines:
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip().strip("'")
    return out


def write(state_base: str, values: dict[str, str]) -> None:
    """Atomically (write, fsync, rename)."""
    path = path_of(state_base)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        for k, v in sorted(values.items()):
            f.write(f"{k}='{v}'\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def host_uuid(state_base: str | None) -> str | None:
    return read(state_base).get(KEY)


def set_host_uuid(state_base: str | None, uuid: str) -> None:
    if state_base is None:
        return
    values = read(state_base)
    if values.get(KEY) != uuid:
        values[KEY] = uuid
        write(state_base, values)
