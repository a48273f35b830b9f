"""Wire encoding benchmarks: a get_all_records result of 1,000 and 10,000 VM records.

Each record carries all 92 VM fields of xenapi.json with typical values (refs, maps of platform
keys, operation lists, a datetime, a float). Side by side in one run:
  stdlib      xc.dumps(({"Status": "Success", "Value": records},), methodresponse=True)
  xml_cold    our XML-RPC encoder, Record memo cleared before every round
  xml_memo    our XML-RPC encoder, the same Records again (get_all_records over unchanged objects)
  json_cold / json_memo   our JSON-RPC 2.0 encoder, likewise
  stdlib_json json.dumps of the plain result (no memo, default separators)
The encoded size of each form is printed once (pytest -s) and stored in extra_info.
Reproduce: .venv/bin/python -m pytest bench/test_bench_wire.py --benchmark-only \
           --benchmark-columns=min,median,mean,rounds
"""
from __future__ import annotations

import json
import uuid
import xmlrpc.client as xc
from datetime import datetime, UTC

import pytest

from benchsize import size

from xenapi_impl.values import Record
from xenapi_impl.wire import jsonrpc, xmlrpc
from xenapi_impl.wire.jsonrpc import JsonRequest

# The VM class's fields and types, as listed in xenapi.json (92 fields).
VM_FIELDS = [
    ("uuid", "string"), ("allowed_operations", "enum vm_operations set"),
    ("current_operations", "(string -> enum vm_operations) map"), ("name_label", "string"),
    ("name_description", "string"), ("power_state", "enum vm_power_state"), ("user_version", "int"),
    ("is_a_template", "bool"), ("is_default_template", "bool"), ("suspend_VDI", "VDI ref"),
    ("resident_on", "host ref"), ("scheduled_to_be_resident_on", "host ref"), ("affinity", "host ref"),
    ("memory_overhead", "int"), ("memory_target", "int"), ("memory_static_max", "int"),
    ("memory_dynamic_max", "int"), ("memory_dynamic_min", "int"), ("memory_static_min", "int"),
    ("VCPUs_params", "(string -> string) map"), ("VCPUs_max", "int"), ("VCPUs_at_startup", "int"),
    ("actions_after_softreboot", "enum on_softreboot_behavior"),
    ("actions_after_shutdown", "enum on_normal_exit"), ("actions_after_reboot", "enum on_normal_exit"),
    ("actions_after_crash", "enum on_crash_behaviour"), ("consoles", "console ref set"),
    ("VIFs", "VIF ref set"), ("VBDs", "VBD ref set"), ("VUSBs", "VUSB ref set"),
    ("crash_dumps", "crashdump ref set"), ("VTPMs", "VTPM ref set"), ("PV_bootloader", "string"),
    ("PV_kernel", "string"), ("PV_ramdisk", "string"), ("PV_args", "string"),
    ("PV_bootloader_args", "string"), ("PV_legacy_args", "string"), ("HVM_boot_policy", "string"),
    ("HVM_boot_params", "(string -> string) map"), ("HVM_shadow_multiplier", "float"),
    ("platform", "(string -> string) map"), ("PCI_bus", "string"),
    ("other_config", "(string -> string) map"), ("domid", "int"), ("domarch", "string"),
    ("last_boot_CPU_flags", "(string -> string) map"), ("is_control_domain", "bool"),
    ("metrics", "VM_metrics ref"), ("guest_metrics", "VM_guest_metrics ref"),
    ("last_booted_record", "string"), ("recommendations", "string"),
    ("xenstore_data", "(string -> string) map"), ("ha_always_run", "bool"),
    ("ha_restart_priority", "string"), ("is_a_snapshot", "bool"), ("snapshot_of", "VM ref"),
    ("snapshots", "VM ref set"), ("snapshot_time", "datetime"), ("transportable_snapshot_id", "string"),
    ("blobs", "(string -> blob ref) map"), ("tags", "string set"),
    ("blocked_operations", "(enum vm_operations -> string) map"),
    ("snapshot_info", "(string -> string) map"), ("snapshot_metadata", "string"), ("parent", "VM ref"),
    ("children", "VM ref set"), ("bios_strings", "(string -> string) map"),
    ("protection_policy", "VMPP ref"), ("is_snapshot_from_vmpp", "bool"),
    ("snapshot_schedule", "VMSS ref"), ("is_vmss_snapshot", "bool"), ("appliance", "VM_appliance ref"),
    ("start_delay", "int"), ("shutdown_delay", "int"), ("order", "int"), ("VGPUs", "VGPU ref set"),
    ("attached_PCIs", "PCI ref set"), ("suspend_SR", "SR ref"), ("version", "int"),
    ("generation_id", "string"), ("hardware_platform_version", "int"), ("has_vendor_device", "bool"),
    ("requires_reboot", "bool"), ("reference_label", "string"), ("domain_type", "enum domain_type"),
    ("NVRAM", "(string -> string) map"), ("pending_guidances", "enum update_guidances set"),
    ("pending_guidances_recommended", "enum update_guidances set"),
    ("pending_guidances_full", "enum update_guidances set"), ("groups", "VM_group ref set"),
    ("secureboot_certificates_state", "enum vm_secureboot_certificates_state"),
]

NULL = "OpaqueRef:NULL"
HOST = "OpaqueRef:" + str(uuid.UUID(int=1))
PLATFORM = {"timeoffset": "0", "device-model": "qemu-upstream-compat", "videoram": "8", "hpet": "true",
            "secureboot": "false", "vga": "std", "apic": "true", "viridian": "true", "nx": "true",
            "pae": "true", "acpi": "1", "cores-per-socket": "2"}
OPS = ["changing_dynamic_range", "migrate_send", "pool_migrate", "changing_VCPUs_live", "suspend",
       "hard_reboot", "hard_shutdown", "clean_reboot", "clean_shutdown", "pause", "checkpoint",
       "snapshot", "export", "copy"]
ENUMS = {"enum vm_power_state": "Running", "enum on_softreboot_behavior": "soft_reboot",
         "enum on_normal_exit": "restart", "enum on_crash_behaviour": "restart",
         "enum domain_type": "hvm", "enum vm_secureboot_certificates_state": "ok"}
SPECIAL = {
    "allowed_operations": OPS, "platform": PLATFORM,
    "other_config": {"base_template_name": "Debian Bookworm 12", "import_task": NULL,
                     "mac_seed": "5d0e3c8e-1a7b-4c2b-8f43-0e8d9c1e2b3a", "install-methods": "cdrom,nfs,http,ftp"},
    "HVM_boot_params": {"order": "cdn", "firmware": "uefi"}, "VCPUs_params": {"weight": "256"},
    "last_boot_CPU_flags": {"vendor": "GenuineIntel", "features": "1fcbfbff-f7fa3223-2d93fbff-00000023"},
    "bios_strings": {"bios-vendor": "Xen", "bios-version": "", "system-manufacturer": "Xen",
                     "system-product-name": "HVM domU", "system-version": "", "system-serial-number": "",
                     "hp-rombios": "", "oem-1": "Xen", "oem-2": "MS_VM_CERT/SHA1/bdbeb6e0a816d43fa6d3fe8aaef04c2bad9d3e3d"},
    "HVM_boot_policy": "BIOS order", "domarch": "x86_64", "PV_args": "console=hvc0 quiet",
    "generation_id": "0:0", "ha_restart_priority": "", "recommendations":
        '<restrictions><restriction field="memory-static-max" max="1649267441664"/>'
        '<restriction field="vcpus-max" max="32"/></restrictions>',
    "tags": ["web", "production"], "memory_static_max": 4294967296, "memory_dynamic_max": 4294967296,
    "memory_dynamic_min": 2147483648, "memory_static_min": 1073741824, "memory_target": 4294967296,
    "memory_overhead": 37748736, "VCPUs_max": 4, "VCPUs_at_startup": 2, "domid": 17,
    "resident_on": HOST, "affinity": HOST, "user_version": 1, "hardware_platform_version": 2,
}


def _ref() -> str:
    return f"OpaqueRef:{uuid.uuid4()}"


def vm_record(i: int) -> Record:
    rec: dict = {}
    for name, typ in VM_FIELDS:
        if name in SPECIAL:
            v = SPECIAL[name]
        elif name == "uuid":
            v = str(uuid.uuid4())
        elif name == "name_label":
            v = f"vm-{i:05d} web server"
        elif typ == "string":
            v = ""
        elif typ == "int":
            v = 0
        elif typ == "bool":
            v = name in ("has_vendor_device",)
        elif typ == "float":
            v = 1.0
        elif typ == "datetime":
            v = datetime(2025, 6, 1, 12, 30, 0, tzinfo=UTC)
        elif typ in ENUMS:
            v = ENUMS[typ]
        elif typ.endswith(" ref"):
            v = _ref() if name in ("metrics", "guest_metrics") else NULL
        elif typ.endswith(" set"):
            v = {"VBDs": [_ref(), _ref()], "VIFs": [_ref()], "consoles": [_ref()]}.get(name, [])
        elif typ.endswith(" map"):
            v = {}
        else:
            raise AssertionError(typ)
        rec[name] = v
    assert len(rec) == 92
    return Record(rec)


_CACHE: dict[int, dict[str, Record]] = {}


def records(n: int) -> dict[str, Record]:
    if n not in _CACHE:
        _CACHE[n] = {_ref(): vm_record(i) for i in range(n)}
    return _CACHE[n]


def stdlib_dumps(value) -> bytes:
    return xc.dumps(({"Status": "Success", "Value": value},), methodresponse=True,
                               allow_none=True).encode()


def _plain(recs: dict[str, Record]) -> dict:
    """The same data as the stdlib can take it: ints as strings (it refuses int64 beyond 2**31,
    the reason xapi sends strings) and the datetime as its DateTime (conversion not timed)."""
    out = {}
    for ref, r in recs.items():
        d = {k: (str(v) if type(v) is int else v) for k, v in r.items()}
        d["snapshot_time"] = xc.DateTime(d["snapshot_time"].strftime("%Y%m%dT%H:%M:%SZ"))
        out[ref] = d
    return out


REQ = JsonRequest("VM.get_all_records", ["s"], 0, "2.0")
SIZES: dict[tuple[str, int], int] = {}
NS = size([1000, 10000], [10, 100])       # VMs per get_all_records


def _note(benchmark, kind: str, n: int, body: bytes) -> None:
    benchmark.extra_info["bytes"] = len(body)
    if (kind, n) not in SIZES:
        SIZES[(kind, n)] = len(body)
        print(f"\n{kind} n={n}: {len(body):,} bytes")


@pytest.mark.parametrize("n", NS)
def test_stdlib_xmlrpc_dumps(benchmark, n):
    benchmark.group = f"get_all_records of {n} VMs"
    plain = _plain(records(n))
    body = benchmark(stdlib_dumps, plain)
    _note(benchmark, "stdlib", n, body)


@pytest.mark.parametrize("n", NS)
def test_xml_cold(benchmark, n):
    benchmark.group = f"get_all_records of {n} VMs"
    recs = records(n)
    body = benchmark.pedantic(xmlrpc.encode_success, args=(recs,), setup=xmlrpc.clear_memo,
                              rounds=size(5 if n > 1000 else 20, 1))
    _note(benchmark, "xml", n, body)
    # Same document as the stdlib modulo its whitespace, int and None encodings: check the
    # client reads back what we meant.
    (reply,), _ = xc.loads(body)
    some = next(iter(recs))
    assert reply["Value"][some]["uuid"] == recs[some]["uuid"]


@pytest.mark.parametrize("n", NS)
def test_xml_memo(benchmark, n):
    benchmark.group = f"get_all_records of {n} VMs"
    recs = records(n)
    xmlrpc.encode_success(recs)  # warm
    body = benchmark(xmlrpc.encode_success, recs)
    assert body == xmlrpc.encode_success(recs)


@pytest.mark.parametrize("n", NS)
def test_json_cold(benchmark, n):
    benchmark.group = f"get_all_records of {n} VMs"
    recs = records(n)
    body = benchmark.pedantic(jsonrpc.encode_success, args=(REQ, recs), setup=jsonrpc.clear_memo,
                              rounds=size(5 if n > 1000 else 20, 1))
    _note(benchmark, "json", n, body)
    assert json.loads(body)["result"].keys() == recs.keys()


@pytest.mark.parametrize("n", NS)
def test_json_memo(benchmark, n):
    benchmark.group = f"get_all_records of {n} VMs"
    recs = records(n)
    jsonrpc.encode_success(REQ, recs)
    benchmark(jsonrpc.encode_success, REQ, recs)


@pytest.mark.parametrize("n", NS)
def test_stdlib_json_dumps(benchmark, n):
    benchmark.group = f"get_all_records of {n} VMs"
    plain = {ref: dict(r, snapshot_time="20250601T12:30:00Z") for ref, r in records(n).items()}
    body = benchmark(lambda: json.dumps({"jsonrpc": "2.0", "result": plain, "id": 0}).encode())
    _note(benchmark, "stdlib_json", n, body)


# -- the whole server call: HTTP round trip of VM.get_all_records over loopback ---------------

class _Records:
    """A dispatcher answering VM.get_all_records with the same (unchanged) Records each time."""

    def __init__(self, recs: dict[str, Record]) -> None:
        self.recs = recs

    async def call(self, method, params, caller):
        return self.recs


@pytest.fixture(scope="module")
def loopback():
    import asyncio
    import threading

    from xenapi_impl.server.http import HttpServer

    servers = {}
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def port_for(n: int) -> int:
        if n not in servers:
            srv = HttpServer(_Records(records(n)), max_body=1 << 20)
            asyncio.run_coroutine_threadsafe(srv.start(http=[("127.0.0.1", 0)]), loop).result()
            servers[n] = srv
        return servers[n].ports()[0]

    yield port_for
    for srv in servers.values():
        asyncio.run_coroutine_threadsafe(srv.stop(1), loop).result()
    loop.call_soon_threadsafe(loop.stop)
    thread.join()


def _round_trip(conn, path: str, body: bytes) -> bytes:
    conn.request("POST", path, body=body)
    r = conn.getresponse()
    data = r.read()
    assert r.status == 200
    return data


@pytest.mark.parametrize("n", NS)
def test_server_call_xmlrpc(benchmark, loopback, n):
    """Request sent, parsed, dispatched, reply encoded (memo warm after the first round),
    written and read back whole by the client (not parsed: that is the client's cost)."""
    benchmark.group = f"get_all_records of {n} VMs"
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", loopback(n), timeout=120)
    body = xc.dumps(("OpaqueRef:session",), "VM.get_all_records").encode()
    _round_trip(conn, "/", body)
    reply = benchmark(_round_trip, conn, "/", body)
    _note(benchmark, "server_xml", n, reply)
    conn.close()


@pytest.mark.parametrize("n", NS)
def test_server_call_jsonrpc(benchmark, loopback, n):
    benchmark.group = f"get_all_records of {n} VMs"
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", loopback(n), timeout=120)
    body = json.dumps({"jsonrpc": "2.0", "method": "VM.get_all_records", "params": ["s"], "id": 0}).encode()
    _round_trip(conn, "/jsonrpc", body)
    reply = benchmark(_round_trip, conn, "/jsonrpc", body)
    _note(benchmark, "server_json", n, reply)
    conn.close()


# -- decoding requests ------------------------------------------------------------------------

def _create_request() -> bytes:
    """VM.create as the Python SDK sends it: a full record, newlines between elements."""
    rec = {k: (str(v) if type(v) is int else v) for k, v in vm_record(7).items()}
    rec["snapshot_time"] = xc.DateTime("20250601T12:30:00Z")
    return xc.dumps(("OpaqueRef:session", rec), "VM.create", allow_none=True).encode()


def _big_request() -> bytes:
    """About 1 MB: a map of 10,000 entries (e.g. a large xenstore_data)."""
    m = {f"vm-data/key-{i:05d}": f"value {i} " + "x" * 40 for i in range(10000)}
    return xc.dumps(("OpaqueRef:session", "OpaqueRef:vm", m), "VM.set_xenstore_data").encode()


def _defused_tree(body: bytes):
    import defusedxml.ElementTree as DET
    return DET.fromstring(body, forbid_dtd=True)


def _small_request() -> bytes:
    """The most common call shape: a getter with a session and a ref."""
    return xc.dumps(("OpaqueRef:9b1d6c3e-3a4e-4f1a-9a57-0c1f2e3d4b5a",
                     "OpaqueRef:1b1d6c3e-3a4e-4f1a-9a57-0c1f2e3d4b5a"), "VM.get_record").encode()


@pytest.mark.parametrize("shape", ["small", "create", "big"])
@pytest.mark.parametrize("decoder", ["ours", "stdlib_loads", "defusedxml_tree_only"])
def test_decode_request(benchmark, shape, decoder):
    body = {"small": _small_request, "create": _create_request, "big": _big_request}[shape]()
    fn = {"ours": xmlrpc.parse_request, "stdlib_loads": xc.loads,
          "defusedxml_tree_only": _defused_tree}[decoder]
    benchmark.group = f"decode {shape} ({len(body):,} bytes)"
    benchmark(fn, body)
    if decoder == "ours":
        _, params = xmlrpc.parse_request(body)
        (ref, *_), _ = xc.loads(body)
        assert params[0] == ref
