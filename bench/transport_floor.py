"""What a call over HTTP costs below our code, on this machine: the floors that
bench/RESULTS.md compares the `get_record` and `get_all_records` figures with.

  floor    a do-nothing asyncio server answering every request with a canned ~7 KB reply:
           the round trip, the client's CPU (http.client, as the SDK uses) and the server's
  stub     our HttpServer answering a fixed record from a stub dispatcher (so only the
           transport and the codecs run), through the RPC lane and through aiohttp
           (--rpc-lane off): the server's CPU per call
  bulk     N bytes (the 10,000-VM get_all_records reply: 118,880,278) sent with sendall from a
           prebuilt buffer into an http.client reader: the time to move them at all

Each server runs in its own process; CPU times are read from /proc.

  .venv/bin/python bench/transport_floor.py [--calls 20000] [--bulk-bytes 118880278]
"""
from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import threading
import time
import xmlrpc.client as xc

HZ = os.sysconf("SC_CLK_TCK")
REQUEST = xc.dumps(("OpaqueRef:" + "a" * 36, "OpaqueRef:" + "b" * 36), "VM.get_record").encode()

SERVER = r"""
import asyncio, sys
mode = sys.argv[1]
if mode == "floor":
    BODY = b"<?xml version='1.0'?><methodResponse>" + b"x" * 7200 + b"</methodResponse>"
    REPLY = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n%s" % (
        len(BODY), BODY)

    class Canned(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport, self.buf = transport, b""

        def data_received(self, data):
            self.buf += data
            if b"</methodCall>" in self.buf:
                self.buf = b""
                self.transport.write(REPLY)

    async def main():
        srv = await asyncio.get_running_loop().create_server(Canned, "127.0.0.1", 0)
        print(srv.sockets[0].getsockname()[1], flush=True)
        await asyncio.Event().wait()
else:
    from xenapi_impl.server.http import HttpServer
    from xenapi_impl.values import Record
    RECORD = Record(uuid="u" * 36, name_label="x" * 20,
                    other_config={f"k{i}": "v" * 20 for i in range(100)})

    class Stub:
        async def call(self, method, params, caller):
            return RECORD

    async def main():
        s = HttpServer(Stub(), fast=mode == "lane")
        await s.start(http=[("127.0.0.1", 0)])
        print(s.ports()[0], flush=True)
        await asyncio.Event().wait()
asyncio.run(main())
"""


def _cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def calls(mode: str, n: int) -> dict[str, float]:
    """n sequential keep-alive calls against a server process of `mode`: per call, the
    round trip, the client's CPU and the server's CPU (us)."""
    proc = subprocess.Popen([sys.executable, "-c", SERVER, mode], stdout=subprocess.PIPE,
                            text=True, cwd=os.path.join(os.path.dirname(__file__), ".."))
    try:
        port = int(proc.stdout.readline())
        conn = http.client.HTTPConnection("127.0.0.1", port)
        headers = {"Content-Type": "text/xml"}
        for i in range(n + 2000):
            if i == 2000:                                  # after a warm-up
                server0, client0, t0 = _cpu(proc.pid), time.process_time(), time.perf_counter()
            conn.request("POST", "/", REQUEST, headers)
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 200
        wall = time.perf_counter() - t0
        return {"round_trip_us": wall / n * 1e6,
                "client_cpu_us": (time.process_time() - client0) / n * 1e6,
                "server_cpu_us": (_cpu(proc.pid) - server0) / n * 1e6}
    finally:
        proc.terminate()
        proc.wait(10)


def bulk(size: int, rounds: int = 4) -> list[float]:
    """ms to move `size` bytes from a prebuilt buffer (sendall) into an http.client reader."""
    data = b"x" * size
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            pending = b""
            while chunk := conn.recv(65536):
                pending += chunk
                while b"\r\n\r\nx" in pending:     # one whole request (its body is b"x")
                    pending = pending.split(b"\r\n\r\nx", 1)[1]
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
                    conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    client = http.client.HTTPConnection("127.0.0.1", port)
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        client.request("POST", "/", b"x")
        assert len(client.getresponse().read()) == size
        out.append((time.perf_counter() - t0) * 1e3)
    client.close()
    listener.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=20000)
    ap.add_argument("--bulk-bytes", type=int, default=118_880_278)
    args = ap.parse_args()
    with open("/proc/loadavg") as f:
        print("load", " ".join(f.read().split()[:3]))
    for mode in ("floor", "lane", "aiohttp"):
        r = calls(mode, args.calls)
        print(f"{mode:8} " + "  ".join(f"{k} {v:.1f}" for k, v in r.items()))
    print("bulk ms", " / ".join(f"{t:.1f}" for t in bulk(args.bulk_bytes)))


if __name__ == "__main__":
    main()
