"""The XVA format (xapi's VM export), as its published description lays it out.

An XVA is a tar stream (ustar headers):

    ova.xml                 the header: an XML-RPC struct {version: {...}, objects: [...]}
    Ref:N/00000000          a disk's first 1 MiB chunk, N the id of its VDI object
    Ref:N/00000000.checksum the chunk's SHA-1, 40 lower-case hex digits
    Ref:N/00000007          ... chunk 7 (all-zero chunks are left out, except the first and
    Ref:N/00000007.checksum     the last of each disk, which are always there)
    (two zero blocks)       the end of the archive

`version` holds hostname, date, product_version, product_brand, build_number (strings) and
xapi_major, xapi_minor, export_vsn (integers; export_vsn 2 means checksums follow each
chunk). Each object is {class, id ("Ref:N"), snapshot (the record, XML-RPC encoded as a
get_record answer)}; references between exported objects are their ids, references to
anything else are OpaqueRef:NULL. A chunk is at most 1 MiB (the last one may be shorter); a
chunk file of length 0 carries no data (xapi sends them to keep idle connections open). A
`.xxhash` checksum file (xapi's newer choice) is accepted and not verified.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import re
import tarfile
import xml.etree.ElementTree as ET
from typing import Any, Callable, Iterable

from .wire import xmlrpc

CHUNK = 1 << 20
BLOCK = 512
END = bytes(2 * BLOCK)
EXPORT_VSN = 2
CHUNK_NAME = re.compile(r"^(Ref:[^/]+)/(\d{8})(\.checksum|\.xxhash)?$")


class XvaError(ValueError):
    """Not an XVA this reader understands; the message says why."""


class Truncated(XvaError):
    """The stream ended before the archive did."""


# --- writing ----------------------------------------------------------------------------
def member_header(name: str, size: int, mtime: float | None = None) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    info.mtime = int(mtime if mtime is not None else _dt.datetime.now().timestamp())
    return info.tobuf(format=tarfile.USTAR_FORMAT)


def padding(size: int) -> bytes:
    return bytes(-size % BLOCK)


def member(name: str, data: bytes) -> bytes:
    return member_header(name, len(data)) + data + padding(len(data))


def chunk_members(prefix: str, number: int, data: bytes) -> bytes:
    """A chunk and its .checksum file."""
    name = f"{prefix}/{number:08d}"
    digest = hashlib.sha1(data).hexdigest().encode()
    return member(name, data) + member(name + ".checksum", digest)


def chunks_to_send(size: int, extents: Iterable[tuple[int, int]] | None) -> list[int]:
    """Numbers of the chunks that may hold data (from the image's extents), plus the first
    and the last, which the format always carries."""
    last = max(0, (size - 1) // CHUNK)
    chosen = {0, last}
    if extents is None:
        chosen.update(range(last + 1))
    else:
        for off, length in extents:
            chosen.update(range(off // CHUNK, min(last, (off + length - 1) // CHUNK) + 1))
    return sorted(c for c in chosen if c * CHUNK < max(size, 1))


def _i4(n: int) -> str:
    return f"<value><i4>{int(n)}</i4></value>"


def ova_xml(version: dict[str, Any], objects: list[dict[str, Any]]) -> bytes:
    """The header: `version` (strings, ints for xapi_major/minor and export_vsn) and objects
    {"class", "id", "snapshot": record with refs already replaced by ids}."""
    members = []
    for k, v in version.items():
        val = _i4(v) if isinstance(v, int) else xmlrpc.value_fragment(str(v))
        members.append(f"<member><name>{k}</name>{val}</member>")
    objs = "".join(xmlrpc.value_fragment(o) for o in objects)
    text = ("<value><struct><member><name>version</name><value><struct>" + "".join(members)
            + "</struct></value></member><member><name>objects</name><value><array><data>"
            + objs + "</data></array></value></member></struct></value>")
    return text.encode()


def _foreign(value: Any, ids: dict[str, str]) -> bool:
    return isinstance(value, str) and value.startswith("OpaqueRef:") and value not in ids


def replace_refs(value: Any, ids: dict[str, str], null: str = "OpaqueRef:NULL") -> Any:
    """`value` with every reference string mapped by `ids`: a single reference to anything
    else becomes `null`, such references are left out of sets and maps."""
    if isinstance(value, str):
        if value.startswith("OpaqueRef:"):
            return ids.get(value, null)
        return value
    if isinstance(value, list):
        return [replace_refs(v, ids, null) for v in value if not _foreign(v, ids)]
    if isinstance(value, dict):
        return {replace_refs(k, ids, null): replace_refs(v, ids, null)
                for k, v in value.items() if not _foreign(k, ids)}
    return value


# --- reading ------------------------------------------------------------------------------
def _xml_value(el: ET.Element) -> Any:
    """An XML-RPC <value> as Python: strings stay strings (ints of records are strings too),
    <int>/<i4>/<i8> become int, booleans bool, doubles float, dates the text."""
    children = list(el)
    if not children:
        return el.text or ""
    c = children[0]
    tag = c.tag
    if tag == "string":
        return c.text or ""
    if tag in ("int", "i4", "i8"):
        return int((c.text or "0").strip())
    if tag == "boolean":
        return (c.text or "0").strip() == "1"
    if tag == "double":
        return float((c.text or "0").strip())
    if tag == "dateTime.iso8601":
        return (c.text or "").strip()
    if tag == "struct":
        out = {}
        for m in c.findall("member"):
            name = m.find("name")
            val = m.find("value")
            if name is None or val is None:
                raise XvaError("ova.xml: a struct member lacks its name or value")
            out[name.text or ""] = _xml_value(val)
        return out
    if tag == "array":
        data = c.find("data")
        return [_xml_value(v) for v in (data.findall("value") if data is not None else [])]
    if tag == "nil":
        return None
    raise XvaError(f"ova.xml: unknown XML-RPC type <{tag}>")


def parse_ova(data: bytes) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(version, objects) of an ova.xml."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise XvaError("ova.xml: DTDs and entities are refused")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise XvaError(f"ova.xml is not well-formed XML: {exc}") from None
    if root.tag != "value":
        raise XvaError("ova.xml must be one XML-RPC <value>")
    header = _xml_value(root)
    if not isinstance(header, dict) or "objects" not in header:
        raise XvaError("ova.xml has no 'objects'")
    objects = header["objects"]
    if not isinstance(objects, list):
        raise XvaError("ova.xml: 'objects' is not an array")
    for o in objects:
        if not (isinstance(o, dict) and isinstance(o.get("class"), str)
                and isinstance(o.get("id"), str) and isinstance(o.get("snapshot"), dict)):
            raise XvaError("ova.xml: every object needs class, id and a snapshot struct")
    version = header.get("version", {})
    return (version if isinstance(version, dict) else {}), objects


class TarReader:
    """Members of a tar stream read through `read(n)` (blocking; b"" at the end)."""

    def __init__(self, read: Callable[[int], bytes]) -> None:
        self._read = read
        self.ended = False

    def exact(self, n: int) -> bytes:
        out = bytearray()
        while len(out) < n:
            chunk = self._read(n - len(out))
            if not chunk:
                raise Truncated("the upload ended in the middle of the archive")
            out += chunk
        return bytes(out)

    def next(self) -> tuple[str, int] | None:
        """(name, size) of the next member (its data to be read with `data`), or None at the
        archive's end marker."""
        long_name = None
        while True:
            head = self.exact(BLOCK)
            if head == bytes(BLOCK):
                self.ended = True
                return None
            try:
                info = tarfile.TarInfo.frombuf(head, "utf-8", "surrogateescape")
            except tarfile.HeaderError as exc:
                raise XvaError(f"not a tar archive (bad header: {exc})") from None
            if info.type == tarfile.GNUTYPE_LONGNAME:
                long_name = self.data(info.size).rstrip(b"\0").decode("utf-8", "replace")
                continue
            if info.type in (tarfile.XHDTYPE, tarfile.XGLTYPE):
                for rec in self.data(info.size).decode("utf-8", "replace").splitlines():
                    _, _, kv = rec.partition(" ")
                    k, _, v = kv.partition("=")
                    if k == "path" and info.type == tarfile.XHDTYPE:
                        long_name = v
                continue
            name = long_name or info.name
            if info.type not in (tarfile.REGTYPE, tarfile.AREGTYPE):
                self.data(info.size)       # directories etc.: nothing to import
                continue
            return name, info.size

    def data(self, size: int) -> bytes:
        out = self.exact(size)
        self.exact(-size % BLOCK)
        return out
