"""Context: one libxl context and every call the binding offers on it.

A Context is safe to share between threads (libxl_ctx is thread-safe and cffi releases the
GIL around each C call). Every libxl return code goes through :meth:`Context._check`, the
single point that turns failures into :mod:`xenlight_py.errors` exceptions.
"""
from __future__ import annotations

import contextlib
import os
import struct
import uuid as _uuid
import threading
import time
import weakref
from collections import deque
from itertools import count, repeat
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, TypeVar

from . import _log
from ._ffi import Backend, backend_name, load
from .errors import (BackendUnavailable, DomainNotFound, XenlightError, ERROR_DOMAIN_NOTFOUND,
                     ERROR_FAIL, ERROR_INVAL, ERROR_NOTFOUND, invalid, make_error)
from .events import AsyncEventStream, EventStream, OsEvents
from .sample import DOMINFO_FORMAT, DomainSample
from .types import (_SCHED_NAMES, _VDEV_RE, CpupoolInfo, CpuTopology, NumaNode,
                    SchedCreditParams,
                    DiskBackend, DiskConfig, DiskFormat, DiskInfo, DomainConfig, DomainInfo,
                    DomainType, NicConfig, NicInfo, PhysInfo, SchedParams, VcpuInfo, VersionInfo,
                    check_domain_name, check_sched)

if TYPE_CHECKING:
    from .sim import SimControl

_DOMINFO = struct.Struct("<" + DOMINFO_FORMAT)
_unpack_dominfo = _DOMINFO.unpack_from
_LINES = struct.Struct("<I")    # a failed flat dominfo: the count of lines it logged
#: the same packed record, only its first field (the domid) read
_DOMID_ONLY = struct.Struct(f"<I{_DOMINFO.size - 4}x")
_TIME_MASK = (1 << 63) - 1      # XEN_RUNSTATE_UPDATE lives in bit 63 of vCPU times
_NIC_RATE_INTERVAL_US = 50000    # xl's default credit interval for rate=
_DOMID_MAX = 0x7FEF             # the shim's XLPY_DOMID_MAX too
_REFUSED = 1                    # XLPY_INFO_REFUSED: domain_info's checks failed in the shim
#: per thread: (token of the context the shim's domain_info state selects, its record)
_info_tls = threading.local()
_tokens = count(1)     # never reused: a token names one Context for its life


_from_record = DomainInfo._from_record
# DomainInfo built without a Python frame (what _from_record does, inlined in the hot calls)
_new_object = object.__new__
_set_record = DomainInfo._r.__set__     # type: ignore[attr-defined]  # the slot's C setter
_T = TypeVar("_T")


def _build_infos(raw: Any, n: int) -> list[DomainInfo]:
    # C-level loops only (no Python frame per domain): n empty DomainInfo, then each gets
    # its record through the slot's setter
    infos = list(map(_new_object, repeat(DomainInfo, n)))
    deque(map(_set_record, infos, _DOMINFO.iter_unpack(raw)), maxlen=0)
    return infos


def _domids_of(raw: Any, _n: int) -> list[int]:
    return [d for (d,) in _DOMID_ONLY.iter_unpack(raw)]


_log_tls = _log.tls


def _as_fd(target: Any) -> int | None:
    """A file descriptor from an int or an object with fileno() (socket, file); None for a
    path. The fd stays the caller's."""
    if isinstance(target, bool):
        raise invalid(f"{target!r} is neither a path nor a file descriptor")
    if isinstance(target, int):
        fd = target
    elif hasattr(target, "fileno") and not isinstance(target, (str, bytes, os.PathLike)):
        fd = target.fileno()
    else:
        return None
    if not isinstance(fd, int) or fd < 0:
        raise invalid(f"{target!r} is not an open file descriptor")
    return fd


_CPU_SETS: dict[bytes, frozenset[int]] = {}
_CPU_SETS_MAX = 4096


def _cpu_set(data: bytes) -> frozenset[int]:
    """The CPUs a libxl_bitmap's bytes hold. Memoized: a host has few distinct affinities and
    list_vcpus converts two per vCPU (bit by bit that was most of a 1,000-domain read)."""
    got = _CPU_SETS.get(data)
    if got is None:
        if len(_CPU_SETS) >= _CPU_SETS_MAX:
            _CPU_SETS.clear()
        bits = int.from_bytes(data, "little")
        got = _CPU_SETS[data] = frozenset(i for i in range(bits.bit_length()) if bits >> i & 1)
    return got


def _check_domid(domid: int) -> int:
    if not isinstance(domid, int) or isinstance(domid, bool) or not 0 <= domid <= _DOMID_MAX:
        raise invalid(f"domid {domid!r} is not a valid domain id (0..{_DOMID_MAX})")
    return domid


class Context:
    """A connection to libxenlight ("xen": the real host, "sim": the simulator).

    ``Context(backend=None)`` uses ``$XENLIGHT_BACKEND`` (default "xen"). Use it as a context
    manager, or call :meth:`close`. Without a hypervisor the "xen" backend raises
    :class:`BackendUnavailable` naming the cause and the "sim" alternative.
    """

    def __init__(self, backend: str | None = None) -> None:
        self._ctx: Any = None
        b: Backend = load(backend_name(backend))
        self.backend = b.name
        self._b = b
        self._ffi = ffi = b.ffi
        self._lib = lib = b.lib
        self._logger = lib.xlpy_logger_new(_log.min_xtl_level())
        if self._logger == ffi.NULL:
            raise MemoryError("cannot allocate the libxl logger")
        self._os = OsEvents(self)
        self._os_handle = ffi.new_handle(self._os)
        self._watchers: weakref.WeakSet[EventStream | AsyncEventStream] = weakref.WeakSet()
        self._watch_lock = threading.Lock()
        self._sim: SimControl | None = None
        self._info = lib.xlpy_domain_info_selected
        # the context as domain_info's C call finds it (NULL once closed): see _select_info
        self._cell = ffi.new("libxl_ctx **")
        self._token = next(_tokens)
        pctx = ffi.new("libxl_ctx **")
        seq = _log.tls.seq
        rc = lib.libxl_ctx_alloc(pctx, lib.LIBXL_VERSION, 0, self._logger)
        lines = _log.since(seq)
        if rc:
            lib.xlpy_logger_free(self._logger)
            self._logger = None
            raise self._unavailable(rc, lines, ffi.errno)
        self._ctx = self._cell[0] = pctx[0]
        lib.xlpy_ctx_setup(self._ctx, self._os_handle)

    def _unavailable(self, rc: int, lines: list[str], errno: int) -> XenlightError:
        name = self._b.error_name(rc)
        if self.backend == "xen":
            cause = lines[-1] if lines else os.strerror(errno) if errno else name
            msg = (f"cannot open a libxl context on this host: {cause}. No usable Xen hypervisor "
                   "here (run in dom0, as root, with xenstored running); for the simulator "
                   "use backend 'sim' (Context(backend='sim') or XENLIGHT_BACKEND=sim)")
        else:
            msg = "cannot open a context on the simulator"
        return BackendUnavailable(rc, name, msg, "libxl_ctx_alloc", lines)

    # ---- lifetime ----

    def refresh_log_level(self) -> None:
        """Follow the ``xenlight`` logger's current level. libxl's messages below it are
        dropped in C, before they are formatted; the threshold is read when the context is
        made, so call this after changing that logger's level (lowering it to DEBUG, say)."""
        if self._logger is not None:
            self._lib.xlpy_logger_set_min_level(self._logger, _log.min_xtl_level())

    def close(self) -> None:
        """Free the libxl context. Idempotent; no other thread may be using it."""
        ctx = self._ctx
        if ctx is None:
            return
        for w in list(self._watchers):
            w._detach_ctx(ctx)          # disables its death watches while ctx is alive
        self._ctx = None
        self._cell[0] = self._ffi.NULL
        self._lib.libxl_ctx_free(ctx)
        self._lib.xlpy_logger_free(self._logger)
        self._logger = None

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    @property
    def closed(self) -> bool:
        return self._ctx is None

    def _c(self) -> Any:
        ctx = self._ctx
        if ctx is None:
            raise XenlightError(ERROR_FAIL, "fail", "the context is closed")
        return ctx

    # ---- the single check point ----

    def _call(self, fn: Callable[..., int], *args: Any) -> int:
        """Call a libxl function returning an int rc; raise its exception if rc < 0."""
        seq = _log.tls.seq
        rc = fn(*args)
        if rc < 0:
            raise self._error(rc, fn.__name__, _log.since(seq))
        return rc

    def _call_dom(self, fn: Callable[..., int], domid: int, *args: Any) -> int:
        """_call for functions of one domain. libxl reports a missing domain in several ways
        (ERROR_FAIL from most calls, ERROR_LOCK_FAIL from libxl_set_memory_target on Xen
        4.17); the binding tells that case apart: any failure for a domain that does not
        exist is DomainNotFound."""
        ctx = self._c()
        _check_domid(domid)
        seq = _log.tls.seq
        rc = fn(ctx, domid, *args)
        if rc < 0:
            lines = _log.since(seq)
            if rc != ERROR_DOMAIN_NOTFOUND and not self.domain_exists(domid):
                rc = ERROR_DOMAIN_NOTFOUND
                raise self._error(rc, fn.__name__, lines, f"domain {domid} does not exist")
            raise self._error(rc, fn.__name__, lines)
        return rc

    def _error(self, rc: int, function: str, lines: Iterable[str],
               message: str | None = None) -> XenlightError:
        return make_error(rc, self._b.error_name(rc), function, lines, message)

    def _check(self, rc: int, function: str, lines: Iterable[str]) -> int:
        if rc < 0:
            raise self._error(rc, function, lines)
        return rc

    # ---- host ----

    def version_info(self) -> VersionInfo:
        v = self._lib.libxl_get_version_info(self._c())
        if v == self._ffi.NULL:
            raise self._error(ERROR_FAIL, "libxl_get_version_info", ())
        s = self._str
        return VersionInfo(
            v.xen_version_major, v.xen_version_minor, s(v.xen_version_extra), s(v.compiler),
            s(v.compile_by), s(v.compile_domain), s(v.compile_date), s(v.capabilities),
            s(v.changeset), v.virt_start, v.pagesize, s(v.commandline), s(v.build_id))

    def physinfo(self) -> PhysInfo:
        lib = self._lib
        p = self._ffi.new("libxl_physinfo *")
        lib.libxl_physinfo_init(p)
        try:
            self._call(lib.libxl_get_physinfo, self._c(), p)
            return PhysInfo(
                p.threads_per_core, p.cores_per_socket, p.max_cpu_id, p.nr_cpus, p.cpu_khz,
                p.total_pages, p.free_pages, p.scrub_pages, p.outstanding_pages,
                p.sharing_freed_pages, p.sharing_used_frames, p.max_possible_mfn, p.nr_nodes,
                tuple(p.hw_cap), bool(p.cap_hvm), bool(p.cap_pv), bool(p.cap_hvm_directio),
                bool(p.cap_hap), bool(p.cap_shadow), bool(p.cap_iommu_hap_pt_share))
        finally:
            lib.libxl_physinfo_dispose(p)

    def free_memory(self) -> int:
        """Free host memory in KiB."""
        out = self._ffi.new("uint64_t *")
        self._call(self._lib.libxl_get_free_memory, self._c(), out)
        return int(out[0])

    def xen_dmesg(self, clear: bool = False) -> str:
        """The hypervisor's console ring, as ``xl dmesg`` prints it; ``clear`` empties the
        ring after reading it (``xl dmesg -c``)."""
        ffi, lib = self._ffi, self._lib
        ctx = self._c()
        seq = _log.tls.seq
        cr = lib.libxl_xen_console_read_start(ctx, 1 if clear else 0)
        if cr == ffi.NULL:
            raise self._error(ERROR_FAIL, "libxl_xen_console_read_start", _log.since(seq),
                              "cannot read the Xen console ring")
        chunks: list[bytes] = []
        line = ffi.new("char **")
        try:
            while True:
                rc = lib.libxl_xen_console_read_line(ctx, cr, line)
                if rc < 0:
                    raise self._error(rc, "libxl_xen_console_read_line", _log.since(seq))
                if rc == 0:
                    break
                chunks.append(ffi.string(line[0]))   # owned by the reader
        finally:
            lib.libxl_xen_console_read_finish(ctx, cr)
        return b"".join(chunks).decode("utf-8", "replace")

    def send_debug_keys(self, keys: str) -> None:
        """Press Xen's debug keys (``xl debug-keys``); their output goes to the console ring."""
        self._call(self._lib.libxl_send_debug_keys, self._c(),
                   self._ffi.new("char[]", keys.encode("ascii")))

    def primary_console_tty(self, domid: int) -> str:
        """The path of the tty a guest's primary console goes to (libxl_primary_console_
        get_tty: xenconsoled's pty on Xen; the simulator's pty for this process). libxl
        answers ERROR_INVAL for a domain that does not exist (it cannot read its type): that
        is DomainNotFound here; dom0, whose console is Xen's own, has none (ERROR_FAIL)."""
        out = self._ffi.new("char **")
        self._call_dom(self._lib.libxl_primary_console_get_tty, domid, out)
        try:
            return self._ffi.string(out[0]).decode()
        finally:
            self._lib.free(out[0])

    # ---- cpupools and topology ----

    def _pool(self, p: Any) -> CpupoolInfo:
        return CpupoolInfo(int(p.poolid), self._str(p.pool_name),
                           _SCHED_NAMES.get(int(p.sched), "unknown"), int(p.n_dom),
                           self._bitmap_set(p.cpumap))

    def cpupools(self) -> list[CpupoolInfo]:
        """Every cpupool (libxl_list_cpupool), in poolid order."""
        ffi, lib = self._ffi, self._lib
        n = ffi.new("int *")
        seq = _log.tls.seq
        lst = lib.libxl_list_cpupool(self._c(), n)
        if lst == ffi.NULL:
            raise self._error(ERROR_FAIL, "libxl_list_cpupool", _log.since(seq),
                              "cannot list the cpupools")
        try:
            return [self._pool(lst[i]) for i in range(n[0])]
        finally:
            lib.libxl_cpupoolinfo_list_free(lst, n[0])

    def cpupool_info(self, poolid: int) -> CpupoolInfo:
        """One cpupool (libxl_cpupool_info). libxl answers ERROR_FAIL for a pool that does
        not exist; the binding names that case: NotFound."""
        if not isinstance(poolid, int) or isinstance(poolid, bool) or not 0 <= poolid < 1 << 32:
            raise invalid(f"cpupool id {poolid!r} must be a non-negative integer")
        ffi, lib = self._ffi, self._lib
        p = ffi.new("libxl_cpupoolinfo *")
        lib.libxl_cpupoolinfo_init(p)
        try:
            seq = _log.tls.seq
            rc = lib.libxl_cpupool_info(self._c(), p, poolid)
            if rc < 0:
                lines = _log.since(seq)
                if rc == ERROR_FAIL and all(c.poolid != poolid for c in self.cpupools()):
                    raise self._error(ERROR_NOTFOUND, "libxl_cpupool_info", lines,
                                      f"cpupool {poolid} does not exist")
                raise self._error(rc, "libxl_cpupool_info", lines)
            return self._pool(p)
        finally:
            lib.libxl_cpupoolinfo_dispose(p)

    def sched_credit_params(self, poolid: int = 0) -> SchedCreditParams:
        """The credit scheduler's parameters of a cpupool (libxl_sched_credit_params_get;
        ``xl sched-credit``'s pool line). libxl answers ERROR_FAIL for a pool that does not
        exist (or does not run credit); the binding names the first case: NotFound."""
        if not isinstance(poolid, int) or isinstance(poolid, bool) or not 0 <= poolid < 1 << 32:
            raise invalid(f"cpupool id {poolid!r} must be a non-negative integer")
        ffi, lib = self._ffi, self._lib
        p = ffi.new("libxl_sched_credit_params *")
        lib.libxl_sched_credit_params_init(p)
        seq = _log.tls.seq
        rc = lib.libxl_sched_credit_params_get(self._c(), poolid, p)
        if rc < 0:
            lines = _log.since(seq)
            if rc == ERROR_FAIL and all(c.poolid != poolid for c in self.cpupools()):
                raise self._error(ERROR_NOTFOUND, "libxl_sched_credit_params_get", lines,
                                  f"cpupool {poolid} does not exist")
            raise self._error(rc, "libxl_sched_credit_params_get", lines)
        return SchedCreditParams(int(p.tslice_ms), int(p.ratelimit_us),
                                 int(p.vcpu_migr_delay_us))

    def cpu_topology(self) -> list[CpuTopology]:
        """Core, socket and node of each physical CPU (libxl_get_cpu_topology); CPUs libxl
        marks invalid (offline) are left out."""
        ffi, lib = self._ffi, self._lib
        n = ffi.new("int *")
        seq = _log.tls.seq
        lst = lib.libxl_get_cpu_topology(self._c(), n)
        if lst == ffi.NULL:
            raise self._error(ERROR_FAIL, "libxl_get_cpu_topology", _log.since(seq),
                              "cannot read the CPU topology")
        try:
            bad = lib.LIBXL_CPUTOPOLOGY_INVALID_ENTRY
            return [CpuTopology(i, int(t.core), int(t.socket), int(t.node))
                    for i, t in ((i, lst[i]) for i in range(n[0])) if t.core != bad]
        finally:
            lib.libxl_cputopology_list_free(lst, n[0])

    def numa_info(self) -> list[NumaNode]:
        """Each NUMA node's memory (bytes) and distances (libxl_get_numainfo); nodes libxl
        marks invalid are left out."""
        ffi, lib = self._ffi, self._lib
        n = ffi.new("int *")
        seq = _log.tls.seq
        lst = lib.libxl_get_numainfo(self._c(), n)
        if lst == ffi.NULL:
            raise self._error(ERROR_FAIL, "libxl_get_numainfo", _log.since(seq),
                              "cannot read the NUMA information")
        try:
            bad = lib.LIBXL_NUMAINFO_INVALID_ENTRY
            out = []
            for i in range(n[0]):
                e = lst[i]
                if e.size == bad:
                    continue
                out.append(NumaNode(i, int(e.size), int(e.free),
                                    tuple(int(e.dists[j]) for j in range(e.num_dists))))
            return out
        finally:
            lib.libxl_numainfo_list_free(lst, n[0])

    # ---- domains: queries ----

    def domain_info(self, domid: int) -> DomainInfo:
        """The domain's libxl_dominfo. Raises DomainNotFound."""
        # The hottest call of a toolstack: one C call of one argument (the shim keeps this
        # thread's context and record, and refuses a closed context or a domid out of
        # range) fills the packed record, struct unpacks it, DomainInfo keeps the tuple
        # (types.py).
        try:
            token, buf = _info_tls.v
        except AttributeError:
            token = buf = None
        if token is not self._token:
            buf = self._select_info()
        try:
            # cffi would take a bool or an int-like object as a uint32_t: ints only here
            rc = self._info(domid) if type(domid) is int else _REFUSED
        except OverflowError:               # negative or past 32 bits
            rc = _REFUSED
        if rc:
            if rc == _REFUSED:
                self._c()
                _check_domid(domid)
                return self.domain_info(int(domid))     # an int subclass (not bool)
            # the shim counted the lines the failure logged (no log sequence read per call)
            raise self._error(rc, "libxl_domain_info", _log.last(_LINES.unpack_from(buf)[0]),
                              f"domain {domid} does not exist"
                              if rc == ERROR_DOMAIN_NOTFOUND else None)
        info = _new_object(DomainInfo)
        _set_record(info, _unpack_dominfo(buf))
        return info

    def _select_info(self) -> Any:
        """Make this thread's domain_info calls read this context (until the thread calls it
        on another one); returns a buffer over the thread's record in the shim."""
        buf = self._ffi.buffer(self._lib.xlpy_info_select(self._cell), _DOMINFO.size)
        _info_tls.v = (self._token, buf)
        return buf

    def domain_exists(self, domid: int) -> bool:
        try:
            self._call(self._lib.libxl_domain_info, self._c(), self._ffi.NULL, _check_domid(domid))
            return True
        except DomainNotFound:
            return False

    def list_domains(self) -> list[DomainInfo]:
        """Every domain, dom0 included, in domid order."""
        return self._flat_domains(_build_infos)

    def _flat_domains(self, use: Callable[[Any, int], _T]) -> _T:
        """`use(buffer, n)` of every domain's packed record (the shim's flat list, in domid
        order), freed after."""
        ffi, lib = self._ffi, self._lib
        out = ffi.new("void **")
        seq = _log.tls.seq
        n = lib.xlpy_list_domain_flat(self._c(), out)
        lines = _log.since(seq)
        if n < 0:
            raise self._error(n, "libxl_list_domain", lines)
        try:
            return use(ffi.buffer(out[0], n * _DOMINFO.size), n)
        finally:
            lib.free(out[0])

    def sample_domains(self, request: bytes = b"") -> DomainSample:
        """Every domain's dominfo and vCPUs, and the device and guest counters `request`
        asks for (:func:`xenlight_py.sample.request`), read in one C call (sample.py)."""
        ffi, lib = self._ffi, self._lib
        out = ffi.new("void **")
        outlen = ffi.new("size_t *")
        seq = _log_tls.seq
        n = lib.xlpy_sample_domains(self._c(), request, len(request), out, outlen)
        if n < 0:
            raise self._error(n, "libxl_list_domain", _log.since(seq),
                              "malformed sample request" if n == ERROR_INVAL else None)
        try:
            return DomainSample(ffi.buffer(out[0], outlen[0])[:] if outlen[0] else b"", n,
                                ffi, lib)
        finally:
            lib.free(out[0])

    def _domids(self) -> list[int]:
        """Every domain's domid, in domid order: `list_domains` without building the
        records (an every-domain event watch looks at each turn: 1,000 VMs starting made it
        build 1,000 records per start on the event loop)."""
        return self._flat_domains(_domids_of)

    def list_vcpus(self, domid: int) -> list[VcpuInfo]:
        ffi, lib = self._ffi, self._lib
        nb = ffi.new("int *")
        ncpus = ffi.new("int *")
        seq = _log.tls.seq
        lst = lib.libxl_list_vcpu(self._c(), _check_domid(domid), nb, ncpus)
        lines = _log.since(seq)
        if lst == ffi.NULL:
            # libxl returns NULL without a code; tell a missing domain apart.
            if not self.domain_exists(domid):
                raise self._error(ERROR_DOMAIN_NOTFOUND, "libxl_list_vcpu", lines,
                                  f"domain {domid} does not exist")
            raise self._error(ERROR_FAIL, "libxl_list_vcpu", lines)
        try:
            res = []
            for i in range(nb[0]):
                v = lst[i]
                res.append(VcpuInfo(v.vcpuid, v.cpu, bool(v.online), bool(v.blocked),
                                    bool(v.running), v.vcpu_time & _TIME_MASK,
                                    self._bitmap_set(v.cpumap), self._bitmap_set(v.cpumap_soft)))
            return res
        finally:
            lib.libxl_vcpuinfo_list_free(lst, nb[0])

    def start_time(self, domid: int) -> int | None:
        """When the domain was made, in seconds since the epoch (libxl_vm_get_start_time);
        None when libxl does not know (dom0, which libxl did not make). A domain that does
        not exist raises DomainNotFound."""
        seq = _log.tls.seq
        t = self._lib.libxl_vm_get_start_time(self._c(), _check_domid(domid))
        lines = _log.since(seq)
        if t == 0xFFFFFFFF:
            if not self.domain_exists(domid):
                raise self._error(ERROR_DOMAIN_NOTFOUND, "libxl_vm_get_start_time", lines,
                                  f"domain {domid} does not exist")
            return None
        return int(t)

    def domain_uptime(self, domid: int) -> int:
        """Seconds since the domain was made, as ``xl uptime`` counts them: dom0's from
        this machine's /proc/uptime, the others' from :meth:`start_time`."""
        start = self.start_time(domid)
        if start is None:
            if domid != 0:
                raise self._error(ERROR_FAIL, "libxl_vm_get_start_time", (),
                                  f"domain {domid} has no start time")
            with open("/proc/uptime", encoding="ascii") as f:
                return int(float(f.read().split()[0]))
        return max(0, int(time.time()) - start)

    def memory_target(self, domid: int) -> int:
        """The domain's balloon target in KiB."""
        out = self._ffi.new("uint64_t *")
        self._call_dom(self._lib.libxl_get_memory_target, domid, out)
        return int(out[0])

    def domid_to_name(self, domid: int) -> str:
        ffi, lib = self._ffi, self._lib
        seq = _log.tls.seq
        p = lib.libxl_domid_to_name(self._c(), _check_domid(domid))
        lines = _log.since(seq)
        if p == ffi.NULL:
            raise self._error(ERROR_DOMAIN_NOTFOUND, "libxl_domid_to_name", lines,
                              f"domain {domid} does not exist")
        try:
            return str(ffi.string(p).decode())
        finally:
            lib.free(p)

    def name_to_domid(self, name: str) -> int:
        if not isinstance(name, str) or not name:
            raise invalid(f"domain name {name!r} must be a non-empty string")
        out = self._ffi.new("uint32_t *")
        seq = _log.tls.seq
        rc = self._lib.libxl_name_to_domid(self._c(), name.encode(), out)
        lines = _log.since(seq)
        if rc == ERROR_INVAL:
            # libxl's answer for an unknown name: a lookup failure.
            raise self._error(ERROR_DOMAIN_NOTFOUND, "libxl_name_to_domid", lines,
                              f"no domain named {name!r}")
        self._check(rc, "libxl_name_to_domid", lines)
        return int(out[0])

    def lookup(self, domain: int | str) -> int:
        """A domid from a domid, a decimal string or a domain name (as xl accepts)."""
        if isinstance(domain, str):
            return _check_domid(int(domain)) if domain.isdigit() else self.name_to_domid(domain)
        return _check_domid(domain)

    # ---- domains: lifecycle ----

    def create_domain(self, cfg: DomainConfig, paused: bool = False) -> int:
        """Create a domain and return its domid.

        libxl leaves a new domain paused; by default (like ``xl create``) it is unpaused
        here, so it runs. ``paused=True`` returns it still paused. If creation or the unpause
        fails, nothing is left behind (a half-created domain is destroyed). Errors are what
        libxl returned: a domain that does not fit in memory is ERROR_FAIL (XenlightError,
        not OutOfMemory: libxl 4.17 does not say why the build failed, its log does).
        A PVH domain's DomainInfo.domain_type reads HVM (libxl's behaviour).
        """
        if not isinstance(cfg, DomainConfig):
            raise invalid(f"create_domain needs a DomainConfig, not {type(cfg).__name__}")
        ffi, lib = self._ffi, self._lib
        ctx = self._c()
        d = ffi.new("libxl_domain_config *")
        domid = ffi.new("uint32_t *", 0xFFFFFFFF)
        lib.libxl_domain_config_init(d)
        try:
            self._fill_config(d, cfg)
            self._call(lib.libxl_domain_create_new, ctx, d, domid, ffi.NULL, ffi.NULL)
        finally:
            lib.libxl_domain_config_dispose(d)
        return self._finish_create(int(domid[0]), paused)

    def create_restore(self, cfg: DomainConfig, source: str | os.PathLike[str] | int | Any,
                       paused: bool = False) -> int:
        """Create a domain from a stream written by :meth:`suspend`/:meth:`save`.

        ``source`` is a path, or a readable file descriptor (an int, or an object with
        ``fileno()``: a socket, a pipe) that libxl reads exactly the stream from, leaving
        the fd open and positioned after it (xl's migration protocol goes on on the same
        socket). As libxl, the domain is built paused and the stream read into it; a
        truncated or corrupt stream fails (ERROR_FAIL) and leaves no domain. For an incoming
        migration pass ``paused=True`` and unpause at the commit point."""
        if not isinstance(cfg, DomainConfig):
            raise invalid(f"create_restore needs a DomainConfig, not {type(cfg).__name__}")
        ffi, lib = self._ffi, self._lib
        ctx = self._c()
        fd = _as_fd(source)
        own = fd is None
        if own:
            try:
                fd = os.open(source, os.O_RDONLY | os.O_CLOEXEC)
            except (OSError, TypeError) as e:
                raise invalid(f"cannot open the suspend image {source!r}: "
                              f"{getattr(e, 'strerror', None) or e}",
                              "libxl_domain_create_restore") from e
        d = ffi.new("libxl_domain_config *")
        params = ffi.new("libxl_domain_restore_params *")
        domid = ffi.new("uint32_t *", 0xFFFFFFFF)
        lib.libxl_domain_config_init(d)
        lib.libxl_domain_restore_params_init(params)
        # suspend() writes libxl's v2 stream; the init value (1) would send the image
        # through convert-legacy-stream (xl restore sets 2 from its own header too).
        params.stream_version = 2
        try:
            self._fill_config(d, cfg)
            self._call(lib.libxl_domain_create_restore, ctx, d, domid, fd, -1, params,
                       ffi.NULL, ffi.NULL)
        finally:
            lib.libxl_domain_restore_params_dispose(params)
            lib.libxl_domain_config_dispose(d)
            if own:
                os.close(fd)
        return self._finish_create(int(domid[0]), paused)

    def _finish_create(self, domid: int, paused: bool) -> int:
        for w in list(self._watchers):
            w._domain_created(domid)
        if not paused:
            try:
                self.unpause(domid)
            except XenlightError:
                try:
                    self.destroy(domid)
                except XenlightError:
                    pass
                raise
        return domid

    def pause(self, domid: int) -> None:
        self._call_dom(self._lib.libxl_domain_pause, domid, self._ffi.NULL)

    def unpause(self, domid: int) -> None:
        self._call_dom(self._lib.libxl_domain_unpause, domid, self._ffi.NULL)

    def shutdown(self, domid: int) -> None:
        """Ask the guest to shut down; watch events for the outcome. libxl 4.17 waits for
        the guest to acknowledge the request (up to 60 s on real Xen): a guest that does not
        (paused, already shut down, or deaf) raises Timeout (ERROR_TIMEDOUT). The request
        stays in xenstore, so a paused guest still acts on it once unpaused."""
        self._call_dom(self._lib.libxl_domain_shutdown, domid, self._ffi.NULL)

    def reboot(self, domid: int) -> None:
        """Ask the guest to reboot: it shuts down with reason REBOOT; the toolstack then
        destroys and re-creates it (libxl does not restart domains by itself). Timeout as
        :meth:`shutdown` when the guest does not acknowledge."""
        self._call_dom(self._lib.libxl_domain_reboot, domid, self._ffi.NULL)

    def destroy(self, domid: int) -> None:
        self._call_dom(self._lib.libxl_domain_destroy, domid, self._ffi.NULL)

    def suspend(self, domid: int, target: str | os.PathLike[str] | int | Any,
                live: bool = False, in_place: bool = False) -> None:
        """Write the domain's save/migration stream (libxl's v2 format) to ``target``. The
        domain is left shut down with reason SUSPEND: destroy it (or use :meth:`save`), or
        :meth:`resume` it (a failed or cancelled migration).

        ``target`` is a path or a writable file descriptor (an int, or an object with
        ``fileno()``: a socket to the destination host, a pipe). ``live=True`` is
        LIBXL_SUSPEND_LIVE: memory is copied while the guest runs and it is suspended only
        for the last pages (migration); without it the guest suspends first. An fd is
        written as a stream (no seek, no truncation) and left open; a failure (the peer
        went away: ERROR_FAIL) before the guest suspended leaves it running, after that
        suspended (resume it). A path goes to a new file (mode 0600) renamed over ``path``
        on success, so a failure leaves ``path`` as it was; ``in_place=True`` writes into
        ``path`` as it is, from its start, without truncating or replacing it: for a disk (a
        VDI file or a block device) made to hold the image; libxl's restore stops at the
        stream's end."""
        _check_domid(domid)
        self._c()
        flags = self._lib.LIBXL_SUSPEND_LIVE if live else 0
        fd = _as_fd(target)
        if fd is not None:
            self._call_dom(self._lib.libxl_domain_suspend, domid, fd, flags, self._ffi.NULL)
            return
        try:
            path = os.fspath(target)
        except TypeError as e:
            raise invalid(f"suspend needs a path or a file descriptor, not {target!r}",
                          "libxl_domain_suspend") from e
        tmp = path if in_place else f"{path}.partial-{os.getpid()}-{threading.get_ident()}"
        oflags = os.O_WRONLY | os.O_CLOEXEC | (0 if in_place else os.O_CREAT | os.O_EXCL)
        try:
            fd = os.open(tmp, oflags, 0o600)
        except OSError as e:
            raise invalid(f"cannot {'open' if in_place else 'create'} the suspend image "
                          f"{path!r}: {e.strerror}", "libxl_domain_suspend") from e
        ok = False
        try:
            self._call_dom(self._lib.libxl_domain_suspend, domid, fd, flags, self._ffi.NULL)
            os.fsync(fd)
            ok = True
        finally:
            os.close(fd)
            if not in_place:
                if ok:
                    os.replace(tmp, path)
                else:
                    os.unlink(tmp)

    def save(self, domid: int, path: str | os.PathLike[str]) -> None:
        """``xl save``: suspend to ``path``, then destroy the domain."""
        self.suspend(domid, path)
        self.destroy(domid)

    def resume(self, domid: int, suspend_cancel: bool = True) -> None:
        """Resume a domain left in the suspended state (after :meth:`suspend`). This
        context's event streams that watch the domain re-register it, so that its next
        shutdown is reported as well (libxl reports one per registration)."""
        self._call_dom(self._lib.libxl_domain_resume, domid, int(suspend_cancel),
                       self._ffi.NULL)
        for w in list(self._watchers):
            w._domain_resumed(domid)

    def rename(self, domid: int, new_name: str, old_name: str | None = None) -> None:
        check_domain_name(new_name)
        self._call_dom(self._lib.libxl_domain_rename, domid,
                       old_name.encode() if old_name is not None else self._ffi.NULL,
                   new_name.encode())

    # ---- memory and vCPUs ----

    def set_memory_target(self, domid: int, target_kb: int, relative: bool = False,
                          enforce: bool = True) -> None:
        """Set the balloon target (KiB; relative: add target_kb, which may be negative)."""
        if not isinstance(target_kb, int) or (not relative and target_kb <= 0):
            raise invalid(f"memory target {target_kb!r} must be a positive number of KiB")
        self._call_dom(self._lib.libxl_set_memory_target, domid, target_kb, int(relative), int(enforce))

    def set_max_memory(self, domid: int, max_kb: int) -> None:
        if not isinstance(max_kb, int) or max_kb <= 0:
            raise invalid(f"maximum memory {max_kb!r} must be a positive number of KiB")
        self._call_dom(self._lib.libxl_domain_setmaxmem, domid, max_kb)

    def set_vcpus_online(self, domid: int, count: int) -> None:
        """Bring vCPUs 0..count-1 online and the others offline."""
        info = self.domain_info(domid)
        nmax = info.vcpu_max_id + 1
        if not isinstance(count, int) or not 1 <= count <= nmax:
            raise invalid(f"vcpu count {count!r} must be between 1 and {nmax} (the maximum)")
        bm = self._bitmap(range(count), nbits=nmax)
        try:
            self._call_dom(self._lib.libxl_set_vcpuonline, domid, bm, self._ffi.NULL)
        finally:
            self._lib.libxl_bitmap_dispose(bm)

    def set_vcpu_affinity(self, domid: int, vcpuid: int, hard: Iterable[int] | None,
                          soft: Iterable[int] | None = None) -> None:
        """Pin vCPU ``vcpuid`` to the CPUs in ``hard`` (and prefer ``soft``); None leaves
        that affinity unchanged."""
        if hard is None and soft is None:
            raise invalid("give a hard and/or a soft affinity")
        if not isinstance(vcpuid, int) or vcpuid < 0:
            raise invalid(f"vcpu {vcpuid!r} is not a vCPU number")
        ncpus = self._lib.libxl_get_max_cpus(self._c())
        maps = []
        try:
            for cpus in (hard, soft):
                if cpus is None:
                    maps.append(self._ffi.NULL)
                    continue
                cpus = sorted(set(cpus))
                if not cpus or any(not isinstance(c, int) or not 0 <= c < ncpus for c in cpus):
                    raise invalid(f"affinity {cpus} must be a non-empty set of CPUs in "
                                  f"0..{ncpus - 1}")
                maps.append(self._bitmap(cpus, nbits=ncpus))
            self._call_dom(self._lib.libxl_set_vcpuaffinity, domid, vcpuid, maps[0], maps[1])
        finally:
            for m in maps:
                if m != self._ffi.NULL:
                    self._lib.libxl_bitmap_dispose(m)

    # ---- devices ----

    def sched_params(self, domid: int) -> SchedParams:
        """The domain's credit scheduler weight and cap."""
        lib = self._lib
        p = self._ffi.new("libxl_domain_sched_params *")
        lib.libxl_domain_sched_params_init(p)
        try:
            self._call_dom(lib.libxl_domain_sched_params_get, domid, p)
            return SchedParams(int(p.weight), int(p.cap))
        finally:
            lib.libxl_domain_sched_params_dispose(p)

    def set_sched_params(self, domid: int, weight: int | None = None,
                         cap: int | None = None) -> None:
        """Change the domain's weight and/or cap live (None: unchanged). Ranges are checked
        here first (cap against the domain's vCPU count), so a bad value changes nothing."""
        if weight is None and cap is None:
            raise invalid("set_sched_params: give weight, cap or both")
        check_sched(weight, cap, self.domain_info(domid).vcpu_max_id + 1)
        lib = self._lib
        p = self._ffi.new("libxl_domain_sched_params *")
        lib.libxl_domain_sched_params_init(p)
        if weight is not None:
            p.weight = weight
        if cap is not None:
            p.cap = cap
        self._call_dom(lib.libxl_domain_sched_params_set, domid, p)

    def add_disk(self, domid: int, disk: DiskConfig) -> None:
        if not isinstance(disk, DiskConfig):
            raise invalid(f"add_disk needs a DiskConfig, not {type(disk).__name__}")
        ffi, lib = self._ffi, self._lib
        p = ffi.new("libxl_device_disk *")
        lib.libxl_device_disk_init(p)
        try:
            self._fill_disk(p, disk)
            self._call_dom(lib.libxl_device_disk_add, domid, p, ffi.NULL)
        finally:
            lib.libxl_device_disk_dispose(p)

    def disk(self, domid: int, vdev: str) -> DiskConfig:
        """The attached disk ``vdev`` as libxl reads it back from xenstore
        (libxl_vdev_to_device_disk). xenstore does not keep the format: it reads UNKNOWN."""
        ffi = self._ffi
        with self._attached_disk(domid, vdev) as p:
            text = (lambda c: ffi.string(c).decode() if c != ffi.NULL else None)
            return DiskConfig(vdev=vdev, target=text(p.pdev_path) or None,
                              format=DiskFormat(p.format), backend=DiskBackend(p.backend),
                              readwrite=bool(p.readwrite), is_cdrom=bool(p.is_cdrom),
                              script=text(p.script), backend_domid=int(p.backend_domid))

    def _device_list(self, fn: Callable[..., Any], free: Callable[..., None], domid: int,
                     convert: Callable[[Any], Any]) -> list[Any]:
        """libxl's device lists answer NULL and 0 both for a domain without devices and for
        one that does not exist; the binding tells the second apart (DomainNotFound)."""
        ffi = self._ffi
        n = ffi.new("int *")
        seq = _log.tls.seq
        lst = fn(self._c(), _check_domid(domid), n)
        lines = _log.since(seq)
        if lst == ffi.NULL:
            if not self.domain_exists(domid):
                raise self._error(ERROR_DOMAIN_NOTFOUND, fn.__name__, lines,
                                  f"domain {domid} does not exist")
            return []
        try:
            return [convert(lst[i]) for i in range(n[0])]
        finally:
            free(lst, n[0])

    def disks(self, domid: int) -> list[DiskConfig]:
        """The domain's disks as libxl lists them from xenstore (libxl_device_disk_list;
        ``xl block-list``). xenstore does not keep the format: it reads UNKNOWN."""
        ffi = self._ffi
        text = (lambda c: ffi.string(c).decode() if c != ffi.NULL else None)

        def conv(p: Any) -> DiskConfig:
            return DiskConfig(vdev=text(p.vdev) or "", target=text(p.pdev_path) or None,
                              format=DiskFormat(p.format), backend=DiskBackend(p.backend),
                              readwrite=bool(p.readwrite), is_cdrom=bool(p.is_cdrom),
                              script=text(p.script), backend_domid=int(p.backend_domid))
        return self._device_list(self._lib.libxl_device_disk_list,
                                 self._lib.libxl_device_disk_list_free, domid, conv)

    def nics(self, domid: int) -> list[NicConfig]:
        """The domain's nics (libxl_device_nic_list; ``xl network-list``), devid set."""
        ffi = self._ffi
        text = (lambda c: ffi.string(c).decode() if c != ffi.NULL else None)

        def conv(p: Any) -> NicConfig:
            mac = ":".join("%02x" % b for b in bytes(ffi.buffer(p.mac, 6)))
            return NicConfig(mac=mac, bridge=text(p.bridge), mtu=int(p.mtu) if p.mtu > 0 else 0,
                             model=text(p.model), ip=text(p.ip), script=text(p.script),
                             devid=int(p.devid), ifname=text(p.ifname),
                             backend_domid=int(p.backend_domid))
        return self._device_list(self._lib.libxl_device_nic_list,
                                 self._lib.libxl_device_nic_list_free, domid, conv)

    def disk_info(self, domid: int, vdev: str) -> DiskInfo:
        """Disk ``vdev``'s xenstore state (libxl_device_disk_getinfo; ``xl block-list``'s
        state, evt-ch and ring-ref). libxl finds the disk by its device number, so
        ``"51728"`` and ``"xvdb"`` are one disk. A domain that does not exist:
        DomainNotFound; a disk it does not have: NotFound."""
        ffi, lib = self._ffi, self._lib
        if not isinstance(vdev, str) or not vdev:
            raise invalid(f"vdev {vdev!r} must be a device name")
        disk = ffi.new("libxl_device_disk *")
        lib.libxl_device_disk_init(disk)
        info = ffi.new("libxl_diskinfo *")
        lib.libxl_diskinfo_init(info)
        try:
            disk.vdev = self._dup(vdev)
            self._lookup_device(lib.libxl_device_disk_getinfo, domid, disk, info,
                                what=f"disk {vdev}")
            return DiskInfo(self._str(info.backend), int(info.backend_id),
                            self._str(info.frontend), int(info.frontend_id), int(info.devid),
                            int(info.state), int(info.evtch), int(info.rref))
        finally:
            lib.libxl_diskinfo_dispose(info)
            lib.libxl_device_disk_dispose(disk)

    def nic_info(self, domid: int, devid: int) -> NicInfo:
        """Nic ``devid``'s xenstore state (libxl_device_nic_getinfo; ``xl network-list``'s
        state, evt-ch and tx-/rx-ring-ref). A domain that does not exist: DomainNotFound; a
        nic it does not have: NotFound."""
        ffi, lib = self._ffi, self._lib
        if not isinstance(devid, int) or isinstance(devid, bool) or devid < 0:
            raise invalid(f"nic devid {devid!r} must be a non-negative integer")
        nic = ffi.new("libxl_device_nic *")
        lib.libxl_device_nic_init(nic)
        info = ffi.new("libxl_nicinfo *")
        lib.libxl_nicinfo_init(info)
        try:
            nic.devid = devid
            self._lookup_device(lib.libxl_device_nic_getinfo, domid, nic, info,
                                what=f"nic {devid}")
            return NicInfo(self._str(info.backend), int(info.backend_id),
                           self._str(info.frontend), int(info.frontend_id), int(info.devid),
                           int(info.state), int(info.evtch), int(info.rref_tx),
                           int(info.rref_rx))
        finally:
            lib.libxl_nicinfo_dispose(info)
            lib.libxl_device_nic_dispose(nic)

    def remove_disk(self, domid: int, vdev: str) -> None:
        """Unplug disk ``vdev`` (``xl block-detach``): the disk is read back from xenstore
        first, because libxl removes by backend kind, which only the attached disk knows."""
        with self._attached_disk(domid, vdev) as p:
            self._call_dom(self._lib.libxl_device_disk_remove, domid, p, self._ffi.NULL)

    @contextlib.contextmanager
    def _attached_disk(self, domid: int, vdev: str) -> Iterator[Any]:
        """A libxl_device_disk filled from xenstore for the domain's disk ``vdev``."""
        ffi, lib = self._ffi, self._lib
        if not isinstance(vdev, str) or not _VDEV_RE.match(vdev):
            raise invalid(f"vdev {vdev!r} is not a virtual device name like 'xvda' or 'hdc'")
        p = ffi.new("libxl_device_disk *")
        lib.libxl_device_disk_init(p)
        try:
            self._lookup_device(lib.libxl_vdev_to_device_disk, domid, vdev.encode(), p,
                                what=f"disk {vdev}")
            yield p
        finally:
            lib.libxl_device_disk_dispose(p)

    def _lookup_device(self, fn: Callable[..., int], domid: int, key: Any, out: Any,
                       what: str) -> None:
        """libxl's device lookups answer ERROR_FAIL for a device the domain does not have;
        the binding names that case: NotFound."""
        try:
            self._call_dom(fn, domid, key, out)
        except XenlightError as e:
            if e.rc != ERROR_FAIL:
                raise
            raise self._error(ERROR_NOTFOUND, fn.__name__, e.log,
                              f"domain {domid} has no {what}") from None

    def core_dump(self, domid: int, path: str | os.PathLike[str]) -> None:
        """Write the domain's core to ``path`` (``xl dump-core``), replacing the file."""
        target = os.fspath(path)
        if not isinstance(target, str) or not target:
            raise invalid(f"core dump path {path!r} must be a non-empty path")
        self._call_dom(self._lib.libxl_domain_core_dump, domid, target.encode(),
                       self._ffi.NULL)

    def cdrom_insert(self, domid: int, vdev: str, path: str | None,
                     format: DiskFormat = DiskFormat.RAW) -> None:
        """Change the media of the domain's cdrom ``vdev`` to ``path`` (None ejects, as
        ``xl cd-eject``: an empty pdev_path). libxl does this for HVM domains only."""
        ffi, lib = self._ffi, self._lib
        if not isinstance(vdev, str) or not vdev:
            raise invalid(f"vdev {vdev!r} must be a device name")
        if path is not None and (not isinstance(path, str) or not path):
            raise invalid(f"cdrom media path {path!r} must be a non-empty string or None")
        disk = DiskConfig(vdev=vdev, target=path, format=DiskFormat(format), is_cdrom=True,
                          readwrite=False)
        p = ffi.new("libxl_device_disk *")
        lib.libxl_device_disk_init(p)
        try:
            self._fill_disk(p, disk)
            self._call_dom(lib.libxl_cdrom_insert, domid, p, ffi.NULL)
        finally:
            lib.libxl_device_disk_dispose(p)

    def add_nic(self, domid: int, nic: NicConfig) -> int:
        """Hot-plug a nic; returns its devid."""
        if not isinstance(nic, NicConfig):
            raise invalid(f"add_nic needs a NicConfig, not {type(nic).__name__}")
        ffi, lib = self._ffi, self._lib
        p = ffi.new("libxl_device_nic *")
        lib.libxl_device_nic_init(p)
        try:
            self._fill_nic(p, nic)
            self._call_dom(lib.libxl_device_nic_add, domid, p, ffi.NULL)
            return int(p.devid)
        finally:
            lib.libxl_device_nic_dispose(p)

    def remove_nic(self, domid: int, devid: int) -> None:
        """Unplug nic ``devid`` (``xl network-detach``). libxl itself answers success for a
        devid the domain does not have; like xl, the binding looks the nic up first."""
        ffi, lib = self._ffi, self._lib
        if not isinstance(devid, int) or devid < 0:
            raise invalid(f"nic devid {devid!r} must be a non-negative integer")
        p = ffi.new("libxl_device_nic *")
        lib.libxl_device_nic_init(p)
        try:
            self._lookup_device(lib.libxl_devid_to_device_nic, domid, devid, p,
                                what=f"nic {devid}")
            self._call_dom(lib.libxl_device_nic_remove, domid, p, ffi.NULL)
        finally:
            lib.libxl_device_nic_dispose(p)

    def events(self, domids: Iterable[int] | None = None,
               timeout: float | None = None) -> EventStream:
        """A blocking iterator of DomainEvent (shutdown with reason, death) for ``domids``
        (None: every domain that exists now or is created through this Context). Iteration
        ends when no event arrives within ``timeout`` seconds (None: never). Close it (or
        use ``with``) to drop the watches."""
        return EventStream(self, domids, timeout)

    def aevents(self, domids: Iterable[int] | None = None) -> AsyncEventStream:
        """The asyncio form of :meth:`events`: ``async for ev in ctx.aevents(): ...``.
        libxl's fds and timeouts are registered with the running loop (no polling)."""
        return AsyncEventStream(self, domids)

    # ---- simulator control ----

    @property
    def sim(self) -> SimControl:
        """The simulator's control API (sim backend only)."""
        if not self._b.is_sim:
            raise BackendUnavailable(ERROR_FAIL, "fail",
                                     "the simulator control API needs the 'sim' backend")
        if self._sim is None:
            from .sim import SimControl
            self._sim = SimControl(self._b)
        return self._sim

    # ---- C struct helpers ----

    def _str(self, p: Any) -> str:
        return self._ffi.string(p).decode(errors="replace") if p != self._ffi.NULL else ""

    def _dup(self, s: str | None) -> Any:
        # IDL dispose functions free() string fields: they must be malloc'd copies.
        if s is None:
            return self._ffi.NULL
        p = self._lib.xlpy_strdup(s.encode())
        if p == self._ffi.NULL:
            raise MemoryError("strdup failed")
        return p

    def _bitmap(self, bits: Iterable[int], nbits: int) -> Any:
        bm = self._ffi.new("libxl_bitmap *")
        self._lib.libxl_bitmap_init(bm)
        self._call(self._lib.libxl_cpu_bitmap_alloc, self._c(), bm, nbits)
        for b in bits:
            self._lib.libxl_bitmap_set(bm, b)
        return bm

    def _bitmap_set(self, bm: Any) -> frozenset[int]:
        if bm.map == self._ffi.NULL:
            return frozenset()
        return _cpu_set(self._ffi.buffer(bm.map, bm.size)[:])

    def _fill_config(self, d: Any, cfg: DomainConfig) -> None:
        ffi, lib, dup = self._ffi, self._lib, self._dup
        c = d.c_info
        c.type = int(cfg.type)
        c.name = dup(cfg.name)
        if cfg.domid is not None:
            c.domid = cfg.domid
        # libxl keeps a nil uuid as the domain's handle (real Xen 4.17; xl generates one
        # itself): give every domain a uuid, as xl does.
        ffi.memmove(c.uuid.uuid, (_uuid.UUID(cfg.uuid) if cfg.uuid else _uuid.uuid4()).bytes, 16)
        b_ptr = ffi.addressof(d, "b_info")
        lib.libxl_domain_build_info_init_type(b_ptr, int(cfg.type))
        b = d.b_info
        b.max_vcpus = cfg.max_vcpus
        self._call(lib.libxl_cpu_bitmap_alloc, self._c(), ffi.addressof(b, "avail_vcpus"),
                   cfg.max_vcpus)
        for i in range(cfg.vcpus):
            lib.libxl_bitmap_set(ffi.addressof(b, "avail_vcpus"), i)
        if cfg.cpus is not None:
            ncpus = lib.libxl_get_max_cpus(self._c())
            if max(cfg.cpus) >= ncpus:
                raise invalid(f"cpus {sorted(cfg.cpus)} name CPUs beyond the host's {ncpus}")
            self._call(lib.libxl_cpu_bitmap_alloc, self._c(), ffi.addressof(b, "cpumap"), ncpus)
            for i in cfg.cpus:
                lib.libxl_bitmap_set(ffi.addressof(b, "cpumap"), i)
        b.max_memkb = cfg.max_memkb
        b.target_memkb = cfg.memkb
        b.kernel = dup(cfg.kernel)
        b.ramdisk = dup(cfg.ramdisk)
        b.cmdline = dup(cfg.cmdline)
        if cfg.bootloader:
            b.bootloader = dup(cfg.bootloader)
            if cfg.bootloader_args:
                b.bootloader_args = self._string_list(cfg.bootloader_args)
        if cfg.weight is not None:
            b.sched_params.weight = cfg.weight
        if cfg.cap is not None:
            b.sched_params.cap = cfg.cap
        if cfg.type == DomainType.HVM and cfg.boot:
            lib.xlpy_b_info_hvm(b_ptr).boot = dup(cfg.boot)
        if cfg.disks:
            n = len(cfg.disks)
            d.disks = ffi.cast("libxl_device_disk *",
                               self._calloc(n, ffi.sizeof("libxl_device_disk")))
            for i, disk in enumerate(cfg.disks):
                lib.libxl_device_disk_init(d.disks + i)
                d.num_disks = i + 1       # so dispose covers exactly what was initialised
                self._fill_disk(d.disks + i, disk)
        if cfg.nics:
            n = len(cfg.nics)
            d.nics = ffi.cast("libxl_device_nic *", self._calloc(n, ffi.sizeof("libxl_device_nic")))
            for i, nic in enumerate(cfg.nics):
                lib.libxl_device_nic_init(d.nics + i)
                d.num_nics = i + 1
                self._fill_nic(d.nics + i, nic)
        d.on_poweroff = int(cfg.on_poweroff)
        d.on_reboot = int(cfg.on_reboot)
        d.on_crash = int(cfg.on_crash)
        d.on_watchdog = int(cfg.on_watchdog)

    def _calloc(self, n: int, size: int) -> Any:
        p = self._lib.xlpy_calloc(n, size)
        if p == self._ffi.NULL:
            raise MemoryError("calloc failed")
        return p

    def _string_list(self, items: Iterable[str]) -> Any:
        items = list(items)
        arr = self._ffi.cast("char **", self._calloc(len(items) + 1, self._ffi.sizeof("char *")))
        for i, s in enumerate(items):
            arr[i] = self._dup(s)
        return arr

    def _fill_disk(self, p: Any, disk: DiskConfig) -> None:
        dup = self._dup
        p.vdev = dup(disk.vdev)
        p.pdev_path = dup(disk.target)
        p.format = int(disk.format) if disk.target is not None else self._lib.LIBXL_DISK_FORMAT_EMPTY
        p.backend = int(disk.backend)
        p.readwrite = int(disk.readwrite and not disk.is_cdrom)
        p.is_cdrom = int(disk.is_cdrom)
        p.removable = int(disk.is_cdrom)
        p.script = dup(disk.script)
        p.backend_domid = disk.backend_domid

    def _fill_nic(self, p: Any, nic: NicConfig) -> None:
        dup = self._dup
        mac = nic.mac_bytes
        if mac is not None:
            self._ffi.memmove(p.mac, mac, 6)
        p.bridge = dup(nic.bridge)
        if nic.mtu:
            p.mtu = nic.mtu
        p.model = dup(nic.model)
        p.ip = dup(nic.ip)
        p.script = dup(nic.script)
        p.ifname = dup(nic.ifname)
        p.devid = nic.devid
        p.backend_domid = nic.backend_domid
        if nic.rate:
            p.rate_interval_usecs = _NIC_RATE_INTERVAL_US
            p.rate_bytes_per_interval = max(1, nic.rate * _NIC_RATE_INTERVAL_US // 1000000)

    # ---- osevent plumbing (used by events.py) ----

    def _occurred_fd(self, for_libxl: Any, fd: int, events: int, revents: int) -> None:
        ctx = self._ctx
        if ctx is not None:
            self._lib.libxl_osevent_occurred_fd(ctx, for_libxl, fd, events, revents)

    def _occurred_timeout(self, for_libxl: Any) -> None:
        ctx = self._ctx
        if ctx is not None:
            self._lib.libxl_osevent_occurred_timeout(ctx, for_libxl)

    def _add_watcher(self, w: EventStream | AsyncEventStream) -> None:
        with self._watch_lock:
            self._watchers.add(w)

    def __repr__(self) -> str:
        state = "closed" if self._ctx is None else "open"
        return f"<xenlight_py.Context backend={self.backend!r} {state}>"

