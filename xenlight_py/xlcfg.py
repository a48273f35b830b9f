"""xl-style domain configuration files -> DomainConfig.

The syntax of xl.cfg(5): ``key = value`` settings separated by newlines or ``;``, where a
value is a quoted string, a number or a ``[ ... ]`` list of strings; ``#`` starts a comment.
Supported keys: name, uuid, type (pv, pvh, hvm; or builder), memory, maxmem, vcpus,
maxvcpus, cpus, kernel, ramdisk, cmdline/extra/root, bootloader, bootloader_args, boot,
disk, vif, on_poweroff, on_reboot, on_crash, on_watchdog. Errors name the file and line.
"""
from __future__ import annotations

import re
from typing import Any

from .errors import ConfigError, invalid
from .types import (DiskBackend, DiskConfig, DiskFormat, DomainConfig, DomainType, NicConfig,
                    ShutdownAction)

_TOKEN = re.compile(r"""
    (?P<ws>[ \t\r]+|\#[^\n]*)
  | (?P<nl>\n)
  | (?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<num>-?(?:0x[0-9a-fA-F]+|[0-9]+(?:\.[0-9]+)?))
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[=\[\],;])
""", re.VERBOSE)

_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}


def _unquote(s: str) -> str:
    body = s[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)


def parse(text: str, source: str = "<config>") -> dict[str, Any]:
    """Parse xl.cfg syntax into {key: str | int | float | list[str]}."""
    toks: list[tuple[str, str, int]] = []
    pos, line = 0, 1
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise invalid(f"{source}:{line}: unexpected character {text[pos]!r}")
        kind = m.lastgroup
        assert kind is not None
        if kind == "nl":
            toks.append(("sep", "\n", line))
            line += 1
        elif kind != "ws":
            toks.append((kind, m.group(), line))
        pos = m.end()
    out: dict[str, Any] = {}
    i = 0

    def err(msg: str, at: int) -> ConfigError:
        ln = toks[at][2] if at < len(toks) else line
        return invalid(f"{source}:{ln}: {msg}")

    def value(at: int) -> tuple[Any, int]:
        if at >= len(toks):
            raise err("missing value", at)
        kind, tok, _ = toks[at]
        if kind == "str":
            return _unquote(tok), at + 1
        if kind == "num":
            return (int(tok, 0) if "." not in tok else float(tok)), at + 1
        if tok == "[":
            items: list[Any] = []
            at += 1
            while True:
                while at < len(toks) and toks[at][0] == "sep" and toks[at][1] == "\n":
                    at += 1
                if at < len(toks) and toks[at][1] == "]":
                    return items, at + 1
                v, at = value(at)
                if isinstance(v, list):
                    raise err("nested lists are not allowed", at)
                items.append(v)
                while at < len(toks) and toks[at][1] == "\n":
                    at += 1
                if at < len(toks) and toks[at][1] == ",":
                    at += 1
                elif not (at < len(toks) and toks[at][1] == "]"):
                    raise err("expected ',' or ']' in list", at)
        raise err(f"expected a value, found {tok!r}", at)

    while i < len(toks):
        kind, tok, _ = toks[i]
        if tok in ("\n", ";"):
            i += 1
            continue
        if kind != "ident":
            raise err(f"expected a setting name, found {tok!r}", i)
        if i + 1 >= len(toks) or toks[i + 1][1] != "=":
            raise err(f"expected '=' after {tok!r}", i)
        v, i = value(i + 2)
        if i < len(toks) and toks[i][1] not in ("\n", ";"):
            raise err(f"unexpected {toks[i][1]!r} after the value of {tok!r}", i)
        out[tok] = v
    return out


_ACTIONS = {
    "destroy": ShutdownAction.DESTROY, "restart": ShutdownAction.RESTART,
    "rename-restart": ShutdownAction.RESTART_RENAME, "preserve": ShutdownAction.PRESERVE,
    "coredump-destroy": ShutdownAction.COREDUMP_DESTROY,
    "coredump-restart": ShutdownAction.COREDUMP_RESTART, "soft-reset": ShutdownAction.SOFT_RESET,
}
_FORMATS = {"raw": DiskFormat.RAW, "qcow": DiskFormat.QCOW, "qcow2": DiskFormat.QCOW2,
            "vhd": DiskFormat.VHD, "qed": DiskFormat.QED, "empty": DiskFormat.EMPTY}
_BACKENDS = {"phy": DiskBackend.PHY, "tap": DiskBackend.TAP, "qdisk": DiskBackend.QDISK,
             "standalone": DiskBackend.STANDALONE}
_RATE = re.compile(r"^([0-9]+)([kKmMgG]?)([bB])/s(?:@([0-9]+)(us|ms|s))?$")


def parse_disk(spec: str) -> DiskConfig:
    """xl-disk-configuration(5): ``target=...`` keys and/or positional
    ``target,format,vdev,access`` (``vdev:cdrom``, ``devtype=cdrom``)."""
    kw: dict[str, str] = {}
    positional: list[str] = []
    parts = [p.strip() for p in spec.split(",")]
    for idx, p in enumerate(parts):
        if p.startswith("target="):
            # target= must come last and takes the rest verbatim (it may contain commas).
            kw["target"] = ",".join(parts[idx:])[len("target="):]
            break
        if "=" in p:
            k, v = p.split("=", 1)
            kw[k.strip()] = v.strip()
        else:
            positional.append(p)        # empty positions count: ",,hdc:cdrom,r"
    for name, v in zip(("target", "format", "vdev", "access"), positional):
        if not v:
            continue
        if name in kw:
            raise invalid(f"disk {spec!r}: {name} given twice")
        kw[name] = v
    unknown = set(kw) - {"target", "format", "vdev", "access", "devtype", "backendtype",
                         "script", "backend"}
    if unknown:
        raise invalid(f"disk {spec!r}: unknown key(s) {', '.join(sorted(unknown))}")
    vdev = kw.get("vdev")
    if not vdev:
        raise invalid(f"disk {spec!r}: no vdev")
    cdrom = kw.get("devtype") == "cdrom"
    if vdev.endswith(":cdrom"):
        vdev, cdrom = vdev[:-6], True
    fmt = (kw.get("format") or "raw").lower()
    if fmt not in _FORMATS:
        raise invalid(f"disk {spec!r}: unknown format {fmt!r}")
    access = kw.get("access", "ro" if cdrom else "rw").lower()
    if access not in ("r", "ro", "w", "rw"):
        raise invalid(f"disk {spec!r}: access must be ro or rw")
    backend = kw.get("backendtype", "").lower()
    if backend and backend not in _BACKENDS:
        raise invalid(f"disk {spec!r}: unknown backendtype {backend!r}")
    target = kw.get("target") or None
    return DiskConfig(vdev=vdev, target=target,
                      format=_FORMATS[fmt] if target else DiskFormat.EMPTY,
                      backend=_BACKENDS.get(backend, DiskBackend.UNKNOWN),
                      readwrite=access in ("w", "rw"), is_cdrom=cdrom, script=kw.get("script"))


def parse_rate(text: str) -> int:
    """xl's vif rate (``10Mb/s``, ``1GB/s``, optional ``@20ms``) in bytes per second."""
    m = _RATE.match(text.strip())
    if not m:
        raise invalid(f"vif rate {text!r} is not like '10Mb/s' or '100KB/s'")
    n = int(m.group(1)) * {"": 1, "k": 10**3, "m": 10**6, "g": 10**9}[m.group(2).lower()]
    return n // 8 if m.group(3) == "b" else n


def parse_vif(spec: str) -> NicConfig:
    """xl-network-configuration(5): ``key=value`` pairs separated by commas."""
    kw: dict[str, str] = {}
    for p in (p.strip() for p in spec.split(",")):
        if not p:
            continue
        if "=" not in p:
            raise invalid(f"vif {spec!r}: {p!r} is not key=value")
        k, v = p.split("=", 1)
        kw[k.strip()] = v.strip()
    unknown = set(kw) - {"mac", "bridge", "model", "ip", "script", "rate", "mtu", "vifname",
                         "type", "backend", "devid"}
    if unknown:
        raise invalid(f"vif {spec!r}: unknown key(s) {', '.join(sorted(unknown))}")
    try:
        mtu = int(kw["mtu"]) if "mtu" in kw else 0
        devid = int(kw["devid"]) if "devid" in kw else -1
    except ValueError:
        raise invalid(f"vif {spec!r}: mtu and devid must be integers") from None
    return NicConfig(mac=kw.get("mac"), bridge=kw.get("bridge"), model=kw.get("model"),
                     ip=kw.get("ip"), script=kw.get("script"),
                     rate=parse_rate(kw["rate"]) if "rate" in kw else 0, mtu=mtu,
                     ifname=kw.get("vifname"), devid=devid)


_KNOWN = {"name", "uuid", "type", "builder", "memory", "maxmem", "vcpus", "maxvcpus", "cpus",
          "kernel", "ramdisk", "cmdline", "extra", "root", "bootloader", "bootloader_args",
          "boot", "disk", "vif", "on_poweroff", "on_reboot", "on_crash", "on_watchdog"}


def _parse_cpus(v: Any) -> frozenset[int]:
    out: set[int] = set()
    for part in str(v).split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        if not lo.isdigit() or (hi and not hi.isdigit()):
            raise invalid(f"cpus {v!r} must look like '0-3,6'")
        out.update(range(int(lo), int(hi or lo) + 1))
    return frozenset(out)


def to_domain_config(settings: dict[str, Any], source: str = "<config>") -> DomainConfig:
    unknown = set(settings) - _KNOWN
    if unknown:
        raise invalid(f"{source}: unsupported setting(s): {', '.join(sorted(unknown))}")

    def get(key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        v = settings.get(key, default)
        if v is not None and not isinstance(v, kind):
            raise invalid(f"{source}: {key} has the wrong type ({type(v).__name__})")
        return v

    if "name" not in settings:
        raise invalid(f"{source}: name is required")
    tname = get("type", str) or ({"hvm": "hvm"}.get(get("builder", str) or "", None)) or "pv"
    types = {"pv": DomainType.PV, "pvh": DomainType.PVH, "hvm": DomainType.HVM}
    if tname.lower() not in types:
        raise invalid(f"{source}: type {tname!r} must be pv, pvh or hvm")
    cmdline = get("cmdline", str) or None
    if cmdline is None:
        parts = []
        if get("root", str):
            parts.append("root=" + settings["root"])
        if get("extra", str):
            parts.append(settings["extra"])
        cmdline = " ".join(parts) or None

    def action(key: str, default: ShutdownAction) -> ShutdownAction:
        v = get(key, str)
        if v is None:
            return default
        if v not in _ACTIONS:
            raise invalid(f"{source}: {key} {v!r} must be one of {', '.join(_ACTIONS)}")
        return _ACTIONS[v]

    disks = get("disk", list, [])
    vifs = get("vif", list, [])
    try:
        return DomainConfig(
            name=get("name", str), uuid=get("uuid", str), type=types[tname.lower()],
            memory=get("memory", int, 128), maxmem=get("maxmem", int),
            vcpus=get("vcpus", int, 1), maxvcpus=get("maxvcpus", int),
            cpus=_parse_cpus(settings["cpus"]) if "cpus" in settings else None,
            kernel=get("kernel", str), ramdisk=get("ramdisk", str), cmdline=cmdline,
            bootloader=get("bootloader", str),
            bootloader_args=tuple(get("bootloader_args", list, [])),
            boot=get("boot", str),
            disks=tuple(parse_disk(str(d)) for d in disks),
            nics=tuple(parse_vif(str(v)) for v in vifs),
            on_poweroff=action("on_poweroff", ShutdownAction.DESTROY),
            on_reboot=action("on_reboot", ShutdownAction.RESTART),
            on_crash=action("on_crash", ShutdownAction.DESTROY),
            on_watchdog=action("on_watchdog", ShutdownAction.DESTROY))
    except ConfigError as e:
        if e.message.startswith(source):
            raise
        raise invalid(f"{source}: {e.message}") from None


def load(path: str) -> DomainConfig:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise invalid(f"cannot read {path}: {e.strerror}") from None
    return to_domain_config(parse(text, path), path)
