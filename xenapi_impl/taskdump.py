"""SIGUSR1: write every asyncio task's stack to the log, for a server that seems stuck
(`kill -USR1 <pid>`; the tests' fault harness does it before it gives up on a host)."""
from __future__ import annotations

import asyncio
import io
import logging
import signal

log = logging.getLogger(__name__)


def dump_tasks() -> str:
    out = io.StringIO()
    tasks = asyncio.all_tasks()
    out.write(f"{len(tasks)} asyncio tasks:\n")
    for task in tasks:
        task.print_stack(limit=30, file=out)
    return out.getvalue()


def install(loop: asyncio.AbstractEventLoop) -> None:
    loop.add_signal_handler(signal.SIGUSR1, lambda: log.warning("%s", dump_tasks()))
