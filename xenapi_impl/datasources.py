"""What each data source the monitor measures is: xapi's name, description, units, range, and
whether it is recorded by default ("standard") or only once `record_data_source` asks.

The names are the reference's (xcp-rrdd's): a VM's `cpu0`, `memory`, `memory_internal_free`,
`vbd_xvda_read`, `vif_0_tx`; a host's `cpu0`, `cpu_avg`, `memory_total_kib`, `loadavg`; an
SR's `io_throughput_read`. A name with a device in it is matched by its pattern.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

INF = math.inf


@dataclass(frozen=True)
class Info:
    """One data source's description (the data_source record's fixed fields)."""
    description: str
    units: str
    min: float = 0.0
    max: float = INF
    standard: bool = True


# (owner kind, name pattern, Info); `{0}` in a description is the pattern's first group
_CATALOGUE: tuple[tuple[str, str, Info], ...] = (
    ("vm", r"cpu(\d+)", Info("CPU{0} usage", "(fraction)", 0.0, 1.0)),
    ("vm", r"memory", Info("Memory currently allocated to VM", "B")),
    ("vm", r"memory_internal_free",
     Info("Memory free as reported by the guest agent", "KiB")),
    ("vm", r"vbd_([a-z0-9]+)_read", Info("Reads from device {0} in bytes per second", "B/s")),
    ("vm", r"vbd_([a-z0-9]+)_write", Info("Writes to device {0} in bytes per second", "B/s")),
    ("vm", r"vbd_([a-z0-9]+)_io_throughput_read",
     Info("Data read from the VDI of device {0}, in MiB/s", "MiB/s", standard=False)),
    ("vm", r"vbd_([a-z0-9]+)_io_throughput_write",
     Info("Data written to the VDI of device {0}, in MiB/s", "MiB/s", standard=False)),
    ("vm", r"vif_(\d+)_rx",
     Info("Bytes per second received on virtual interface number '{0}'", "B/s")),
    ("vm", r"vif_(\d+)_tx",
     Info("Bytes per second transmitted on virtual interface number '{0}'", "B/s")),
    ("host", r"cpu(\d+)", Info("Physical cpu usage for cpu {0}", "(fraction)", 0.0, 1.0)),
    ("host", r"cpu_avg", Info("Average physical cpu usage", "(fraction)", 0.0, 1.0)),
    ("host", r"memory_total_kib", Info("Total amount of memory in the host", "KiB")),
    ("host", r"memory_free_kib", Info("Total amount of free memory", "KiB")),
    ("host", r"loadavg", Info("Domain0 loadavg", "")),
    ("sr", r"io_throughput_read", Info("Data read from the SR", "MiB/s")),
    ("sr", r"io_throughput_write", Info("Data written to the SR", "MiB/s")),
    ("sr", r"io_throughput_total",
     Info("All SR I/O (reads and writes)", "MiB/s", standard=False)),
)
_COMPILED = [(kind, re.compile(pattern), info) for kind, pattern, info in _CATALOGUE]


@lru_cache(maxsize=4096)        # the monitor asks for every sample: names repeat
def describe(kind: str, name: str) -> Info | None:
    """The description of `kind`'s ("vm", "host", "sr") source `name`; None if unknown."""
    for k, pattern, info in _COMPILED:
        if k == kind:
            m = pattern.fullmatch(name)
            if m is not None:
                if m.groups():
                    return Info(info.description.format(*m.groups()), info.units, info.min,
                                info.max, info.standard)
                return info
    return None


def standard(kind: str, name: str) -> bool:
    """Whether the source is recorded without being asked (unknown names are: a source the
    monitor measures is kept unless the catalogue says otherwise)."""
    info = describe(kind, name)
    return info is None or info.standard
