"""The server's own logging, as the host record's `logging` map describes it.

Keys (anything else is refused):
    level            root level of the process's loggers (debug|info|warning|error|critical,
                     any case); absent: the level the server started with (--log-level)
    level:<logger>   one logger's level (`level:xenapi_impl.server.http`, `level:xenlight`)
    syslog           "true"/"false": also log to the local syslog (/dev/log)
    file             absolute path: also log there (WatchedFileHandler: logrotate-safe); "" none

`parse` validates a whole map without side effects (so a bad map is refused before it is
stored); `LOGCONFIG.apply` brings the process in line with a map. Logging is process-wide,
hence one `LOGCONFIG` per process. A key absent from the map means its default: levels we
changed go back to what they were before we first changed them, handlers we added go away.
"""
from __future__ import annotations

import logging
import logging.handlers
import os
import re
import stat
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping

if TYPE_CHECKING:
    from .server.app import Services

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR, "critical": logging.CRITICAL}
LEVEL_PREFIX = "level:"
ROOT = ""                           # logger name of the `level` key
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"      # as cli.py's stderr log
SYSLOG_FORMAT = "xenapi-server[%(process)d]: %(levelname)s %(name)s: %(message)s"
DEFAULT_SYSLOG_ADDRESS = "/dev/log"
TAIL_BYTES = 64 * 1024
log = logging.getLogger(__name__)
_LOGGER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z_][A-Za-z0-9_\-]*)*\Z")


class LoggingConfigError(ValueError):
    """One key of the map is unknown or has a bad value (XenAPI: INVALID_VALUE [key, value])."""

    def __init__(self, key: str, value: str, reason: str) -> None:
        super().__init__(f"logging key {key!r} = {value!r}: {reason}")
        self.key = key
        self.value = value
        self.reason = reason


@dataclass(frozen=True)
class Settings:
    """A validated `logging` map."""

    levels: dict[str, int] = field(default_factory=dict)    # logger name ("" root) -> level
    syslog: bool = False
    file: str = ""


def _parse_bool(key: str, value: str) -> bool:
    low = value.lower()
    if low not in ("true", "false"):
        raise LoggingConfigError(key, value, 'expected "true" or "false"')
    return low == "true"


def _check_file(key: str, path: str) -> None:
    """The file can be opened for appending (checked without creating it)."""
    if "\0" in path or not os.path.isabs(path):
        raise LoggingConfigError(key, path, "expected an absolute path")
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        raise LoggingConfigError(key, path, f"directory {directory} does not exist")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if not os.access(directory, os.W_OK | os.X_OK):
            raise LoggingConfigError(key, path, f"directory {directory} is not writable")
        return
    except OSError as exc:
        raise LoggingConfigError(key, path, exc.strerror or str(exc)) from None
    if not stat.S_ISREG(st.st_mode):
        raise LoggingConfigError(key, path, "not a regular file")
    if not os.access(path, os.W_OK):
        raise LoggingConfigError(key, path, "not writable")


def _check_syslog(key: str, value: str, address: str) -> None:
    try:
        ok = stat.S_ISSOCK(os.stat(address).st_mode)
    except OSError:
        ok = False
    if not ok:
        raise LoggingConfigError(key, value, f"no syslog socket at {address}")


def parse(mapping: Mapping[str, str], *, syslog_address: str = DEFAULT_SYSLOG_ADDRESS
          ) -> Settings:
    """Validate a whole map (keys in sorted order, so the first error reported is stable)."""
    levels: dict[str, int] = {}
    syslog = False
    path = ""
    for key in sorted(mapping):
        value = mapping[key]
        if key == "level" or key.startswith(LEVEL_PREFIX):
            name = ROOT if key == "level" else key[len(LEVEL_PREFIX):]
            if key != "level" and not _LOGGER_NAME.match(name):
                raise LoggingConfigError(key, value, "not a logger name")
            level = LEVELS.get(value.lower())
            if level is None:
                raise LoggingConfigError(key, value, "expected one of " + ", ".join(LEVELS))
            levels[name] = level
        elif key == "syslog":
            syslog = _parse_bool(key, value)
            if syslog:
                _check_syslog(key, value, syslog_address)
        elif key == "file":
            if value:
                _check_file(key, value)
            path = value
        else:
            raise LoggingConfigError(key, value, "unknown key")
    return Settings(levels, syslog, path)


class LogConfig:
    """What this process's logging currently is, relative to the map last applied."""

    def __init__(self, *, syslog_address: str = DEFAULT_SYSLOG_ADDRESS) -> None:
        self.syslog_address = syslog_address
        #: the server's own log file, if it writes one (get_log falls back to it)
        self.server_log_file: str | None = None
        self._lock = threading.Lock()
        self._saved_levels: dict[str, int] = {}     # logger -> its level before we set it
        self._file: logging.FileHandler | None = None
        self._syslog: logging.Handler | None = None
        self.settings = Settings()

    def parse(self, mapping: Mapping[str, str]) -> Settings:
        return parse(mapping, syslog_address=self.syslog_address)

    @property
    def file(self) -> str:
        """The log file configured by the map ("" if none is open)."""
        return self._file.baseFilename if self._file is not None else ""

    def apply(self, mapping: Mapping[str, str]) -> list[LoggingConfigError]:
        """Make the process log as `mapping` says. Keys that are invalid now (the directory of
        `file` went away since it was stored...) are left at their defaults and returned, so a
        stored map never stops the server from starting."""
        good: dict[str, str] = {}
        errors: list[LoggingConfigError] = []
        for key, value in mapping.items():
            try:
                self.parse({key: value})
            except LoggingConfigError as exc:
                errors.append(exc)
            else:
                good[key] = value
        wanted = self.parse(good)
        with self._lock:
            self._apply_levels(wanted.levels)
            self._apply_file(wanted.file, errors)
            self._apply_syslog(wanted.syslog, errors)
            self.settings = Settings(dict(wanted.levels), self._syslog is not None, self.file)
        return errors

    def reset(self) -> None:
        """Back to the defaults (what an empty map means)."""
        self.apply({})

    # --- the parts ---------------------------------------------------------------------
    def _apply_levels(self, levels: dict[str, int]) -> None:
        for name in list(self._saved_levels):
            if name not in levels:
                logging.getLogger(name or None).setLevel(self._saved_levels.pop(name))
        for name, level in levels.items():
            logger = logging.getLogger(name or None)
            self._saved_levels.setdefault(name, logger.level)
            logger.setLevel(level)

    def _apply_file(self, path: str, errors: list[LoggingConfigError]) -> None:
        if self.file == (os.path.abspath(path) if path else ""):
            return
        if self._file is not None:
            logging.getLogger().removeHandler(self._file)
            self._file.close()
            self._file = None
        if path:
            try:
                handler = logging.handlers.WatchedFileHandler(path, encoding="utf-8")
            except OSError as exc:
                errors.append(LoggingConfigError("file", path, exc.strerror or str(exc)))
                return
            handler.setFormatter(logging.Formatter(FORMAT))
            logging.getLogger().addHandler(handler)
            self._file = handler

    def _apply_syslog(self, on: bool, errors: list[LoggingConfigError]) -> None:
        if not on and self._syslog is not None:
            logging.getLogger().removeHandler(self._syslog)
            self._syslog.close()
            self._syslog = None
        elif on and self._syslog is None:
            try:
                handler = logging.handlers.SysLogHandler(address=self.syslog_address)
            except OSError as exc:
                errors.append(LoggingConfigError("syslog", "true", exc.strerror or str(exc)))
                return
            handler.setFormatter(logging.Formatter(SYSLOG_FORMAT))
            logging.getLogger().addHandler(handler)
            self._syslog = handler

    # --- reading the log back ----------------------------------------------------------
    def tail(self, max_bytes: int = TAIL_BYTES) -> str:
        """The last `max_bytes` of the configured file (else the server's own log file), from
        the first whole line; "" when the server writes no log file."""
        path = self.file or self.server_log_file
        if not path:
            return ""
        try:
            with open(path, "rb") as f:
                size = f.seek(0, os.SEEK_END)
                start = max(0, size - max_bytes)
                f.seek(start)
                data = f.read(max_bytes)
        except FileNotFoundError:       # rotated away and not written since
            return ""
        if start > 0:
            cut = data.find(b"\n")
            data = data[cut + 1:] if cut >= 0 else b""
        return data.decode("utf-8", "replace")


LOGCONFIG = LogConfig()


def apply_stored(services: "Services") -> None:
    """Apply this host's stored `logging` map (at start, and after a change is committed)."""
    rec = services.store.get("host", services.host_ref)
    if rec is None:
        return
    mapping = dict(rec.get("logging") or {})
    for err in LOGCONFIG.apply(mapping):
        log.warning("host logging: %s; left at its default", err)
    changed = getattr(services.backend, "logging_changed", None)
    if changed is not None:
        changed()                   # libxl filters its messages in C: tell it the new levels
    if mapping:
        log.info("host logging applied: %s", ", ".join(f"{k}={v}" for k, v in
                                                         sorted(mapping.items())))
