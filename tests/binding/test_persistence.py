"""The simulated host survives process restarts with XLSIM_STATE_FILE."""
from __future__ import annotations

import subprocess
import sys


def _run(code: str, state: str) -> str:
    env = {"XLSIM_STATE_FILE": state, "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_domains_survive_restart(tmp_path) -> None:  # type: ignore[no-untyped-def]
    state = str(tmp_path / "host.state")
    created = _run(
        "from xenlight_py import *\n"
        "c = Context(backend='sim'); c.sim.configure()\n"
        "d = c.create_domain(DomainConfig(name='keep', kernel='/k', memory=300))\n"
        "c.pause(d)\n"
        "print(d, c.domain_info(d).uuid)\n", state)
    domid, uuid = created.split()
    seen = _run(
        "from xenlight_py import *\n"
        "c = Context(backend='sim')\n"
        "d = c.name_to_domid('keep'); i = c.domain_info(d)\n"
        "print(d, i.uuid, i.paused, i.current_memkb)\n", state)
    assert seen.split() == [domid, uuid, "True", str(300 * 1024)]
    _run("from xenlight_py import *\nc = Context(backend='sim'); c.destroy(c.name_to_domid('keep'))",
         state)
    left = _run("from xenlight_py import *\nprint(len(Context(backend='sim').list_domains()))",
                state)
    assert left == "1"
