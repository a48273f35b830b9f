"""XenAPI datetimes on the wire: `YYYYMMDDTHH:MM:SSZ`, always UTC (both protocols)."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from ..errors import XenAPIError

_UTC = UTC

# Accepted on input: xapi's compact form (Z optional, as older clients omit it) and the ISO 8601
# extended form some clients send; a fraction of a second is allowed and truncated.
_COMPACT = re.compile(
    r"(\d{4})(\d{2})(\d{2})T(\d{2}):?(\d{2}):?(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?\Z")


def format_datetime(d: datetime) -> str:
    """The wire form of `d`; naive datetimes are taken as UTC (the contract says UTC-aware)."""
    if d.tzinfo is not None and d.utcoffset():
        d = d.astimezone(_UTC)
    return f"{d.year:04d}{d.month:02d}{d.day:02d}T{d.hour:02d}:{d.minute:02d}:{d.second:02d}Z"


def parse_datetime(text: str) -> datetime:
    """A UTC-aware datetime from a wire datetime, or XMLRPC_UNMARSHAL_FAILURE."""
    s = text.strip()
    m = _COMPACT.match(s)
    try:
        if m is not None:
            y, mo, d, h, mi, se, tz = m.groups()
            value = datetime(int(y), int(mo), int(d), int(h), int(mi), int(se), tzinfo=_UTC)
            if tz and tz != "Z":
                sign = 1 if tz[0] == "+" else -1
                digits = tz[1:].replace(":", "")
                offset = sign * (int(digits[:2]) * 60 + int(digits[2:]))
                value -= timedelta(minutes=offset)
            return value
        value = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise XenAPIError("XMLRPC_UNMARSHAL_FAILURE", "dateTime.iso8601", text) from None
    if value.tzinfo is None:
        return value.replace(tzinfo=_UTC)
    return value.astimezone(_UTC)
