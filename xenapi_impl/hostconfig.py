"""The seam through which host messages change dom0's own configuration (timezone, NTP, the
clock, hostname, ssh, the firewall's port 80, syslog, Xen boot options...).

The API layer validates a setting, records it in the host record and hands it to
`HostConfig.apply`. The only implementation is `Recorder`: it changes nothing on the machine
the server runs on (on the simulator and in tests that machine is not the simulated host, and
it must never be reconfigured by a test). It keeps what was applied, in order, in memory and,
when given a path, in a JSON journal (so it survives a restart and a test driving a real
server process can see what reached the host). The simulated host's clock follows
`host.set_servertime` through `now()`; no NTP client runs for it (its servers are reported
unreachable, its clock not synchronised); nothing of the machine is read or written.
On a dom0 (`xenapi-server serve --manage-host-config`), `SystemTools` records likewise and
makes the settings systemd's tools can change take effect: time zone, NTP on/off, the clock,
the hostname, sshd (timedatectl, hostnamectl, systemctl); the others are recorded only.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import subprocess
import tempfile
from typing import Any, Protocol

from .errors import XenAPIError


class HostConfig(Protocol):
    """Where dom0 settings go."""

    def apply(self, setting: str, value: Any) -> None:
        """Make `setting` (e.g. "timezone", "ntp", "ssh", "hostname") take `value`."""

    def now(self) -> _dt.datetime:
        """The host's clock (UTC)."""

    def setting(self, setting: str) -> Any:
        """The value `setting` has now (None: never set)."""

    def ntp_status(self, servers: list[str]) -> dict[str, str]:
        """chrony's view of each of `servers` (synced, combined, unreachable...)."""

    def ntp_synchronized(self) -> bool:
        """Whether the clock is synchronised with its NTP servers."""


class Recorder:
    """Applies nothing to the machine: records every setting (and a clock offset)."""

    def __init__(self, journal: str | None = None) -> None:
        self.journal = journal
        self.applied: list[tuple[str, Any]] = []
        self.clock_offset = 0.0
        if journal is not None and os.path.exists(journal):
            with open(journal) as f:
                saved = json.load(f)
            self.applied = [(s, v) for s, v in saved.get("applied", [])]
            self.clock_offset = float(saved.get("clock_offset", 0.0))

    #: the host's clock is simulated (an offset kept here), not the machine's
    simulated_clock = True

    def apply(self, setting: str, value: Any) -> None:
        if setting == "servertime" and self.simulated_clock:
            when = value if isinstance(value, _dt.datetime) else _dt.datetime.fromisoformat(value)
            self.clock_offset = (when - _dt.datetime.now(_dt.timezone.utc)).total_seconds()
        self.applied.append((setting, _plain(value)))
        self._save()

    def now(self) -> _dt.datetime:
        return _dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(seconds=self.clock_offset)

    def setting(self, setting: str) -> Any:
        return next((v for s, v in reversed(self.applied) if s == setting), None)

    def ntp_status(self, servers: list[str]) -> dict[str, str]:
        """No NTP client runs for the simulated host: no server is reached."""
        return {s: "unreachable" for s in servers}

    def ntp_synchronized(self) -> bool:
        return False

    def _save(self) -> None:
        if self.journal is None:
            return
        data = json.dumps({"applied": self.applied, "clock_offset": self.clock_offset},
                          indent=1).encode()
        directory = os.path.dirname(os.path.abspath(self.journal))
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-hostconfig-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, self.journal)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise


#: how long a system tool may take before the setting is refused
TOOL_TIMEOUT = 30.0


class SystemTools(Recorder):
    """dom0: each setting systemd's tools know is made on the machine first (a tool that fails
    refuses the setting: INTERNAL_ERROR with its message, nothing recorded), then recorded."""

    simulated_clock = False

    def __init__(self, journal: str | None = None, ssh_unit: str = "sshd") -> None:
        super().__init__(journal)
        self.ssh_unit = ssh_unit

    def commands(self, setting: str, value: Any) -> list[list[str]]:
        """The commands that make `setting` take `value` (none: recorded only)."""
        if setting == "timezone":
            return [["timedatectl", "set-timezone", str(value)]]
        if setting == "ntp":
            return [["timedatectl", "set-ntp", "false" if value["mode"] == "Disabled" else "true"]]
        if setting == "servertime":
            when = value.astimezone(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
            return [["timedatectl", "set-time", when]]
        if setting == "hostname":
            return [["hostnamectl", "set-hostname", str(value)]]
        if setting == "ssh":
            verb = "enable" if value["enabled"] else "disable"
            return [["systemctl", verb, "--now", self.ssh_unit]]
        return []

    def apply(self, setting: str, value: Any) -> None:
        for argv in self.commands(setting, value):
            _run(argv)
        super().apply(setting, value)

    def ntp_synchronized(self) -> bool:
        out = _run(["timedatectl", "show", "--property=NTPSynchronized", "--value"])
        return out.strip() == "yes"


def _run(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=TOOL_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise XenAPIError("INTERNAL_ERROR", f"{argv[0]}: {exc}") from None
    if done.returncode != 0:
        why = (done.stderr or done.stdout).strip() or f"exit status {done.returncode}"
        raise XenAPIError("INTERNAL_ERROR", f"{' '.join(argv)}: {why}")
    return done.stdout


def _plain(value: Any) -> Any:
    """A JSON-able copy (datetimes as ISO strings)."""
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    return value


def host_config(services: Any) -> HostConfig:
    """The services' seam (an in-memory Recorder when none was configured)."""
    if services.host_config is None:
        services.host_config = Recorder()
    return services.host_config
