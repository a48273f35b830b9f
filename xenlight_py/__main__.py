"""``xenlight`` / ``python -m xenlight_py``: a small xl-like command line.

    xenlight [--backend sim|xen] list [DOMAIN...]
    xenlight vcpu-list [DOMAIN...]
    xenlight info
    xenlight dmesg [-c]
    xenlight create [-p] CONFIG
    xenlight pause|unpause|destroy DOMAIN
    xenlight shutdown [-w] DOMAIN
    xenlight reboot DOMAIN

Output follows xl's formats. Exit status: 0 on success, 1 on a libxl or config error,
2 on a usage error.
"""
from __future__ import annotations

import argparse
import platform
import sys
from typing import Callable, Sequence

from . import xlcfg
from .context import Context
from .errors import XenlightError
from .types import DomainInfo, VcpuInfo


def _domains(ctx: Context, names: Sequence[str]) -> list[DomainInfo]:
    if not names:
        return ctx.list_domains()
    return [ctx.domain_info(ctx.lookup(n)) for n in names]


def cmd_list(ctx: Context, args: argparse.Namespace) -> int:
    out = ["Name                                        ID   Mem VCPUs\tState\tTime(s)"]
    for d in _domains(ctx, args.domains):
        try:
            name = ctx.domid_to_name(d.domid)
        except XenlightError:
            name = "(null)"
        out.append("%-40s %5d %5d %5d     %s  %8.1f" % (
            name, d.domid, d.memory_mib, d.vcpu_online, d.state, d.cpu_time / 1e9))
    print("\n".join(out))
    return 0


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


def cmd_info(ctx: Context, args: argparse.Namespace) -> int:
    p = ctx.physinfo()
    v = ctx.version_info()
    pages_per_mib = (1 << 20) // (v.pagesize or 4096)
    caps = [c for c, ok in (("pv", p.cap_pv), ("hvm", p.cap_hvm),
                            ("hvm_directio", p.cap_hvm_directio), ("hap", p.cap_hap),
                            ("shadow", p.cap_shadow),
                            ("iommu_hap_pt_share", p.cap_iommu_hap_pt_share)) if ok]
    rows = [
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
        ("xen_major", v.xen_version_major), ("xen_minor", v.xen_version_minor),
        ("xen_extra", v.xen_version_extra), ("xen_version", v.xen_version),
        ("xen_caps", v.capabilities), ("xen_pagesize", v.pagesize),
        ("platform_params", "virt_start=0x%x" % v.virt_start),
        ("xen_changeset", v.changeset), ("xen_commandline", v.commandline),
        ("cc_compiler", v.compiler), ("cc_compile_by", v.compile_by),
        ("cc_compile_domain", v.compile_domain), ("cc_compile_date", v.compile_date),
        ("build_id", v.build_id), ("xend_config_format", 4),
    ]
    print("\n".join(f"{k:<23}: {val}" for k, val in rows))
    return 0


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


def cmd_dmesg(ctx: Context, args: argparse.Namespace) -> int:
    sys.stdout.write(ctx.xen_dmesg(clear=args.clear))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="xenlight", description="xl-like tool on xenlight_py")
    p.add_argument("--backend", choices=("sim", "xen"), default=None,
                   help="libxl backend (default: $XENLIGHT_BACKEND, else xen)")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("list", help="list domains")
    s.add_argument("domains", nargs="*")
    s.set_defaults(func=cmd_list)
    s = sub.add_parser("vcpu-list", help="list vCPUs")
    s.add_argument("domains", nargs="*")
    s.set_defaults(func=cmd_vcpu_list)
    s = sub.add_parser("info", help="host information")
    s.set_defaults(func=cmd_info)
    s = sub.add_parser("dmesg", help="the Xen console ring")
    s.add_argument("-c", dest="clear", action="store_true", help="clear the ring after reading")
    s.set_defaults(func=cmd_dmesg)
    s = sub.add_parser("create", help="create a domain from an xl config file")
    s.add_argument("-p", dest="paused", action="store_true", help="leave it paused")
    s.add_argument("config")
    s.set_defaults(func=cmd_create)
    for op in ("pause", "unpause", "destroy", "reboot"):
        s = sub.add_parser(op, help=f"{op} a domain")
        s.add_argument("domain")
        s.set_defaults(func=_simple(op))
    s = sub.add_parser("shutdown", help="ask a domain to shut down")
    s.add_argument("-w", dest="wait", action="store_true", help="wait for it, then destroy it")
    s.add_argument("--timeout", type=float, default=60.0)
    s.add_argument("domain")
    s.set_defaults(func=cmd_shutdown)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with Context(backend=args.backend) as ctx:
            return int(args.func(ctx, args))
    except XenlightError as e:
        print(f"xenlight: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
