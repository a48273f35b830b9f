"""The command table and what a command runs with (its Ctx)."""
from __future__ import annotations

import sys
import time
import xmlrpc.client
from dataclasses import dataclass
from typing import Any, Callable

from xenapi_impl.model import MODEL
from xenapi_impl.xe.fields import NULL_REF, Refs
from xenapi_impl.xe.grammar import Invocation, UsageError
from xenapi_impl.xe.output import Printer, ProgressBar
from xenapi_impl.xe.transport import Api, Failure


class Ctx:
    """One command's run: its parameters, printer and (on first use) the API session."""

    def __init__(self, inv: Invocation, printer: Printer, interactive: bool = False) -> None:
        self.inv = inv
        self.params = inv.params
        self.printer = printer
        self.interactive = interactive          # stdout is a terminal: draw progress bars
        self._api: Api | None = None
        self.refs = Refs(self.call)

    @property
    def api(self) -> Api:
        if self._api is None:
            user, password = self.inv.conn.credentials()
            self._api = Api(self.inv.conn.target(), user, password)
        return self._api

    def close(self) -> None:
        if self._api is not None:
            self._api.close()

    def call(self, method: str, *args: Any) -> Any:
        return self.api.call(method, *args)

    def flag(self, name: str) -> bool:
        return self.inv.flag(name)

    def param(self, name: str) -> str:
        if name not in self.params:
            raise UsageError("Required parameter not found", name)
        return self.params[name]

    def run_task(self, method: str, *args: Any) -> Any:
        """Call ``method`` through its Async form and wait for the task (a progress bar on a
        terminal); the task's result, or its failure raised."""
        m = MODEL.methods.get(method)
        if m is None or not m.is_async:
            return self.call(method, *args)
        task = self.call(f"Async.{method}", *args)
        bar = ProgressBar(sys.stdout) if self.interactive else None
        try:
            while True:
                rec = self.call("task.get_record", task)
                if rec["status"] != "pending":
                    break
                if bar is not None:
                    bar.update(float(rec["progress"]))
                time.sleep(0.1)
        finally:
            if bar is not None:
                bar.finish()
        try:
            self.call("task.destroy", task)
        except Failure:
            pass
        if rec["status"] != "success":
            info = [str(x) for x in rec["error_info"]] or ["INTERNAL_ERROR", rec["status"]]
            raise Failure(info[0], info[1:])
        result = rec.get("result") or ""
        if not result:
            return None
        body = f"<methodResponse><params><param>{result}</param></params></methodResponse>"
        return xmlrpc.client.loads(body)[0][0]

    def ref_text(self, name: str, value: str) -> str:
        """An error parameter as xe shows it: a ref as ``uuid (name-label)``."""
        if not value.startswith("OpaqueRef:") or value == NULL_REF or self._api is None:
            return value
        names = [name] if name else []
        names += [c for c in MODEL.classes if c.lower() not in names]
        for cls in names:
            c = MODEL.find_class(cls)
            if c is None or "get_uuid" not in c.messages:
                continue
            try:
                uuid = self.call(f"{c.name}.get_uuid", value)
            except Failure:
                continue
            if "get_name_label" in c.messages:
                try:
                    return f"{uuid} ({self.call(f'{c.name}.get_name_label', value)})"
                except Failure:
                    pass
            return uuid
        return value

Run = Callable[[Ctx], None]


@dataclass
class Spec:
    """A command: its required and optional parameters, help text, implementation; standard
    ones are listed by ``xe help``."""

    name: str
    reqd: list[str]
    optn: list[str]
    help: str
    run: Run
    standard: bool = False
    vm_selectors: bool = False


class Table:
    def __init__(self) -> None:
        self.specs: dict[str, Spec] = {}

    def add(self, spec: Spec) -> None:
        self.specs[spec.name] = spec

    def get(self, name: str) -> Spec | None:
        return self.specs.get(name)

    def names(self) -> list[str]:
        return sorted(self.specs)
