"""Runs the real `xenapi-server serve` as a subprocess for client tests."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from typing import Any

VENV_BIN = os.path.dirname(sys.executable)
SERVER = os.path.join(VENV_BIN, "xenapi-server")
_LISTEN = re.compile(r"listening on (https?)://[^ ]*?:(\d+)/")


class ServerProcess:
    def __init__(self, workdir: str, *, http: bool = True, https: bool = False,
                 unix: bool = False, db: str | None = None, extra: list[str] | None = None,
                 state_dir: str | None = None, env: dict[str, str] | None = None,
                 preexec_fn: Any = None) -> None:
        self.workdir = workdir
        self.db = db or os.path.join(workdir, "xapi.db")
        # a shared (postgresql://) database keeps this host's own files in --state-dir
        self.password_file = (os.path.join(state_dir, "xapi.root-password") if state_dir
                              else self.db + ".root-password")
        self.env = {**os.environ, **env} if env else None
        self.log_path = os.path.join(workdir, "server.log")
        self.unix_path = os.path.join(workdir, "xapi-sock") if unix else None
        self.cert = os.path.join(workdir, "server.pem")
        args = [SERVER, "serve", "--backend", "sim", "--db", self.db, "--log-level", "INFO"]
        if http:
            args += ["--http", "127.0.0.1:0"]
        if https:
            args += ["--https", "127.0.0.1:0", "--cert", self.cert]
        if unix:
            args += ["--unix", self.unix_path]
        if state_dir:
            args += ["--state-dir", state_dir]
        self.args = args + (extra or [])
        self.preexec_fn = preexec_fn      # e.g. lowering RLIMIT_NOFILE before exec
        self.proc: subprocess.Popen[bytes] | None = None
        self.ports: dict[str, int] = {}

    def start(self, timeout: float = 30) -> "ServerProcess":
        return self.launch().ready(timeout)

    def launch(self) -> "ServerProcess":
        """Start the process without waiting for it (`ready` does): several start at once."""
        self._log = open(self.log_path, "ab")
        self._offset = self._log.tell()        # the log may hold earlier runs: read past them
        self.proc = subprocess.Popen(self.args, stdout=self._log, stderr=subprocess.STDOUT,
                                     env=self.env, preexec_fn=self.preexec_fn)
        return self

    def ready(self, timeout: float = 30) -> "ServerProcess":
        """Wait until the launched server serves on every listener asked for."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        wanted = {a.lstrip("-") for a in self.args if a in ("--http", "--https")}
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            text = self.log()
            self.ports = {m.group(1): int(m.group(2)) for m in _LISTEN.finditer(text)}
            if "serving" in text and wanted <= set(self.ports):
                return self
            time.sleep(0.02)         # (a start takes 0.6-0.9 s: poll finely)
        raise RuntimeError(f"server did not start:\n{self.log()}")

    def log(self) -> str:
        """This run's log."""
        with open(self.log_path, "rb") as f:
            f.seek(getattr(self, "_offset", 0))
            return f.read().decode("utf-8", "replace")

    def status(self, key: str) -> int:
        """A /proc/<pid>/status figure of the server (VmRSS, VmHWM: kB)."""
        assert self.proc is not None
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        raise KeyError(key)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['http']}"

    @property
    def https_url(self) -> str:
        return f"https://127.0.0.1:{self.ports['https']}"

    @property
    def password(self) -> str:
        with open(self.password_file) as f:
            return f.read().strip()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self._log.close()

    def stop(self, timeout: float = 30) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()
        return self.proc.returncode

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
