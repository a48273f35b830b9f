"""Load from wrk (a C HTTP load generator, `apt-get install wrk`): the same keep-alive POSTs as
the Python load processes, at a few microseconds of CPU per call instead of about 80.

On a 2-core machine the load shares the CPUs with the server it measures, so a Python client's
CPU is taken from the server under test. wrk leaves the server the cores; both servers of a
comparison get the same wrk, so the ratio is the servers' own. Every reply is checked: HTTP 200
and a XenAPI "Success" in the body (a XenAPI error is an HTTP 200 too).
"""
from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import tempfile

WRK = shutil.which("wrk")

# The script wrk runs in each of its threads (LuaJIT); {bodies} and {request} are filled in.
SCRIPT = r"""
local files = {{{bodies}}}
local reqs = {{}}
local threads = {{}}
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/xml"
for i, path in ipairs(files) do
  local f = assert(io.open(path, "rb"))
  local body = f:read("*a")
  f:close()
  if i == 1 then wrk.body = body end
  reqs[i] = wrk.format(nil, "/", nil, body)      -- with wrk.method and wrk.headers
end
bad = 0
{request}
function response(status, headers, body)
  if status ~= 200 or not string.find(body, "Success", 1, true) then bad = bad + 1 end
end
function setup(thread) table.insert(threads, thread) end
function done(summary, latency, requests)
  local failed = 0
  for _, t in ipairs(threads) do failed = failed + t:get("bad") end
  local e = summary.errors
  io.write(string.format("wrk-result %d %d %d %d %.1f %.1f\n", summary.requests,
    summary.duration, failed, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""

# More than one body: each connection sends them in turn (a setter then sets another value).
ROTATE = """function request()
  n = n % #reqs + 1
  return reqs[n]
end"""


@dataclasses.dataclass
class WrkResult:
    calls: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def calls_per_s(self) -> float:
        return self.calls / self.seconds


def run_wrk(port: int, bodies: list[bytes], connections: int, seconds: int) -> WrkResult:
    """`connections` keep-alive connections (on up to 2 wrk threads) POSTing `bodies` in turn
    to 127.0.0.1:`port` for `seconds` (whole: wrk takes no less). Raises if any reply was not a
    XenAPI success or any connection failed."""
    assert WRK, "wrk is not installed"
    with tempfile.TemporaryDirectory(prefix="wrk-") as tmp:
        paths = []
        for i, body in enumerate(bodies):
            paths.append(os.path.join(tmp, f"body{i}.xml"))
            with open(paths[-1], "wb") as f:
                f.write(body)
        script = os.path.join(tmp, "load.lua")
        with open(script, "w") as f:
            f.write(SCRIPT.format(bodies=", ".join(f'"{p}"' for p in paths),
                                  request=ROTATE if len(bodies) > 1 else ""))
        out = subprocess.run([WRK, "-t", str(min(connections, 2)), "-c", str(connections),
                              "-d", f"{seconds}s", "-s", script, f"http://127.0.0.1:{port}/"],
                             capture_output=True, text=True, timeout=120, check=True).stdout
    m = re.search(r"^wrk-result (\d+) (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+)$", out, re.M)
    assert m, out
    calls, micros, failed, socket_errors = (int(x) for x in m.groups()[:4])
    assert failed == 0 and socket_errors == 0 and calls > 0, out
    return WrkResult(calls, micros / 1e6, float(m[5]) / 1e3, float(m[6]) / 1e3)
