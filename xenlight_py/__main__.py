"""``xenlight`` / ``python -m xenlight_py``: an xl-like command line on xenlight_py.

    xenlight [--backend sim|xen] COMMAND [ARGS]

Domains are named by name or domid. Output follows xl's formats (see README.md); exit
status as xl: 0 on success, 1 when the operation failed (libxl error, bad config, unknown
domain), 2 on a usage error.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import re
import select
import sys
import time
from typing import Any, Callable, Sequence

from . import xlcfg
from .context import Context
from .errors import BackendUnavailable, NotFound, XenlightError, invalid
from .stats import UsageSampler
from .types import DomainInfo, DomainType, VcpuInfo

_SAVE_MAGIC = b"xenlight-save-1\n"


def _domains(ctx: Context, names: Sequence[str]) -> list[DomainInfo]:
    if not names:
        return ctx.list_domains()
    return [ctx.domain_info(ctx.lookup(n)) for n in names]


def _name(ctx: Context, domid: int) -> str:
    try:
        return ctx.domid_to_name(domid)
    except XenlightError:
        return "(null)"


# ---- list ----

def _config_json(ctx: Context, d: DomainInfo) -> dict[str, Any]:
    """What ``xl list -l`` prints that the binding can read back: the domain's info and its
    devices as libxl lists them (a subset of libxl_domain_config)."""
    disks = [{"pdev_path": x.target or "", "vdev": x.vdev, "backend": x.backend.name.lower(),
              "format": x.format.name.lower(), "readwrite": int(x.readwrite),
              "is_cdrom": int(x.is_cdrom)} for x in ctx.disks(d.domid)]
    nics = [{"devid": n.devid, "mac": n.mac, "bridge": n.bridge} for n in ctx.nics(d.domid)]
    dt = d.domain_type
    return {"domid": d.domid, "config": {
        "c_info": {"type": dt.name.lower() if isinstance(dt, DomainType) else int(dt),
                   "name": ctx.domid_to_name(d.domid), "uuid": d.uuid, "poolid": d.cpupool},
        "b_info": {"max_vcpus": d.vcpu_max_id + 1, "max_memkb": d.max_memkb,
                   "target_memkb": ctx.memory_target(d.domid)},
        "disks": disks, "nics": nics}}


def cmd_list(ctx: Context, args: argparse.Namespace) -> int:
    doms = _domains(ctx, args.domains)
    if args.long:
        # As xl: domains whose configuration libxl does not keep (dom0) are left out.
        print(json.dumps([_config_json(ctx, d) for d in doms if d.domid != 0], indent=4))
        return 0
    head = "Name                                        ID   Mem VCPUs\tState\tTime(s)"
    if args.verbose:
        head += "   UUID                            Reason-Code\tSecurity Label"
    out = [head]
    for d in doms:
        line = "%-40s %5d %5d %5d     %s  %8.1f" % (
            _name(ctx, d.domid), d.domid, d.memory_mib, d.vcpu_online, d.state, d.cpu_time / 1e9)
        if args.verbose:
            line += " " + d.uuid
            line += " %8x" % int(d.shutdown_reason) if d.shutdown else " %8s" % "-"
            line += " %16s" % "-"
        out.append(line)
    print("\n".join(out))
    return 0


# ---- vCPUs ----

def _cpuset(cpus: frozenset[int], nr_cpus: int) -> str:
    """xl's print_bitmap: "all", "none" or ranges like "0-3,6"."""
    if all(c in cpus for c in range(nr_cpus)):
        return "all"
    ranges: list[str] = []
    start = prev = None
    for c in sorted(x for x in cpus if x < nr_cpus):
        if start is None:
            start = prev = c
        elif c == prev + 1:
            prev = c
        else:
            ranges.append(f"{start}-{prev}" if start != prev else f"{start}")
            start = prev = c
    if start is not None:
        ranges.append(f"{start}-{prev}" if start != prev else f"{start}")
    return ",".join(ranges) or "none"


def _vcpu_line(name: str, domid: int, v: VcpuInfo, nr_cpus: int) -> str:
    line = "%-32s %5u %5u" % (name, domid, v.vcpuid)
    if not v.online:
        line += "%5c %3c%cp " % ("-", "-", "-")
    else:
        line += "%5u %3c%c- " % (v.cpu, "r" if v.running else "-", "b" if v.blocked else "-")
    line += "%9.1f  " % (v.vcpu_time / 1e9)
    return line + _cpuset(v.affinity, nr_cpus) + " / " + _cpuset(v.soft_affinity, nr_cpus)


def cmd_vcpu_list(ctx: Context, args: argparse.Namespace) -> int:
    nr_cpus = ctx.physinfo().nr_cpus
    out = ["%-32s %5s %5s %5s %5s %9s %s" % ("Name", "ID", "VCPU", "CPU", "State", "Time(s)",
                                             "Affinity (Hard / Soft)")]
    for d in _domains(ctx, args.domains):
        name = ctx.domid_to_name(d.domid)
        for v in ctx.list_vcpus(d.domid):
            out.append(_vcpu_line(name, d.domid, v, nr_cpus))
    print("\n".join(out))
    return 0


def parse_cpus(ctx: Context, text: str) -> frozenset[int] | None:
    """xl's CPU lists: "all", "-" (unchanged: None), "0-3,6", "^2" (excluded),
    "nodes:0" / "node:0-1" (the CPUs of those NUMA nodes)."""
    if text == "-":
        return None
    nr = ctx.physinfo().nr_cpus
    cpus: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        neg = part.startswith("^")
        part = part.lstrip("^")
        m = re.fullmatch(r"(nodes?:)?(\d+)(?:-(\d+))?|all", part)
        if not m:
            raise invalid(f"invalid CPU list {text!r}")
        if part == "all":
            sel = set(range(nr))
        else:
            lo, hi = int(m.group(2)), int(m.group(3) or m.group(2))
            if lo > hi:
                raise invalid(f"invalid CPU range {part!r}")
            if m.group(1):
                sel = {t.cpu for t in ctx.cpu_topology() if lo <= t.node <= hi}
            else:
                sel = set(range(lo, hi + 1))
        cpus = cpus - sel if neg else cpus | sel
    return frozenset(cpus)


def cmd_vcpu_pin(ctx: Context, args: argparse.Namespace) -> int:
    domid = ctx.lookup(args.domain)
    hard = parse_cpus(ctx, args.cpus)
    soft = parse_cpus(ctx, args.soft) if args.soft is not None else None
    if hard is None and soft is None:
        return 0                      # xl: "-" for both changes nothing
    if args.vcpu == "all":
        vcpus = [v.vcpuid for v in ctx.list_vcpus(domid)]
    else:
        try:
            vcpus = [int(args.vcpu)]
        except ValueError:
            raise invalid(f"invalid vcpu {args.vcpu!r}: a number or 'all'") from None
    for v in vcpus:
        ctx.set_vcpu_affinity(domid, v, hard, soft)
    return 0


def cmd_vcpu_set(ctx: Context, args: argparse.Namespace) -> int:
    ctx.set_vcpus_online(ctx.lookup(args.domain), args.count)
    return 0


# ---- host ----

def cmd_info(ctx: Context, args: argparse.Namespace) -> int:
    p = ctx.physinfo()
    v = ctx.version_info()
    pools = ctx.cpupools()
    pages_per_mib = (1 << 20) // (v.pagesize or 4096)
    caps = [c for c, ok in (("pv", p.cap_pv), ("hvm", p.cap_hvm),
                            ("hvm_directio", p.cap_hvm_directio), ("hap", p.cap_hap),
                            ("shadow", p.cap_shadow),
                            ("iommu_hap_pt_share", p.cap_iommu_hap_pt_share)) if ok]
    in_pools = frozenset().union(*(pl.cpus for pl in pools))
    row = (lambda k, val: f"{k:<23}: {val}")
    out = [row(k, val) for k, val in (
        ("host", platform.node()), ("release", platform.release()),
        ("version", platform.version()), ("machine", platform.machine()),
        ("nr_cpus", p.nr_cpus), ("max_cpu_id", p.max_cpu_id), ("nr_nodes", p.nr_nodes),
        ("cores_per_socket", p.cores_per_socket), ("threads_per_core", p.threads_per_core),
        ("cpu_mhz", "%d.%03d" % (p.cpu_khz // 1000, p.cpu_khz % 1000)),
        ("hw_caps", ":".join("%08x" % c for c in p.hw_cap)),
        ("virt_caps", " ".join(caps)),
        ("total_memory", p.total_pages // pages_per_mib),
        ("free_memory", ctx.free_memory() // 1024),
        ("sharing_freed_memory", p.sharing_freed_pages // pages_per_mib),
        ("sharing_used_memory", p.sharing_used_frames // pages_per_mib),
        ("outstanding_claims", p.outstanding_pages // pages_per_mib),
        ("free_cpus", len(set(range(p.nr_cpus)) - in_pools)))]
    if args.numa:
        out.append("cpu_topology           :")
        out.append("cpu:    core    socket     node")
        out += ["%3d:    %4d     %4d     %4d" % (t.cpu, t.core, t.socket, t.node)
                for t in ctx.cpu_topology()]
        # PCI topology is not bound (libxl_get_pci_topology): xl's line for no data.
        out += ["device topology        :", "device           node",
                "No device topology data available"]
        out.append("numa_info              :")
        out.append("node:    memsize    memfree    distances")
        out += ["%4d:    %6d     %6d      %s" % (n.node, n.size >> 20, n.free >> 20,
                                                 ",".join(map(str, n.distances)))
                for n in ctx.numa_info()]
    pool0 = next((pl for pl in pools if pl.poolid == 0), None)
    out += [row(k, val) for k, val in (
        ("xen_major", v.xen_version_major), ("xen_minor", v.xen_version_minor),
        ("xen_extra", v.xen_version_extra), ("xen_version", v.xen_version),
        ("xen_caps", v.capabilities),
        ("xen_scheduler", pool0.sched if pool0 else "unknown"),
        ("xen_pagesize", v.pagesize),
        ("platform_params", "virt_start=0x%x" % v.virt_start),
        ("xen_changeset", v.changeset), ("xen_commandline", v.commandline),
        ("cc_compiler", v.compiler), ("cc_compile_by", v.compile_by),
        ("cc_compile_domain", v.compile_domain), ("cc_compile_date", v.compile_date),
        ("build_id", v.build_id), ("xend_config_format", 4))]
    print("\n".join(out))
    return 0


def cmd_cpupool_list(ctx: Context, args: argparse.Namespace) -> int:
    pools = ctx.cpupools()
    if args.pool is not None:
        pools = [pl for pl in pools if pl.name == args.pool]
        if not pools:
            print(f"Pool '{args.pool}' does not exist", file=sys.stderr)
            return 1
    head = "CPU list" if args.cpus else "CPUs   Sched     Active   Domain count"
    out = ["%-19s" % "Name" + head]
    for pl in pools:
        if args.cpus:
            out.append("%-19s" % pl.name + ",".join(map(str, sorted(pl.cpus))))
        else:
            out.append("%-19s%3d %9s       y       %4d" % (pl.name, len(pl.cpus), pl.sched,
                                                           pl.n_dom))
    print("\n".join(out))
    return 0


def cmd_dmesg(ctx: Context, args: argparse.Namespace) -> int:
    sys.stdout.write(ctx.xen_dmesg(clear=args.clear))
    return 0


def _uptime(seconds: int) -> str:
    day, rest = divmod(int(seconds), 86400)
    hour, rest = divmod(rest, 3600)
    minute, sec = divmod(rest, 60)
    hms = "%2d:%02d:%02d" % (hour, minute, sec)
    return (f"{day} day{'s' if day > 1 else ''}, " if day else "") + hms


def cmd_uptime(ctx: Context, args: argparse.Namespace) -> int:
    out = ["%-33s %4s %s" % ("Name", "ID", "Uptime")]
    for d in _domains(ctx, args.domains):
        secs = ctx.domain_uptime(d.domid)
        out.append("%-33s %4d %s" % (_name(ctx, d.domid), d.domid, _uptime(secs)))
    print("\n".join(out))
    return 0


# ---- lifecycle ----

def cmd_create(ctx: Context, args: argparse.Namespace) -> int:
    print(f"Parsing config from {args.config}", file=sys.stderr)   # as xl, on stderr
    cfg = xlcfg.load(args.config)
    domid = ctx.create_domain(cfg, paused=args.paused)
    print(f"Created domain {cfg.name} (domid {domid})" + (" paused" if args.paused else ""),
          file=sys.stderr)
    return 0


def _simple(op: str) -> Callable[[Context, argparse.Namespace], int]:
    def run(ctx: Context, args: argparse.Namespace) -> int:
        getattr(ctx, op)(ctx.lookup(args.domain))
        return 0
    return run


def cmd_shutdown(ctx: Context, args: argparse.Namespace) -> int:
    domid = ctx.lookup(args.domain)
    if not args.wait:
        ctx.shutdown(domid)
        return 0
    with ctx.events([domid], timeout=args.timeout) as evs:
        ctx.shutdown(domid)
        print("Waiting for 1 domains")
        for ev in evs:
            if ev.kind == "shutdown":
                ctx.destroy(domid)      # act as the toolstack: on_poweroff=destroy
            if ev.kind == "death" or ev.kind == "shutdown":
                print(f"Domain {domid} has been shut down, reason code {int(ev.reason or 0)}")
                return 0
    print(f"Domain {domid} did not shut down within {args.timeout} s", file=sys.stderr)
    return 1


def cmd_rename(ctx: Context, args: argparse.Namespace) -> int:
    ctx.rename(ctx.lookup(args.domain), args.new_name)
    return 0


def cmd_save(ctx: Context, args: argparse.Namespace) -> int:
    """xl save DOMAIN FILE CONFIG: the file holds the domain's name and config (the binding
    cannot read a domain's configuration back from libxl, so it is given), then libxl's
    stream."""
    domid = ctx.lookup(args.domain)
    with open(args.config, "rb") as f:
        cfg_text = f.read()
    xlcfg.to_domain_config(xlcfg.parse(cfg_text.decode(), args.config), args.config)
    fd = os.open(args.file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        name = ctx.domid_to_name(domid).encode()
        os.write(fd, _SAVE_MAGIC + name + b"\n%d\n" % len(cfg_text) + cfg_text)
        print(f"Saving to {args.file} new xl format (info 0x3/0x0/{len(cfg_text)})",
              file=sys.stderr)
        ctx.suspend(domid, fd)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(args.file)
        raise
    os.close(fd)
    ctx.destroy(domid)
    return 0


def cmd_restore(ctx: Context, args: argparse.Namespace) -> int:
    with open(args.file, "rb") as f:
        if f.read(len(_SAVE_MAGIC)) != _SAVE_MAGIC:
            print(f"File {args.file} is not a xenlight save file", file=sys.stderr)
            return 1
        name = f.readline().decode().rstrip("\n")
        n = int(f.readline())
        text = f.read(n).decode()
        print(f"Loading new save file {args.file} (new xl fmt info 0x3/0x0/{n})",
              file=sys.stderr)
        # The name the domain had when saved (it may have been renamed since created).
        cfg = dataclasses.replace(xlcfg.to_domain_config(xlcfg.parse(text, args.file),
                                                         args.file), name=name)
        os.lseek(f.fileno(), f.tell(), os.SEEK_SET)
        domid = ctx.create_restore(cfg, f.fileno(), paused=args.paused)
    print(f"Restored domain {cfg.name} (domid {domid})", file=sys.stderr)
    return 0


# ---- memory ----

def parse_mem_kb(text: str) -> int:
    """xl's memory sizes: a number with an optional unit b, k, m, g, t (none: MiB)."""
    m = re.fullmatch(r"(\d+)([bBkKmMgGtT]?)", text.strip())
    if not m:
        raise invalid(f"invalid memory size {text!r}")
    n, unit = int(m.group(1)), m.group(2).lower()
    return {"b": n >> 10, "k": n, "": n << 10, "m": n << 10, "g": n << 20, "t": n << 30}[unit]


def cmd_mem_set(ctx: Context, args: argparse.Namespace) -> int:
    ctx.set_memory_target(ctx.lookup(args.domain), parse_mem_kb(args.memory))
    return 0


def cmd_mem_max(ctx: Context, args: argparse.Namespace) -> int:
    ctx.set_max_memory(ctx.lookup(args.domain), parse_mem_kb(args.memory))
    return 0


# ---- scheduler ----

def cmd_sched_credit(ctx: Context, args: argparse.Namespace) -> int:
    head = "%-33s %4s %6s %4s" % ("Name", "ID", "Weight", "Cap")
    row = (lambda d, sp: "%-33s %4d %6d %4d" % (_name(ctx, d.domid), d.domid, sp.weight,
                                                 sp.cap))
    if args.domain is None:
        if args.weight is not None or args.cap is not None:
            print("Must specify a domain.", file=sys.stderr)
            return 1
        # As xl: each credit pool's line, the header, then the pool's domains (a pool that
        # runs another scheduler is left out).
        doms = ctx.list_domains()
        out = []
        for pool in ctx.cpupools():
            if pool.sched != "credit":
                continue
            try:
                c = ctx.sched_credit_params(pool.poolid)
                out.append("Cpupool %s: tslice=%dms ratelimit=%dus migration-delay=%dus" % (
                    pool.name, c.tslice_ms, c.ratelimit_us, c.migration_delay_us))
            except XenlightError:
                out.append(f"Cpupool {pool.name}: [sched params unavailable]")
            out.append(head)
            out += [row(d, ctx.sched_params(d.domid)) for d in doms
                    if d.cpupool == pool.poolid]
        print("\n".join(out))
        return 0
    domid = ctx.lookup(args.domain)
    if args.weight is not None or args.cap is not None:
        ctx.set_sched_params(domid, weight=args.weight, cap=args.cap)
        return 0
    print(head + "\n" + row(ctx.domain_info(domid), ctx.sched_params(domid)))
    return 0


# ---- devices ----

_VDEV = re.compile(r"^(xvd|hd|sd)([a-z]+)([0-9]*)$")


def vdev_number(vdev: str) -> int:
    """The device number xenstore files a disk under (libxl_device_disk_dev_number)."""
    m = _VDEV.match(vdev)
    if not m:
        d = re.fullmatch(r"d(\d+)(?:p(\d+))?", vdev)
        if not d:
            return -1
        disk, part = int(d.group(1)), int(d.group(2) or 0)
        return (1 << 28) | (disk << 8) | part
    disk = 0
    for ch in m.group(2):
        disk = disk * 26 + (ord(ch) - ord("a") + 1)
    disk -= 1
    part = int(m.group(3) or 0)
    if m.group(1) == "xvd":
        return (202 << 8) | (disk << 4) | part if disk < 16 and part < 16 else \
            (1 << 28) | (disk << 8) | part
    if m.group(1) == "hd":
        return ((3 if disk < 2 else 22) << 8) | ((disk % 2) << 6) | part
    return (8 << 8) | (disk << 4) | part


def cmd_block_list(ctx: Context, args: argparse.Namespace) -> int:
    for name in args.domains:
        domid = ctx.lookup(name)
        print("%-5s %-3s %-6s %-5s %-6s %-8s %-30s" % ("Vdev", "BE", "handle", "state",
                                                       "evt-ch", "ring-ref", "BE-path"))
        for d in ctx.disks(domid):
            # As xl: a disk whose xenstore record went away meanwhile is not printed.
            try:
                i = ctx.disk_info(domid, d.vdev)
            except NotFound:
                continue
            print("%-5d %-3d %-6d %-5d %-6d %-8d %-30s" % (i.devid, i.backend_id, i.frontend_id,
                                                           i.state, i.evtch, i.rref, i.backend))
    return 0


def cmd_block_attach(ctx: Context, args: argparse.Namespace) -> int:
    ctx.add_disk(ctx.lookup(args.domain), xlcfg.parse_disk(",".join(args.spec)))
    return 0


def cmd_block_detach(ctx: Context, args: argparse.Namespace) -> int:
    domid = ctx.lookup(args.domain)
    vdev = args.vdev
    if vdev.isdigit():
        found = [d.vdev for d in ctx.disks(domid) if vdev_number(d.vdev) == int(vdev)]
        if not found:
            print(f"Error: Device {vdev} not connected.", file=sys.stderr)
            return 1
        vdev = found[0]
    ctx.remove_disk(domid, vdev)
    return 0


def cmd_network_list(ctx: Context, args: argparse.Namespace) -> int:
    for name in args.domains:
        domid = ctx.lookup(name)
        print("%-3s %-2s %-17s %-6s %-5s %-6s %5s/%-5s %-30s" % (
            "Idx", "BE", "Mac Addr.", "handle", "state", "evt-ch", "tx-", "rx-ring-ref",
            "BE-path"))
        for n in ctx.nics(domid):
            try:
                i = ctx.nic_info(domid, n.devid)
            except NotFound:
                continue
            print("%-3d %-2d %s%6d %5d %6d %5d/%-11d %-30s" % (
                i.devid, i.backend_id, n.mac, i.frontend_id, i.state, i.evtch, i.rref_tx,
                i.rref_rx, i.backend))
    return 0


def cmd_network_attach(ctx: Context, args: argparse.Namespace) -> int:
    ctx.add_nic(ctx.lookup(args.domain), xlcfg.parse_vif(",".join(args.spec)))
    return 0


def cmd_network_detach(ctx: Context, args: argparse.Namespace) -> int:
    domid = ctx.lookup(args.domain)
    if args.nic.isdigit():
        devid = int(args.nic)
    else:
        found = [n.devid for n in ctx.nics(domid) if (n.mac or "").lower() == args.nic.lower()]
        if not found:
            print(f"Unknown device {args.nic}.", file=sys.stderr)
            return 1
        devid = found[0]
    ctx.remove_nic(domid, devid)
    return 0


def cmd_cd_insert(ctx: Context, args: argparse.Namespace) -> int:
    target = args.target
    fmt = xlcfg.parse_disk(f"vdev={args.vdev},devtype=cdrom,target={target}").format
    ctx.cdrom_insert(ctx.lookup(args.domain), args.vdev, target, format=fmt)
    return 0


def cmd_cd_eject(ctx: Context, args: argparse.Namespace) -> int:
    ctx.cdrom_insert(ctx.lookup(args.domain), args.vdev, None)
    return 0


# ---- console ----

_ESCAPE = 0x1D     # Ctrl-]


def copy_console(tty_fd: int, in_fd: int, out_fd: int) -> None:
    """Copy the console tty to out_fd and in_fd to the tty until Ctrl-] on in_fd, EOF on
    the tty (the domain is gone), or EOF on in_fd (after what the tty has at that time)."""
    watch = [tty_fd, in_fd]
    draining = False
    while True:
        ready, _, _ = select.select(watch, [], [], 0.2 if draining else None)
        if not ready:
            return                       # in_fd closed and the tty has nothing more now
        if tty_fd in ready:
            try:
                data = os.read(tty_fd, 65536)
            except OSError:
                data = b""               # EIO: the other side closed
            if not data:
                return
            os.write(out_fd, data)
            continue                     # the guest's output first
        if in_fd in ready:
            data = os.read(in_fd, 4096)
            if not data:
                draining = True
                watch = [tty_fd]
                continue
            if _ESCAPE in data:
                data = data[:data.index(_ESCAPE)]
                if data:
                    os.write(tty_fd, data)
                return
            os.write(tty_fd, data)


def cmd_console(ctx: Context, args: argparse.Namespace) -> int:
    domid = ctx.lookup(args.domain)
    path = ctx.primary_console_tty(domid)
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    in_fd, out_fd = sys.stdin.fileno(), sys.stdout.fileno()
    sys.stdout.flush()
    saved = None
    if os.isatty(in_fd):
        import termios
        import tty
        saved = termios.tcgetattr(in_fd)
        tty.setraw(in_fd)
    try:
        copy_console(fd, in_fd, out_fd)
    finally:
        if saved is not None:
            import termios
            termios.tcsetattr(in_fd, termios.TCSADRAIN, saved)
        os.close(fd)
    return 0


# ---- top ----

def _top_state(d: DomainInfo) -> str:
    crashed = d.shutdown and int(d.shutdown_reason) == 3
    return "".join(c if on else "-" for c, on in (
        ("d", d.dying), ("s", d.shutdown and not crashed), ("b", d.blocked), ("c", crashed),
        ("p", d.paused), ("r", d.running)))


def top_screen(ctx: Context, usage: dict[int, Any]) -> list[str]:
    p = ctx.physinfo()
    v = ctx.version_info()
    doms = ctx.list_domains()
    total_kb = p.total_pages * 4
    free_kb = p.free_pages * 4
    count = (lambda f: sum(1 for d in doms if f(d)))
    out = [
        "xentop - %s   Xen %s" % (time.strftime("%H:%M:%S"), v.xen_version),
        "%d domains: %d running, %d blocked, %d paused, %d crashed, %d dying, %d shutdown " % (
            len(doms), count(lambda d: d.running), count(lambda d: d.blocked),
            count(lambda d: d.paused),
            count(lambda d: d.shutdown and int(d.shutdown_reason) == 3),
            count(lambda d: d.dying), count(lambda d: d.shutdown)),
        "Mem: %dk total, %dk used, %dk free    CPUs: %d @ %dMHz" % (
            total_kb, total_kb - free_kb, free_kb, p.nr_cpus, p.cpu_khz // 1000),
        "%10s %6s %10s %6s %10s %6s %10s %9s %5s %4s %4s" % (
            "NAME", "STATE", "CPU(sec)", "CPU(%)", "MEM(k)", "MEM(%)", "MAXMEM(k)",
            "MAXMEM(%)", "VCPUS", "NETS", "VBDS"),
    ]
    for d in doms:
        u = usage.get(d.domid)
        mem = d.current_memkb
        unlimited = d.domid == 0 or d.max_memkb >= total_kb
        out.append("%10s %6s %10d %6.1f %10d %6.1f %10s %9s %5d %4d %4d" % (
            _name(ctx, d.domid)[:10], _top_state(d), d.cpu_time // 10**9,
            u.percent if u else 0.0, mem, 100.0 * mem / total_kb,
            "no limit" if unlimited else str(d.max_memkb),
            "n/a" if unlimited else "%.1f" % (100.0 * d.max_memkb / total_kb),
            d.vcpu_online, len(ctx.nics(d.domid)), len(ctx.disks(d.domid))))
    return out


def cmd_top(ctx: Context, args: argparse.Namespace) -> int:
    sampler = UsageSampler(ctx)
    usage = sampler.sample(with_vcpus=False)
    n = 0
    try:
        while args.iterations is None or n < args.iterations:
            if n:
                time.sleep(args.delay)
                usage = sampler.sample(with_vcpus=False)
            lines = top_screen(ctx, usage)
            if args.batch:
                print("\n".join(lines), flush=True)
            else:
                sys.stdout.write("\x1b[H\x1b[2J" + "\n".join(lines) + "\n")
                sys.stdout.flush()
            n += 1
    except KeyboardInterrupt:
        pass
    return 0


# ---- parser ----

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="xenlight", description="xl-like tool on xenlight_py")
    p.add_argument("--backend", choices=("sim", "xen"), default=None,
                   help="libxl backend (default: $XENLIGHT_BACKEND, else xen)")
    sub = p.add_subparsers(dest="command", required=True)

    def cmd(name: str, func: Callable[[Context, argparse.Namespace], int],
            help: str) -> argparse.ArgumentParser:
        s = sub.add_parser(name, help=help)
        s.set_defaults(func=func)
        return s

    s = cmd("list", cmd_list, "list domains")
    s.add_argument("-l", "--long", action="store_true", help="configurations as JSON")
    s.add_argument("-v", "--verbose", action="store_true", help="UUID, reason code, label")
    s.add_argument("domains", nargs="*")
    s = cmd("info", cmd_info, "host information")
    s.add_argument("-n", "--numa", action="store_true", help="CPU and NUMA topology too")
    s = cmd("cpupool-list", cmd_cpupool_list, "list cpupools")
    s.add_argument("-c", "--cpus", action="store_true", help="the CPUs of each pool")
    s.add_argument("pool", nargs="?")
    s = cmd("dmesg", cmd_dmesg, "the Xen console ring")
    s.add_argument("-c", dest="clear", action="store_true", help="clear the ring after reading")
    s = cmd("uptime", cmd_uptime, "domains' uptimes")
    s.add_argument("domains", nargs="*")
    s = cmd("create", cmd_create, "create a domain from an xl config file")
    s.add_argument("-p", dest="paused", action="store_true", help="leave it paused")
    s.add_argument("config")
    for op in ("pause", "unpause", "destroy", "reboot"):
        s = cmd(op, _simple(op), f"{op} a domain")
        s.add_argument("domain")
    s = cmd("shutdown", cmd_shutdown, "ask a domain to shut down")
    s.add_argument("-w", dest="wait", action="store_true", help="wait for it, then destroy it")
    s.add_argument("--timeout", type=float, default=60.0)
    s.add_argument("domain")
    s = cmd("rename", cmd_rename, "rename a domain")
    s.add_argument("domain")
    s.add_argument("new_name")
    s = cmd("save", cmd_save, "save a domain to a file (and destroy it)")
    s.add_argument("domain")
    s.add_argument("file")
    s.add_argument("config", help="the domain's xl config file, stored in the save file")
    s = cmd("restore", cmd_restore, "restore a domain from a save file")
    s.add_argument("-p", dest="paused", action="store_true", help="leave it paused")
    s.add_argument("file")
    s = cmd("mem-set", cmd_mem_set, "set a domain's memory target (MiB, or with b/k/m/g)")
    s.add_argument("domain")
    s.add_argument("memory")
    s = cmd("mem-max", cmd_mem_max, "set a domain's maximum memory")
    s.add_argument("domain")
    s.add_argument("memory")
    s = cmd("vcpu-list", cmd_vcpu_list, "list vCPUs")
    s.add_argument("domains", nargs="*")
    s = cmd("vcpu-set", cmd_vcpu_set, "set the number of online vCPUs")
    s.add_argument("domain")
    s.add_argument("count", type=int)
    s = cmd("vcpu-pin", cmd_vcpu_pin, "set vCPU affinity")
    s.add_argument("domain")
    s.add_argument("vcpu", help="a vCPU number or 'all'")
    s.add_argument("cpus", help="hard affinity: all, -, 0-3,^2, nodes:0")
    s.add_argument("soft", nargs="?", help="soft affinity (same forms)")
    s = cmd("sched-credit", cmd_sched_credit, "credit scheduler parameters")
    s.add_argument("-d", "--domain")
    s.add_argument("-w", "--weight", type=int)
    s.add_argument("-c", "--cap", type=int)
    s = cmd("block-list", cmd_block_list, "list a domain's disks")
    s.add_argument("domains", nargs="+")
    s = cmd("block-attach", cmd_block_attach, "attach a disk (xl-disk-configuration)")
    s.add_argument("domain")
    s.add_argument("spec", nargs="+")
    s = cmd("block-detach", cmd_block_detach, "detach a disk (vdev or device number)")
    s.add_argument("domain")
    s.add_argument("vdev")
    s = cmd("network-list", cmd_network_list, "list a domain's nics")
    s.add_argument("domains", nargs="+")
    s = cmd("network-attach", cmd_network_attach, "attach a nic (key=value ...)")
    s.add_argument("domain")
    s.add_argument("spec", nargs="*")
    s = cmd("network-detach", cmd_network_detach, "detach a nic (devid or mac)")
    s.add_argument("domain")
    s.add_argument("nic")
    s = cmd("cd-insert", cmd_cd_insert, "insert a cdrom")
    s.add_argument("domain")
    s.add_argument("vdev")
    s.add_argument("target")
    s = cmd("cd-eject", cmd_cd_eject, "eject a cdrom")
    s.add_argument("domain")
    s.add_argument("vdev")
    s = cmd("console", cmd_console, "attach to a domain's console (Ctrl-] leaves)")
    s.add_argument("-t", dest="type", choices=("pv", "serial"), help="ignored: the primary")
    s.add_argument("domain")
    s = cmd("top", cmd_top, "refreshing per-domain CPU and memory view (as xentop)")
    s.add_argument("-b", "--batch", action="store_true", help="print, do not redraw")
    s.add_argument("-i", "--iterations", type=int, help="stop after N screens")
    s.add_argument("-d", "--delay", type=float, default=3.0, help="seconds between screens")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with Context(backend=args.backend) as ctx:
            return int(args.func(ctx, args))
    except BackendUnavailable as e:
        print(f"xenlight: {e}", file=sys.stderr)
        if (args.backend or os.environ.get("XENLIGHT_BACKEND", "xen")) == "xen":
            print("xenlight: no Xen hypervisor here; to use the simulator: "
                  "xenlight --backend sim ... (or XENLIGHT_BACKEND=sim)", file=sys.stderr)
        return 1
    except XenlightError as e:
        print(f"xenlight: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"xenlight: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
