"""xe's output forms (as xapi's CLI prints them).

- a record: one ``label: value`` line per field, the first label padded on the right and the
  others on the left to the longest label + 4, the record followed by two empty lines;
- ``--minimal``: the first column of every record (or the list items) on one line, joined by
  "," with "\\" and "," escaped as "\\\\" and "\\,";
- lists (a uuid, a value): one item a line.
"""
from __future__ import annotations

import shutil
import sys
import time
from typing import IO, Sequence

Record = Sequence[tuple[str, str]]


def escape_commas(s: str) -> str:
    return s.replace("\\", "\\\\").replace(",", "\\,")


def record_block(rec: Record) -> str:
    width = 4 + max((len(k) for k, _ in rec), default=0)
    lines = []
    for i, (k, v) in enumerate(rec):
        label = k.ljust(width) if i == 0 else k.rjust(width)
        lines.append(f"{label}: {v}")
    return "\n".join(lines) + "\n"


class Printer:
    """Collects what a command prints; with ``minimal`` everything becomes one line at flush."""

    def __init__(self, minimal: bool = False, out: IO[str] | None = None) -> None:
        self.minimal = minimal
        self.out = out or sys.stdout
        self._minimal: list[str] = []

    def table(self, records: Sequence[Record]) -> None:
        if self.minimal:
            if records and all(records):
                self._minimal.append(",".join(escape_commas(r[0][1]) for r in records))
            return
        for r in records:
            self.out.write(record_block(r) + "\n\n")

    def items(self, items: Sequence[str]) -> None:
        if self.minimal:
            self._minimal.append(",".join(escape_commas(s) for s in items))
            return
        for s in items:
            self.out.write(s + "\n")

    def text(self, s: str) -> None:
        """A message (never part of --minimal output)."""
        if not self.minimal:
            self.out.write(s + "\n")

    def flush(self) -> None:
        if self.minimal:
            self.out.write(",".join(self._minimal) + "\n")
            self._minimal = []
        self.out.flush()


class ProgressBar:
    """``[-] #####>        ( 42% ETA 00:00:03)`` redrawn in place; only on a terminal."""

    SPIN = "-\\|/"

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.width = max(40, min(shutil.get_terminal_size().columns, 100) - 1)
        self.start = time.monotonic()
        self.turn = 0
        self.drawn = False

    def update(self, progress: float) -> None:
        progress = min(max(progress, 0.0), 1.0)
        suffix = f"  ({int(progress * 100):3d}% ETA {self._eta(progress)})"
        room = self.width - 4 - len(suffix)
        done = int(progress * room)
        bar = ("#" * (done - 1) + ">" if done else "").ljust(room)
        self.turn = (self.turn + 1) % len(self.SPIN)
        self.out.write(f"\r[{self.SPIN[self.turn]}] {bar}{suffix}")
        self.out.flush()
        self.drawn = True

    def _eta(self, progress: float) -> str:
        if progress <= 0:
            return "--:--:--"
        spent = time.monotonic() - self.start
        left = int(spent / progress - spent)
        return f"{left // 3600:02d}:{left % 3600 // 60:02d}:{left % 60:02d}"

    def finish(self) -> None:
        if self.drawn:
            self.out.write("\r" + " " * self.width + "\r")
            self.out.flush()
