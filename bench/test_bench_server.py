"""XenAPI server benchmarks: the real `xenapi-server` process over HTTP, side by side with
stdlib baselines in the same run.

  get_record     VM.get_record over XML-RPC, keep-alive, 1 and 8 concurrent clients, beside a
                 stdlib SimpleXMLRPCServer (threading, HTTP/1.1 keep-alive) answering the same
                 record from a dict. calls/s, p50, p99 in extra_info.
  get_all        VM.get_all_records at 1,000 and 10,000 VMs over XML-RPC and JSON-RPC (time per
                 call end to end, bytes), beside stdlib xmlrpc.client.dumps of the same records.
  event_wake     event.from blocked in one client, a write from another: latency from the
                 write's reply to the event reply (and from the write's request).
  setter         VM.set_name_label with durable commits, 1 and 8 clients: calls/s.

Reproduce: .venv/bin/python -m pytest bench/test_bench_server.py --benchmark-only -s \
           --benchmark-columns=min,median,mean,rounds
"""
from __future__ import annotations

import asyncio
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import xmlrpc.client as xc

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "clients"))
from serverproc import ServerProcess  # noqa: E402

VM = {
    "name_label": "bench", "name_description": "a benchmark VM", "user_version": "1",
    "is_a_template": False, "affinity": "OpaqueRef:NULL", "memory_static_max": "4294967296",
    "memory_dynamic_max": "4294967296", "memory_dynamic_min": "2147483648",
    "memory_static_min": "1073741824", "VCPUs_params": {"weight": "256"}, "VCPUs_max": "4",
    "VCPUs_at_startup": "2", "actions_after_shutdown": "destroy",
    "actions_after_reboot": "restart", "actions_after_crash": "restart", "PV_bootloader": "pygrub",
    "PV_kernel": "", "PV_ramdisk": "", "PV_args": "console=hvc0", "PV_bootloader_args": "",
    "PV_legacy_args": "", "HVM_boot_policy": "", "HVM_boot_params": {},
    "platform": {"acpi": "1", "apic": "true", "pae": "true", "viridian": "false", "nx": "true"},
    "PCI_bus": "", "other_config": {"folder": "/bench", "base_template_name": "Debian"},
    "recommendations": "", "tags": ["bench", "web"],
}


def _percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def _make_db(path: str, n_vms: int) -> None:
    """A database with n_vms VMs, written in one transaction through the store."""
    from xenapi_impl import api
    from xenapi_impl.model import MODEL
    from xenapi_impl.server.app import Services
    from xenapi_impl.server.seed import add_user, seed
    from xenapi_impl.store import new_ref, new_uuid, open_store, store_specs

    async def build() -> None:
        api.load_all()
        store = open_store(path, store_specs(MODEL))
        services = Services(MODEL, store)
        await seed(services, backend="sim", db_path=None)
        await add_user(services, "root", "bench-pw", "pool-admin")
        checked = MODEL.classes["VM"].fields
        base = services.default_record("VM")
        for k, v in VM.items():
            base[k] = checked[k].type.check(v, k)
        async with store.transaction() as txn:
            for i in range(n_vms):
                rec = dict(base, uuid=new_uuid(), name_label=f"vm-{i}")
                txn.create("VM", new_ref(), rec)
        await store.close()
    asyncio.run(build())


class Bench:
    def __init__(self, n_vms: int) -> None:
        self.dir = tempfile.mkdtemp(prefix="xapi-bench-")
        db = os.path.join(self.dir, "bench.db")
        _make_db(db, n_vms)
        self.srv = ServerProcess(self.dir, db=db).start()
        self.port = self.srv.ports["http"]
        proxy = xc.ServerProxy(f"http://127.0.0.1:{self.port}")
        self.session = proxy.session.login_with_password("root", "bench-pw")["Value"]
        self.vm = proxy.VM.get_all(self.session)["Value"][0]

    def close(self) -> None:
        self.srv.stop()


@pytest.fixture(scope="module")
def bench1k():
    b = Bench(1_000)
    yield b
    b.close()


@pytest.fixture(scope="module")
def bench10k():
    b = Bench(10_000)
    yield b
    b.close()


BASELINE = r"""
import sys, xmlrpc.client as xc
from socketserver import ThreadingMixIn
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer
class Handler(SimpleXMLRPCRequestHandler):
    protocol_version = "HTTP/1.1"      # keep-alive, like the XenAPI clients use
    rpc_paths = ()                     # any path
class Server(ThreadingMixIn, SimpleXMLRPCServer):
    daemon_threads = True
(reply,), _ = xc.loads(open(sys.argv[1], "rb").read())
records = {"vm": reply["Value"]}
srv = Server(("127.0.0.1", 0), requestHandler=Handler, logRequests=False, allow_none=True)
srv.register_function(lambda session, ref: {"Status": "Success", "Value": records["vm"]},
                      "VM.get_record")
print(srv.server_address[1], flush=True)
srv.serve_forever()
"""


@pytest.fixture(scope="module")
def baseline(bench1k):
    """stdlib SimpleXMLRPCServer answering VM.get_record with the record our server sends."""
    conn = http.client.HTTPConnection("127.0.0.1", bench1k.port)
    conn.request("POST", "/", xc.dumps((bench1k.session, bench1k.vm), "VM.get_record"),
                 {"Content-Type": "text/xml"})
    body = conn.getresponse().read()
    path = os.path.join(bench1k.dir, "record.xml")
    with open(path, "wb") as f:
        f.write(body)
    proc = subprocess.Popen([sys.executable, "-c", BASELINE, path], stdout=subprocess.PIPE,
                            text=True)
    port = int(proc.stdout.readline())
    yield port
    proc.terminate()
    proc.wait(10)


def drive(port: int, path: str, body: bytes, clients: int, calls: int,
          latencies: list[float]) -> int:
    """`clients` threads, one keep-alive connection each, `calls` requests each."""
    barrier = threading.Barrier(clients)
    errors: list[BaseException] = []

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port)
        headers = {"Content-Type": "text/xml"}
        mine = []
        try:
            barrier.wait()
            for _ in range(calls):
                t0 = time.perf_counter()
                conn.request("POST", path, body, headers)
                resp = conn.getresponse()
                data = resp.read()
                mine.append(time.perf_counter() - t0)
                if resp.status != 200 or b"Success" not in data:
                    raise AssertionError(data[:300])
        except BaseException as exc:      # noqa: BLE001
            errors.append(exc)
        finally:
            conn.close()
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return clients * calls


def measure_calls(benchmark, port: int, body: bytes, clients: int, calls: int, rounds: int,
                  label: str) -> None:
    """`rounds` rounds (after one warm-up) of `clients` keep-alive clients sending `body`
    `calls` times each: calls/s, p50 and p99 into extra_info."""
    latencies: list[float] = []
    benchmark.pedantic(drive, args=(port, "/", body, clients, calls, latencies), rounds=rounds,
                       iterations=1, warmup_rounds=1)
    latencies = latencies[clients * calls:]          # drop the warm-up round
    wall = sum(benchmark.stats.stats.data)
    info = {"calls_per_s": round(rounds * clients * calls / wall), "p50_ms": round(
        _percentile(latencies, 50) * 1e3, 3), "p99_ms": round(_percentile(latencies, 99) * 1e3, 3)}
    benchmark.extra_info.update(info)
    print(f"\n{label}: {info}")


@pytest.mark.parametrize("clients", [1, 8])
@pytest.mark.parametrize("server", ["ours", "stdlib"])
def test_get_record(benchmark, bench1k, baseline, server, clients):
    benchmark.group = f"VM.get_record XML-RPC keep-alive, {clients} client(s)"
    port = bench1k.port if server == "ours" else baseline
    body = xc.dumps((bench1k.session, bench1k.vm), "VM.get_record").encode()
    measure_calls(benchmark, port, body, clients, 2000 // clients, 5,
                  f"get_record {server} x{clients}")


def _get_all(port: int, path: str, body: bytes, content_type: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("POST", path, body, {"Content-Type": content_type})
    data = conn.getresponse().read()
    conn.close()
    return len(data)


@pytest.mark.parametrize("n", [1_000, 10_000])
@pytest.mark.parametrize("form", ["xmlrpc", "jsonrpc", "stdlib_dumps"])
def test_get_all_records(benchmark, request, n, form):
    b = request.getfixturevalue("bench1k" if n == 1_000 else "bench10k")
    benchmark.group = f"VM.get_all_records, {n} VMs"
    xml_body = xc.dumps((b.session,), "VM.get_all_records").encode()
    if form == "stdlib_dumps":
        conn = http.client.HTTPConnection("127.0.0.1", b.port)
        conn.request("POST", "/", xml_body, {"Content-Type": "text/xml"})
        (reply,), _ = xc.loads(conn.getresponse().read())
        records = reply["Value"]
        made = [r for r in records.values()      # besides dom0 and the built-in templates
                if not (r["is_a_template"] or r["is_control_domain"])]
        assert len(made) == n
        size = benchmark.pedantic(
            lambda: len(xc.dumps(({"Status": "Success", "Value": records},),
                                 methodresponse=True)), rounds=5, iterations=1)
    elif form == "xmlrpc":
        t0 = time.perf_counter()
        cold = _get_all(b.port, "/", xml_body, "text/xml")
        benchmark.extra_info["first_call_s"] = round(time.perf_counter() - t0, 4)
        size = benchmark.pedantic(_get_all, args=(b.port, "/", xml_body, "text/xml"),
                                  rounds=5, iterations=1)
        assert size == cold
    else:
        body = json.dumps({"jsonrpc": "2.0", "method": "VM.get_all_records",
                           "params": [b.session], "id": 1}).encode()
        t0 = time.perf_counter()
        _get_all(b.port, "/jsonrpc", body, "application/json")
        benchmark.extra_info["first_call_s"] = round(time.perf_counter() - t0, 4)
        size = benchmark.pedantic(_get_all, args=(b.port, "/jsonrpc", body, "application/json"),
                                  rounds=5, iterations=1)
    benchmark.extra_info["bytes"] = size
    print(f"\nget_all_records {n} {form}: {size} bytes, median "
          f"{statistics.median(benchmark.stats.stats.data) * 1e3:.1f} ms, "
          f"first call {benchmark.extra_info.get('first_call_s')}")


def wake_rounds(benchmark, write: tuple[int, str], wait: tuple[int, str], vm: str,
                rounds: int, warmup: int = 0) -> dict[str, float]:
    """event.from blocked on `wait`, VM.set_name_label sent to `write`: each round's latency
    from the write's request and from its reply to the event reply."""
    (wport, wsession), (eport, esession) = write, wait
    writer = http.client.HTTPConnection("127.0.0.1", wport)
    waiter = xc.ServerProxy(f"http://127.0.0.1:{eport}")
    classes = [f"VM/{vm}"]
    state = {"token": getattr(waiter, "event.from")(esession, classes, "", 0.0)["Value"]["token"]}
    from_ack: list[float] = []
    from_send: list[float] = []

    def one_round() -> None:
        got: dict = {}
        ready = threading.Event()

        def wait() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", eport)
            body = xc.dumps((esession, classes, state["token"], 30.0), "event.from")
            conn.connect()
            ready.set()
            conn.request("POST", "/", body, {"Content-Type": "text/xml"})
            data = conn.getresponse().read()
            got["t"] = time.perf_counter()
            got["data"] = data
            conn.close()

        t = threading.Thread(target=wait)
        t.start()
        ready.wait()
        time.sleep(0.01)                      # let event.from reach the server and block
        body = xc.dumps((wsession, vm, f"n{time.perf_counter()}"), "VM.set_name_label")
        t_send = time.perf_counter()
        writer.request("POST", "/", body, {"Content-Type": "text/xml"})
        data = writer.getresponse().read()
        t_ack = time.perf_counter()
        assert b"Success" in data, data[:300]
        t.join(30)
        (reply,), _ = xc.loads(got["data"])
        assert reply["Status"] == "Success" and len(reply["Value"]["events"]) >= 1, reply
        state["token"] = reply["Value"]["token"]
        from_ack.append(got["t"] - t_ack)
        from_send.append(got["t"] - t_send)

    benchmark.pedantic(one_round, rounds=rounds, iterations=1, warmup_rounds=warmup)
    from_ack, from_send = from_ack[warmup:], from_send[warmup:]
    info = {"p50_from_request_ms": round(_percentile(from_send, 50) * 1e3, 3),
            "p99_from_request_ms": round(_percentile(from_send, 99) * 1e3, 3),
            "max_from_request_ms": round(max(from_send) * 1e3, 3),
            "p50_from_reply_ms": round(_percentile(from_ack, 50) * 1e3, 3),
            "p99_from_reply_ms": round(_percentile(from_ack, 99) * 1e3, 3)}
    benchmark.extra_info.update(info)
    return info


def test_event_from_wakeup(benchmark, bench1k):
    benchmark.group = "event.from wake-up"
    b = bench1k
    info = wake_rounds(benchmark, (b.port, b.session), (b.port, b.session), b.vm, 200)
    print(f"\nevent.from wake-up: {info}")


@pytest.mark.parametrize("clients", [1, 8])
def test_setter_durable(benchmark, bench1k, clients):
    benchmark.group = f"VM.set_name_label (durable commit), {clients} client(s)"
    body = xc.dumps((bench1k.session, bench1k.vm, "renamed"), "VM.set_name_label").encode()
    measure_calls(benchmark, bench1k.port, body, clients, 400 // clients, 3, f"setter x{clients}")
