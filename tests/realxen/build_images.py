"""Builds the boot images for the real-Xen run from unpacked Debian packages.

Outputs, in OUT:
  xen            the hypervisor (ELF with a multiboot header, QEMU -kernel loads it)
  vmlinuz        the Linux kernel, used for dom0 and for the PV guest
  dom0.cpio.gz   dom0's initramfs: busybox, the Xen daemons and xl, Python with our
                 package and its dependencies, the guest kernel and initramfs
  guest.cpio.gz  the PV guest's initramfs: busybox init that honours poweroff

Everything a binary needs is found by ldd, so a missing library fails the build
here, on the host, rather than as a mysterious failure inside QEMU.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from cpio import CpioWriter

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
MULTIARCH = "x86_64-linux-gnu"
LIBDIR = f"/lib/{MULTIARCH}"
PYPREFIX = "/opt/python"  # where the interpreter lives in dom0
XEN_BIN = "usr/lib/xen-4.17/bin"

# dom0 daemons and tools from xen-utils-4.17 / xenstore-utils.
XEN_TOOLS = ["xl", "xenstored", "xenconsoled", "xen-init-dom0", "xenconsole",
             "libxl-save-helper"]
XENSTORE_CLIENTS = ["xenstore", "xenstore-read", "xenstore-write", "xenstore-ls",
                    "xenstore-list", "xenstore-rm", "xenstore-exists"]

# Kernel modules for dom0, in the order they are wanted; dependencies are added
# in front. xen-privcmd must precede xenfs ("Unknown symbol xen_privcmd_fops").
# virtio_blk and ext4: dom0's /tmp is an ext4 disk (a QEMU virtio drive, boot.py), not a
# tmpfs: the VDIs, suspend images and core dumps would otherwise take dom0's RAM.
DOM0_MODULES = ["xen-privcmd", "xenfs", "xen-evtchn", "xen-gntdev", "xen-gntalloc", "e1000",
                "virtio_pci", "virtio_blk", "crc32c_generic", "ext4"]
# Device backends for hot-plugged and XenAPI guest devices (disk: blkback on a loop device; NIC: netback
# on a bridge). Loaded by dom0/init (step "backends"), which also makes the bridge xenbr0.
BACKEND_MODULES = ["xen-blkback", "xen-netback", "bridge", "loop"]
# The guest's frontends (modules in Debian's kernel): its rc loads them and reports the
# disks and NICs it sees, so the XenAPI check knows the devices reached the guest.
GUEST_MODULES = ["xen-blkfront", "xen-netfront"]

# Standard library parts dom0 never uses (size: the initramfs lives in dom0's RAM).
STDLIB_SKIP = {"test", "tkinter", "idlelib", "ensurepip", "lib2to3", "turtledemo",
               "site-packages", "pydoc_data", "venv", "distutils"}
DYNLOAD_SKIP = re.compile(r"^(_test|_tkinter|xxlimited|_ctypes_test|_xxtestfuzz|_curses|"
                          r"readline|nis|ossaudiodev|spwd|audioop|_xxsubinterpreters)")
# Distributions from the venv that are build or test tools, not runtime dependencies.
SITE_SKIP = re.compile(r"^(pip|setuptools|pkg_resources|_distutils_hack|distutils-precedence|"
                       r"_pytest|pytest|py\.py|pluggy|iniconfig|pygments|pytest_benchmark|"
                       r"cpuinfo|py_cpuinfo|__editable__|__pycache__|xen_py_toolstack|"
                       # Ansible (tests/clients drives the server with it): ~480 MiB, which
                       # would not fit in dom0's RAM (the initramfs unpack fails).
                       r"ansible|"
                       r"xenlight_py|xenapi_impl)", re.I)
OUR_PACKAGES = ["xenlight_py", "xenapi_impl"]
MAX_DOM0_CPIO = 300 << 20  # bytes; dom0 has 768 MiB and must still run guests and Python


class BuildError(Exception):
    """The images cannot be built from what is on this machine."""


def run(cmd: list[str], **kw) -> str:
    res = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if res.returncode != 0:
        raise BuildError(f"{' '.join(cmd)} failed ({res.returncode}): {res.stderr.strip()}")
    return res.stdout


class LibCollector:
    """Resolves and copies the shared-library closure of ELF files (via ldd)."""

    LINE = re.compile(r"^\s*(\S+)\s+=>\s+(\S+)\s+\(0x[0-9a-f]+\)$")
    LOADER = re.compile(r"^\s*(/\S+ld-linux\S*)\s+\(0x[0-9a-f]+\)$")

    def __init__(self, search_path: list[str]) -> None:
        self.env = dict(os.environ, LD_LIBRARY_PATH=":".join(search_path))
        self.libs: dict[str, str] = {}  # soname -> host path
        self.loader: str | None = None

    def add(self, elf: Path) -> None:
        res = subprocess.run(["ldd", str(elf)], capture_output=True, text=True, env=self.env)
        if "not a dynamic executable" in res.stdout + res.stderr:
            return
        if res.returncode != 0:
            raise BuildError(f"ldd {elf}: {res.stderr.strip()}")
        for line in res.stdout.splitlines():
            if "not found" in line:
                raise BuildError(f"{elf}: library not found: {line.strip()}")
            m = self.LINE.match(line)
            if m:
                self.libs.setdefault(m.group(1), m.group(2))
                continue
            m = self.LOADER.match(line)
            if m:
                self.loader = m.group(1)

    def emit(self, w: CpioWriter) -> None:
        for name, path in sorted(self.libs.items()):
            w.add_file(f"{LIBDIR}/{name}", os.path.realpath(path), mode=0o755)
        if self.loader is None:
            raise BuildError("no dynamic loader seen by ldd")
        w.add_file("/lib64/ld-linux-x86-64.so.2", os.path.realpath(self.loader), mode=0o755)


def is_elf(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"\x7fELF"


def add_busybox(w: CpioWriter, busybox: Path) -> None:
    w.add_file("/bin/busybox", busybox, mode=0o755)
    for applet in run([str(busybox), "--list-full"]).split():
        path = "/" + applet
        if path != "/bin/busybox" and not w.exists(path):
            w.add_symlink(path, "/bin/busybox")


def add_tree(w: CpioWriter, src: Path, dst: str, skip_top: set[str] | None = None,
             skip_re: re.Pattern[str] | None = None) -> list[Path]:
    """Copies a directory; keeps only this interpreter's plain .pyc. Returns ELF files."""
    elves = []
    for dirpath, dirnames, filenames in os.walk(src):
        rel = Path(dirpath).relative_to(src)
        if rel == Path("."):
            if skip_top:
                dirnames[:] = [d for d in dirnames if d not in skip_top]
            if skip_re:
                dirnames[:] = [d for d in dirnames if not skip_re.match(d)]
                filenames = [f for f in filenames if not skip_re.match(f)]
        dirnames.sort()
        w.mkdir(f"{dst}/{rel}".rstrip("/.") or dst)
        for name in sorted(filenames):
            p = Path(dirpath) / name
            if name.endswith((".c", ".o")):
                continue  # build leftovers of the cffi modules
            if Path(dirpath).name == "__pycache__" and not name.endswith(".cpython-311.pyc"):
                continue
            if p.is_symlink():
                w.add_symlink(f"{dst}/{rel}/{name}", os.readlink(p))
                continue
            w.add_file(f"{dst}/{rel}/{name}", p)
            if name.endswith(".so") or ".so." in name:
                elves.append(p)
    return elves


def find_modules(kroot: Path, wanted: list[str]) -> list[Path]:
    """Returns the .ko files for `wanted` and their dependencies, dependencies first."""
    by_name: dict[str, Path] = {}
    for ko in kroot.rglob("*.ko"):
        by_name[ko.stem.replace("-", "_")] = ko
    order: list[Path] = []

    def deps_of(ko: Path) -> list[str]:
        m = re.search(rb"depends=([^\0]*)\0", ko.read_bytes())
        return [d for d in (m.group(1).decode().split(",") if m else []) if d]

    def visit(name: str, chain: tuple[str, ...]) -> None:
        key = name.replace("-", "_")
        if key not in by_name:
            raise BuildError(f"kernel module {name} not in {kroot}")
        ko = by_name[key]
        if ko in order:
            return
        if key in chain:
            raise BuildError(f"module dependency cycle: {' -> '.join(chain)}")
        for dep in deps_of(ko):
            visit(dep, chain + (key,))
        order.append(ko)

    for name in wanted:
        visit(name, ())
    return order


def python_info(python: str) -> dict:
    code = ("import sys, sysconfig, json; print(json.dumps({'base': sys.base_prefix, "
            "'ver': '%d.%d' % sys.version_info[:2], 'purelib': sysconfig.get_paths()['purelib']}))")
    return json.loads(run([python, "-c", code]))


def locate_package(python: str, name: str) -> Path:
    code = (f"import importlib.util as u; s = u.find_spec({name!r}); "
            "print(list(s.submodule_search_locations)[0])")
    return Path(run([python, "-c", code], cwd="/").strip())


def maybe_stripped(src: Path, tmp: Path) -> Path:
    """A stripped copy of a large binary (libpython carries 20 MB of symbols)."""
    if shutil.which("strip") is None:
        return src
    out = tmp / (src.name + ".stripped")
    if not out.exists() or out.stat().st_mtime < src.stat().st_mtime:
        run(["strip", "--strip-unneeded", "-o", str(out), str(src)])
    return out


def build_guest(root: Path, out: Path, kver: str) -> None:
    with open(out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as gz:
        w = CpioWriter(gz)
        for d in ("/dev", "/proc", "/sys", "/etc", "/tmp", "/root", "/lib/modules"):
            w.mkdir(d)
        mods = find_modules(root / "lib/modules" / kver / "kernel", GUEST_MODULES)
        for ko in mods:
            w.add_file(f"/lib/modules/{ko.name}", ko, mode=0o644)
        w.add_bytes("/etc/realxen-modules", "".join(k.name + "\n" for k in mods).encode())
        w.add_chardev("/dev/console", 5, 1)
        add_busybox(w, root / "bin/busybox")
        # The kernel runs /init; as busybox init it reads /etc/inittab and turns the
        # SIGUSR2 that /sbin/poweroff sends (the xen "manage" driver's orderly poweroff)
        # into a clean power-off.
        w.add_symlink("/init", "/bin/busybox")
        w.add_file("/etc/inittab", HERE / "guest/inittab", mode=0o644)
        w.add_file("/etc/rc", HERE / "guest/rc", mode=0o755)
        w.close()


def build_dom0(root: Path, out: Path, python: str, guest_initrd: Path, kernel: Path,
               tmp: Path, kver: str, need_binding: bool) -> dict:
    pyinfo = python_info(python)
    base = Path(pyinfo["base"])
    ver = pyinfo["ver"]
    xen_libs = root / f"usr/lib/{MULTIARCH}"
    libs = LibCollector([str(xen_libs), str(base / "lib")])
    stats: dict = {}
    with open(out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as gz:
        w = CpioWriter(gz)
        for d in ("/dev", "/proc", "/sys", "/run", "/tmp", "/root", "/etc", "/var/log/xen/console",
                  "/var/lib/xen", "/var/lib/xenstored", "/mnt"):
            w.mkdir(d)
        w.add_symlink("/var/run", "/run")
        w.add_chardev("/dev/console", 5, 1)
        w.add_file("/init", HERE / "dom0/init", mode=0o755)
        for f in sorted((HERE / "dom0").iterdir()):
            if f.name != "init" and f.is_file():
                w.add_file(f"/realxen/{f.name}", f, mode=0o755 if os.access(f, os.X_OK) else 0o644)
        # The scenario and its comparison live in tests/realxen; dom0 runs the same file.
        for f in ("scenario.py", "console_json.py"):
            if (HERE / f).exists():
                w.add_file(f"/realxen/{f}", HERE / f, mode=0o644)

        # Xen tools: the real binaries (the /usr/sbin ones are Debian's wrapper scripts).
        for tool in XEN_TOOLS:
            src = root / XEN_BIN / tool
            w.add_file(f"/usr/lib/xen-4.17/bin/{tool}", src, mode=0o755)
            w.add_symlink(f"/usr/sbin/{tool}", f"/usr/lib/xen-4.17/bin/{tool}")
            libs.add(src)
        for tool in XENSTORE_CLIENTS:
            src = root / "usr/bin" / tool
            w.add_file(f"/usr/bin/{tool}", src, mode=0o755)
            libs.add(src)
        # The hotplug scripts (/etc/xen/scripts) are bash scripts; busybox has no bash.
        bash = Path("/bin/bash")
        if not bash.is_file():
            raise BuildError("/bin/bash missing on the host (the Xen hotplug scripts need it)")
        w.add_file("/bin/bash", bash, mode=0o755)
        libs.add(bash)
        # The block script's lock (locking.sh) needs flock(1), which busybox lacks; its
        # sharing check parses util-linux's `losetup -a` format, which busybox's differs from.
        for tool in ("/usr/bin/flock", "/usr/sbin/losetup"):
            src = Path(tool)
            if not src.is_file():
                raise BuildError(f"{tool} missing on the host (util-linux / mount packages)")
            w.add_file(tool, src, mode=0o755)
            libs.add(src)
        # After the Xen tools, so that a real binary wins over a busybox applet.
        add_busybox(w, root / "bin/busybox")
        if (root / "etc/xen").is_dir():
            add_tree(w, root / "etc/xen", "/etc/xen")
        libgcc = Path(f"/lib/{MULTIARCH}/libgcc_s.so.1")
        if not libgcc.exists():
            raise BuildError(f"{libgcc} missing (glibc needs it for pthread_cancel)")
        libs.libs.setdefault("libgcc_s.so.1", str(libgcc))

        # Kernel modules, in load order, recorded for the init script.
        kroot = root / "lib/modules" / kver / "kernel"
        mods = find_modules(kroot, DOM0_MODULES)
        for ko in mods:
            w.add_file(f"/lib/modules/{ko.name}", ko, mode=0o644)
        w.add_bytes("/etc/realxen-modules", "".join(k.name + "\n" for k in mods).encode())
        back = [ko for ko in find_modules(kroot, BACKEND_MODULES) if ko not in mods]
        for ko in back:
            w.add_file(f"/lib/modules/{ko.name}", ko, mode=0o644)
        w.add_bytes("/etc/realxen-backend-modules", "".join(k.name + "\n" for k in back).encode())
        mods = mods + back
        stats["modules"] = [k.name for k in mods]

        # Python: interpreter, trimmed stdlib, runtime site-packages, our package.
        exe = base / "bin" / f"python{ver}"
        w.add_file(f"{PYPREFIX}/bin/python{ver}", exe, mode=0o755)
        w.add_symlink(f"{PYPREFIX}/bin/python3", f"python{ver}")
        w.add_symlink("/usr/bin/python3", f"{PYPREFIX}/bin/python{ver}")
        libs.add(exe)
        libpy = base / "lib" / f"libpython{ver}.so.1.0"
        libs.libs.pop(libpy.name, None)
        w.add_file(f"{PYPREFIX}/lib/{libpy.name}", maybe_stripped(libpy, tmp), mode=0o755)
        stdlib = base / "lib" / f"python{ver}"
        for elf in add_tree(w, stdlib, f"{PYPREFIX}/lib/python{ver}", skip_top=STDLIB_SKIP | {"lib-dynload"}
                            | {d.name for d in stdlib.iterdir() if d.name.startswith("config-")}):
            libs.add(elf)
        for so in sorted((stdlib / "lib-dynload").iterdir()):
            if not DYNLOAD_SKIP.match(so.name):
                w.add_file(f"{PYPREFIX}/lib/python{ver}/lib-dynload/{so.name}", so, mode=0o755)
                libs.add(so)
        site = f"{PYPREFIX}/lib/python{ver}/site-packages"
        for elf in add_tree(w, Path(pyinfo["purelib"]), site, skip_re=SITE_SKIP):
            libs.add(elf)
        for pkg in OUR_PACKAGES:
            try:
                src = locate_package(python, pkg)
            except BuildError:
                if pkg == "xenlight_py" and need_binding:
                    raise BuildError("xenlight_py is not installed in the venv (make venv)")
                continue  # the XenAPI server is optional for the binding scenario
            for elf in add_tree(w, src, f"{site}/{pkg}"):
                libs.add(elf)

        # The guest's kernel and initramfs, for xl and the scenario to boot.
        w.add_file("/realxen/guest/vmlinuz", kernel, mode=0o644)
        w.add_file("/realxen/guest/initrd.gz", guest_initrd, mode=0o644)
        w.add_file("/realxen/guest/xl.cfg", HERE / "guest/xl.cfg", mode=0o644)

        libs.emit(w)
        stats["libraries"] = sorted(libs.libs)
        w.close()
        stats["cpio_bytes"] = w.total_bytes
    stats["gz_bytes"] = out.stat().st_size
    return stats


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, required=True, help="unpacked Debian packages")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--python", required=True, help="the project venv's python")
    ap.add_argument("--without-binding", action="store_true",
                    help="build even if xenlight_py is missing (xl-only runs)")
    args = ap.parse_args()
    root, out = args.root.resolve(), args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "tmp"
    tmp.mkdir(exist_ok=True)
    try:
        kvers = sorted(p.name for p in (root / "lib/modules").iterdir())
        if len(kvers) != 1:
            raise BuildError(f"expected one kernel in {root}/lib/modules, found {kvers}")
        kver = kvers[0]
        kernel = root / f"boot/vmlinuz-{kver}"
        xen_gz = root / "boot/xen-4.17-amd64.gz"
        with gzip.open(xen_gz, "rb") as src, open(out / "xen", "wb") as dst:
            shutil.copyfileobj(src, dst)
        shutil.copyfile(kernel, out / "vmlinuz")
        build_guest(root, out / "guest.cpio.gz", kver)
        stats = build_dom0(root, out / "dom0.cpio.gz", args.python, out / "guest.cpio.gz",
                           kernel, tmp, kver, not args.without_binding)
    except BuildError as e:
        print(f"build_images: {e}", file=sys.stderr)
        return 1
    print(f"build_images: kernel {kver}; dom0 initramfs {stats['cpio_bytes'] / 2**20:.1f} MiB "
          f"({stats['gz_bytes'] / 2**20:.1f} MiB gz); {len(stats['libraries'])} libraries; "
          f"modules {' '.join(stats['modules'])}")
    if stats["cpio_bytes"] > MAX_DOM0_CPIO:
        # The kernel unpacks the initramfs into dom0's 768 MiB: too big fails there as a
        # truncated root ("xenstored: not found"); say so here instead.
        print(f"build_images: the dom0 initramfs is over {MAX_DOM0_CPIO >> 20} MiB; "
              "something large joined the venv (add it to SITE_SKIP if dom0 does not need it)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
