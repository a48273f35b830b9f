"""JSON across a shared serial console: short lines with a length and a SHA-256.

dom0 prints a result with `encode`; the host reads it back with `decode`. Xen's own
messages share the console and can land between (or, rarely, inside) our lines, so a
damaged transfer must be detected, never half-read.
"""
from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Iterator

BEGIN = "SCENARIO-JSON-BEGIN"
END = "SCENARIO-JSON-END"
PREFIX = "SJ "
CHUNK = 120
_BEGIN_RE = re.compile(rf"^{BEGIN} len=(\d+) sha256=([0-9a-f]{{64}})$")


class ConsoleJSONError(ValueError):
    """The JSON on the console is missing, incomplete or damaged."""


def encode(value: Any) -> Iterator[str]:
    """The console lines for value (ASCII only, so the length is in bytes and chars)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    yield f"{BEGIN} len={len(text)} sha256={hashlib.sha256(text.encode()).hexdigest()}"
    for i in range(0, len(text), CHUNK):
        yield PREFIX + text[i:i + CHUNK]
    yield END


def decode(lines: list[str]) -> Any | None:
    """The last complete value in lines (None when there is none); raises when damaged."""
    found = None
    i = 0
    while i < len(lines):
        m = _BEGIN_RE.match(lines[i].strip())
        i += 1
        if not m:
            continue
        size, digest = int(m.group(1)), m.group(2)
        chunks = []
        while i < len(lines) and lines[i].strip() != END:
            if lines[i].startswith(PREFIX):
                chunks.append(lines[i][len(PREFIX):].rstrip("\r\n"))
            i += 1
        if i == len(lines):
            raise ConsoleJSONError(f"{BEGIN} without {END}")
        text = "".join(chunks)
        if len(text) != size or hashlib.sha256(text.encode()).hexdigest() != digest:
            raise ConsoleJSONError(f"JSON damaged on the console (got {len(text)} of {size} chars)")
        found = json.loads(text)
    return found
