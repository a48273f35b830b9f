"""Domain samples: what a metrics round reads of every domain, in one C call.

:meth:`Context.sample_domains` returns a :class:`DomainSample`: for every domain (dom0
included) its dominfo, its vCPUs and the counters of the devices and guest agent named in the
request, read back to back by the shim (``decl/shim.h``, ``xlpy_sample_domains``) and packed
into one buffer, so that a monitor round costs one Python call instead of several per domain.
The device counters come from the backend's own source: blkback's and netback's sysfs
counters on a real host, the simulator's control API on the simulated one; the guest agent's
only exist on the simulator.

Records are parsed with one struct per record layout (vCPU, disk and NIC counts), cached.
"""
from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

from .errors import ERROR_INVAL
from .types import DomainInfo

#: libxl_dominfo as the shim's flat record holds it (DomainInfo's fields, in order)
DOMINFO_FORMAT = "I36sI6?i6Q3IBi"
VDEV_LEN = 32                   # XLPY_VDEV_LEN: a disk name in a request, NUL-padded

_REQ = struct.Struct("<IHHB3x")
_HEAD = struct.Struct("<IIqq" + DOMINFO_FORMAT + "iHHB")
_INFO_AT = 4                    # where the dominfo fields start in a head
_INFO_END = _INFO_AT + len(DomainInfo._fields)


class DomainRecord(NamedTuple):
    """One domain of a sample. Stamps are CLOCK_MONOTONIC ns (``time.monotonic_ns``)."""
    domid: int
    cpu_stamp: int              # right after its vCPUs were read
    stamp: int                  # after its device and guest counters were read
    info: tuple                 # DomainInfo's fields as the shim packs them (uuid: bytes)
    vcpus: tuple[tuple[int, int, bool, bool, bool, int], ...] | None
    #  (vcpuid, cpu, online, blocked, running, vcpu_time ns); None: the domain just died
    disks: tuple[tuple[bool, int, int, bytes], ...]   # (read ok, bytes read, written, vdev)
    nics: tuple[tuple[bool, int, int, bytes], ...]    # (read ok, bytes received, sent, devid)
    guest: tuple[bool, int, int, bytes, bytes, bytes] | None
    #  (read ok, mem_total_kb, mem_free_kb, os_name, os_kernel, ipv4), None if not asked

    @property
    def domain_info(self) -> DomainInfo:
        return DomainInfo._from_record(self.info)


def request(domains: Iterable[tuple[int, Sequence[str], Sequence[int], bool]]) -> bytes:
    """A sample request: per domain (domid, disk names, NIC devids, read the guest agent).
    Domains not named get their dominfo and vCPUs only. A disk name that does not fit
    (VDEV_LEN bytes, ASCII) is asked as "" and reads as not ok."""
    parts: list[bytes] = []
    for domid, disks, nics, guest in domains:
        parts.append(_REQ.pack(domid, len(disks), len(nics), bool(guest)))
        for name in disks:
            raw = name.encode("ascii", "replace")
            parts.append(raw.ljust(VDEV_LEN, b"\0") if len(raw) < VDEV_LEN else
                         bytes(VDEV_LEN))
        if nics:
            parts.append(struct.pack(f"<{len(nics)}i", *nics))
    return b"".join(parts)


@lru_cache(maxsize=256)
def _body(nvcpus: int, ndev: int, guest: bool) -> tuple[struct.Struct, int, int]:
    """The struct of a record's body and where its devices and guest start in the tuple."""
    fmt = "<" + "II???Q" * nvcpus + "?QQ32s" * ndev + ("?QQ64s64s40s" if guest else "")
    return struct.Struct(fmt), 6 * nvcpus, 6 * nvcpus + 4 * ndev


def _groups(flat: tuple, start: int, end: int, width: int) -> tuple[tuple, ...]:
    return tuple(flat[i:i + width] for i in range(start, end, width))


def _guest(g: tuple) -> tuple:
    ok, total, free, name, kernel, ipv4 = g
    return (ok, total, free, name.rstrip(b"\0"), kernel.rstrip(b"\0"), ipv4.rstrip(b"\0"))


class DomainSample:
    """A sample's packed records (``data``: ``count`` records, in libxl's domain order)."""
    __slots__ = ("data", "count", "_lib", "_ffi")

    def __init__(self, data: bytes, count: int, ffi: Any = None, lib: Any = None) -> None:
        self.data = data
        self.count = count
        self._ffi = ffi
        self._lib = lib

    def __len__(self) -> int:
        return self.count

    def record_at(self, off: int) -> DomainRecord:
        """The record at byte offset `off` (a derived record's ``sample_off``)."""
        data = self.data
        h = _HEAD.unpack_from(data, off)
        nv, nd, nn, g = h[_INFO_END:]
        body, dev_at, guest_at = _body(max(nv, 0), nd + nn, bool(g))
        flat = body.unpack_from(data, off + _HEAD.size)
        return DomainRecord(
            h[0], h[2], h[3], h[_INFO_AT:_INFO_END],
            _groups(flat, 0, dev_at, 6) if nv >= 0 else None,
            _groups(flat, dev_at, dev_at + 4 * nd, 4),
            _groups(flat, dev_at + 4 * nd, guest_at, 4),
            _guest(flat[guest_at:]) if g else None)

    def offsets(self) -> list[int]:
        out, off, data, head = [], 0, self.data, _SIZE.unpack_from
        for _ in range(self.count):
            out.append(off)
            off += head(data, off + 4)[0]
        return out

    def records(self) -> list[DomainRecord]:
        return [self.record_at(off) for off in self.offsets()]

    def derive(self, prev: DomainSample | None, prev_derived: Derived | None,
               nr_cpus: int) -> Derived:
        """This sample against the previous one (decl/shim.h, xlpy_sample_derive)."""
        ffi, lib = self._ffi, self._lib
        out = ffi.new("void **")
        outlen = ffi.new("size_t *")
        pcpu = ffi.new("double[]", max(nr_cpus, 1))
        load = ffi.new("double[2]")
        pdata = prev.data if prev is not None and prev.data else ffi.NULL
        ddata = prev_derived.data if prev_derived is not None and prev_derived.data else \
            ffi.NULL
        n = lib.xlpy_sample_derive(pdata, len(prev.data) if pdata else 0, self.data,
                                   len(self.data), ddata,
                                   len(prev_derived.data) if ddata else 0, nr_cpus, pcpu,
                                   load, out, outlen)
        if n == ERROR_INVAL:    # not buffers the shim wrote
            raise ValueError("not a sample (or derivation) written by sample_domains/derive")
        if n < 0:
            raise MemoryError("cannot derive the sample")
        try:
            data = ffi.buffer(out[0], outlen[0])[:] if outlen[0] else b""
        finally:
            lib.free(out[0])
        return Derived(data, n, ffi.unpack(pcpu, nr_cpus) if nr_cpus > 0 else [],
                       load[0], int(load[1]))


# the derived record's head (decl/shim.h xlpy_derived_head): domid, size, sample_off,
# store_size, nseries, nraw, regular, same, guest_ok
DERIVED_HEAD = struct.Struct("<IIIIHH???")
_SIZE = struct.Struct("<I")


class Derived:
    """A derivation (DomainSample.derive): per domain its head (DERIVED_HEAD), the values its
    records show (``store_size`` bytes), ``nseries`` series doubles (regular layouts), then
    ``nraw`` doubles: the utilisation of each vCPU and two rates per device (NaN: none)."""
    __slots__ = ("data", "count", "pcpu", "load", "nload")

    def __init__(self, data: bytes, count: int, pcpu: list[float], load: float,
                 nload: int) -> None:
        self.data = data
        self.count = count
        self.pcpu = pcpu            # each pCPU's summed vCPU utilisation (uncapped)
        self.load = load            # the sum of every utilisation, in the monitor's order
        self.nload = nload          # how many utilisations were summed

    def index(self) -> dict[int, int]:
        """domid -> the offset of its derived record."""
        out, off, data, head = {}, 0, self.data, _SIZE.unpack_from
        for _ in range(self.count):
            out[head(data, off)[0]] = off
            off += head(data, off + 4)[0]
        return out


__all__ = ["DERIVED_HEAD", "DOMINFO_FORMAT", "Derived", "DomainRecord", "DomainSample",
           "VDEV_LEN", "request"]
