"""A pool of three real `xenapi-server serve` processes, each its own simulated host (its own
XLSIM_STATE_FILE and --state-dir), on one private PostgreSQL database, listening as a pool's
hosts do on distinct loopback addresses (127.0.0.11, .12, .13) and one port. Driven with the
official SDK (PyPI XenAPI) and Xen Orchestra's connector.

What it proves: each host has its own host record (kept across restarts by its inventory) and
writes its own metrics and heartbeat; pool.master names the first host; a login on a slave
gets exactly HOST_IS_SLAVE [master address], the SDK reaches the named master, XO's connector
follows it by itself; slave_local_login_with_password works on every host. Faults: SIGKILL of
the master (a slave takes over with emergency_transition_to_master, the dead master is no
longer live, clients log in to the new master, the old master restarted is a slave), SIGSTOP of
a slave past its lease (the master marks it not live and fences it; after SIGCONT it stops by
itself, exit status 3, and writes nothing), designate_new_master, declare_dead.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time

import pytest
import XenAPI

from poolhosts import ADDRESSES, LEASE, Host, domains as _domains, free_port as _free_port, pool  # noqa: F401
from poolhosts import local_sr, shared_sr, stop_all, with_disk
from poolhosts import wait as _wait
from serverproc import ServerProcess
from vm_records import vm_create_record
from xo import NODE_DIR, require_node

NULL = "OpaqueRef:NULL"

def _is_slave(host: Host, password: str) -> list[str]:
    with pytest.raises(XenAPI.Failure) as err:
        host.session(password)
    return err.value.details


def _live(x, host_ref: str) -> bool:
    return x.host_metrics.get_live(x.host.get_metrics(host_ref))


def test_pool_roles_logins_and_metrics(pool):
    a, b, c = pool
    password = a.proc.password
    x = a.session(password).xenapi
    hosts = x.host.get_all_records()
    assert len(hosts) == 3
    by_addr = {h["address"]: ref for ref, h in hosts.items()}
    assert set(by_addr) == set(ADDRESSES[:3])
    assert len({h["uuid"] for h in hosts.values()}) == 3
    pool_ref = x.pool.get_all()[0]
    assert x.pool.get_master(pool_ref) == by_addr[a.address]

    # a login on a slave: exactly HOST_IS_SLAVE [master address]; the SDK reaches the master
    for h in (b, c):
        assert _is_slave(h, password) == ["HOST_IS_SLAVE", a.address]
        s = XenAPI.Session(f"http://{_is_slave(h, password)[1]}:{h.port}")
        s.xenapi.login_with_password("root", password, "1.0", "pool-test")
        assert s.xenapi.pool.get_master(pool_ref) == by_addr[a.address]
        s.xenapi.session.logout()
    # slave_local_login_with_password works on every host, and each sees the pool
    for h in (a, b, c):
        s = h.local_session(password)
        assert len(s.xenapi.host.get_all()) == 3
        s.xenapi.session.logout()

    # each host writes its own metrics: every host's host_metrics live, refreshed, each with
    # its own pCPUs and its own control domain
    first = {ref: x.host_metrics.get_last_updated(x.host.get_metrics(ref)) for ref in hosts}
    _wait(lambda: all(x.host_metrics.get_last_updated(x.host.get_metrics(ref)) != t
                      for ref, t in first.items()), 10, "every host's heartbeat")
    assert all(_live(x, ref) for ref in hosts)
    cpus = x.host_cpu.get_all_records().values()
    assert {c["host"] for c in cpus} == set(hosts)
    dom0s = [v for v in x.VM.get_all_records().values() if v["is_control_domain"]]
    assert sorted(v["resident_on"] for v in dom0s) == sorted(hosts)
    local_srs = [s for s in x.SR.get_all_records().values() if s["type"] == "file"]
    assert len(local_srs) == 3

    # Xen Orchestra's connector, given a slave's address, follows HOST_IS_SLAVE to the master
    require_node()
    out = subprocess.run(["node", os.path.join(NODE_DIR, "xo_pool.mjs"), c.url, "root",
                          password], capture_output=True, text=True, timeout=90, cwd=NODE_DIR)
    steps = [json.loads(line) for line in out.stdout.splitlines()]
    ready = [s for s in steps if s["step"] == "ready"]
    assert ready, (out.stdout, out.stderr)
    assert ready[0]["hostname"] == a.address and ready[0]["masterAddress"] == a.address

    # a restarted slave keeps its host record (its inventory names it)
    b.proc.stop()
    b.start()
    assert set(x.host.get_all()) == set(hosts)


def test_master_killed_a_slave_takes_over(pool):
    a, b, c = pool
    password = a.proc.password
    x = a.session(password).xenapi
    hosts = {h["address"]: ref for ref, h in x.host.get_all_records().items()}
    pool_ref = x.pool.get_all()[0]

    a.proc.kill()                               # SIGKILL the master
    t0 = time.monotonic()
    xb = b.local_session(password).xenapi
    xb.pool.emergency_transition_to_master()
    took = time.monotonic() - t0
    assert xb.pool.get_master(pool_ref) == hosts[b.address]
    # clients: a login on the other slave names the new master (once the change reached it:
    # the database notifies it) and logging in there works
    _wait(lambda: _is_slave(c, password) == ["HOST_IS_SLAVE", b.address], 5,
          "the other slave naming the new master")
    xn = b.session(password).xenapi
    net = xn.network.create({"name_label": "after failover", "name_description": "",
                             "MTU": "1500", "other_config": {}, "bridge": "", "managed": True,
                             "tags": []})
    xc = c.local_session(password).xenapi
    _wait(lambda: net in xc.network.get_all(), 10, "the new master's write on a slave")
    # emergency_reset_master on the other slave: the new master's address is accepted, the
    # dead one's is a slave's (named so), an unknown one is refused
    xc.pool.emergency_reset_master(b.address)
    with pytest.raises(XenAPI.Failure) as err:
        xc.pool.emergency_reset_master(a.address)
    assert err.value.details == ["HOST_IS_SLAVE", b.address]
    with pytest.raises(XenAPI.Failure) as err:
        xc.pool.emergency_reset_master("192.0.2.1")
    assert err.value.details == ["INVALID_VALUE", "master_address", "192.0.2.1"]
    # the dead master stops being live once its lease ran out
    _wait(lambda: not _live(xn, hosts[a.address]), 3 * LEASE + 5, "old master not live")
    print(f"emergency_transition_to_master answered {took * 1000:.0f} ms after SIGKILL")
    assert xn.pool.recover_slaves() == [hosts[c.address]]

    # the old master, restarted, is a slave of the new one
    a.start()
    assert _is_slave(a, password) == ["HOST_IS_SLAVE", b.address]
    _wait(lambda: _live(xn, hosts[a.address]), 10, "restarted host live again")

    # a planned move back: designate_new_master, the designated host takes the role
    xn.pool.designate_new_master(hosts[a.address])
    _wait(lambda: _try_login(a, password), 10, "designated master accepting logins")
    _wait(lambda: _is_slave(b, password) == ["HOST_IS_SLAVE", a.address], 5,
          "the old master a slave")


def _try_login(h: Host, password: str) -> bool:
    try:
        h.session(password).xenapi.session.logout()
        return True
    except XenAPI.Failure as f:
        assert f.details[0] == "HOST_IS_SLAVE"
        return False


def test_a_stopped_slave_is_fenced(pool, pg_db):
    a, b, c = pool
    password = a.proc.password
    x = a.session(password).xenapi
    hosts = {h["address"]: ref for ref, h in x.host.get_all_records().items()}
    cref = hosts[c.address]
    with pytest.raises(XenAPI.Failure) as err:
        x.host.declare_dead(cref)
    assert err.value.details == ["HOST_IS_LIVE", cref]

    proc = c.proc.proc
    os.kill(proc.pid, signal.SIGSTOP)
    t0 = time.monotonic()
    _wait(lambda: not _live(x, cref), 3 * LEASE + 5, "the stopped host not live")
    print(f"a SIGSTOPped host was marked not live after {time.monotonic() - t0:.1f} s "
          f"(lease {LEASE:g} s)")
    gen = int(pg_db.psql("SELECT gen FROM _head"))
    os.kill(proc.pid, signal.SIGCONT)
    assert proc.wait(20) == 3                     # fenced: it stopped by itself
    assert "fenced" in c.proc.log()
    # nothing it wrote after SIGCONT reached the database: no row names its host since
    c_uuid = x.host.get_uuid(cref)
    metrics_uuid = x.host_metrics.get_uuid(x.host.get_metrics(cref))
    rows = pg_db.psql(f"SELECT count(*) FROM _log WHERE gen > {gen} AND uuid IN "
                      f"('{c_uuid}', '{metrics_uuid}')")
    assert rows == "0"
    assert not _live(x, cref)
    x.host.declare_dead(cref)                     # now allowed: it is gone
    with pytest.raises(XenAPI.Failure) as err:
        x.host.destroy(hosts[a.address])
    assert err.value.details == ["HOST_CANNOT_DESTROY_SELF", hosts[a.address]]
    x.host.destroy(cref)                          # and its records go
    assert cref not in x.host.get_all()
    assert all(p["host"] != cref for p in x.PIF.get_all_records().values())
    assert all(c["host"] != cref for c in x.host_cpu.get_all_records().values())


def test_vm_operations_run_on_the_resident_host(pool):
    a, b, c = pool
    password = a.proc.password
    x = a.session(password).xenapi
    hosts = {h["address"]: ref for ref, h in x.host.get_all_records().items()}
    vm = x.VM.create(vm_create_record("placed", memory_mib=256))
    dom = x.VM.get_uuid(vm)             # the domain's name on the hypervisor

    # VM.start without a host: the affinity first; the domain runs on that host's hypervisor
    x.VM.set_affinity(vm, hosts[b.address])
    t0 = time.monotonic()
    x.VM.start(vm, False, False)
    print(f"VM.start forwarded master -> slave over TLS: {(time.monotonic() - t0) * 1000:.0f} ms")
    assert x.VM.get_resident_on(vm) == hosts[b.address]
    assert dom in _domains(b) and dom not in _domains(a)
    # operations on the running VM are carried out by its host, called through the master
    x.VM.pause(vm)
    assert x.VM.get_power_state(vm) == "Paused"
    x.VM.unpause(vm)
    x.VM.hard_shutdown(vm)
    assert x.VM.get_power_state(vm) == "Halted" and dom not in _domains(b)

    # start_on names the host
    x.VM.start_on(vm, hosts[c.address], False, False)
    assert x.VM.get_resident_on(vm) == hosts[c.address] and dom in _domains(c)
    # its host's monitor writes its metrics
    metrics = x.VM.get_metrics(vm)
    _wait(lambda: int(x.VM_metrics.get_memory_actual(metrics)) > 0, 10, "the VM's metrics")
    x.VM.clean_shutdown(vm)
    assert dom not in _domains(c)

    # the affinity host disabled: placed on another host with the memory
    x.host.disable(hosts[b.address])
    x.VM.start(vm, False, False)
    assert x.VM.get_resident_on(vm) != hosts[b.address]
    x.VM.hard_shutdown(vm)
    x.host.enable(hosts[b.address])

    # a disk on B's local SR: only B can run the VM, whatever its affinity
    local_b = local_sr(x, hosts[b.address])
    with_disk(x, vm, local_b, "local")
    x.VM.set_affinity(vm, hosts[c.address])
    with pytest.raises(XenAPI.Failure) as err:
        x.VM.start_on(vm, hosts[c.address], False, False)
    assert err.value.details == ["VM_REQUIRES_SR", vm, local_b]
    x.VM.start(vm, False, False)
    assert x.VM.get_resident_on(vm) == hosts[b.address]
    x.VM.hard_shutdown(vm)

    # more memory than any host has
    big = x.VM.create(vm_create_record("too big", memory_mib=1 << 20))
    with pytest.raises(XenAPI.Failure) as err:
        x.VM.start(big, False, False)
    assert err.value.details[0] == "HOST_NOT_ENOUGH_FREE_MEMORY"
    assert int(err.value.details[1]) == (1 << 20) * (1 << 20)


def _established(address: str, port: int) -> int:
    """Open TCP connections whose server end is address:port (from /proc/net/tcp)."""
    a, b, c, d = (int(x) for x in address.split("."))
    local = f"{d:02X}{c:02X}{b:02X}{a:02X}:{port:04X}"
    with open("/proc/net/tcp") as f:
        return sum(1 for line in f.readlines()[1:]
                   if line.split()[1] == local and line.split()[3] == "01")


def test_a_burst_of_forwarded_calls_shares_kept_connections(pool):
    """More forwarded calls in flight at once than a host accepts connections from one
    address (128): 150 Async.VM.start sent to the master for VMs placed on a slave, each
    held there for its start_delay. The master reuses at most 64 connections to the slave
    (api/pool_links.py) and queues the rest: every start succeeds, none is refused. (With a
    connection per call, the calls past 128 were refused and failed with HOST_OFFLINE.)"""
    a, b, c = pool
    x = a.session(a.proc.password).xenapi
    slave = next(ref for ref, h in x.host.get_all_records().items() if h["address"] == b.address)
    n = 150
    vms = [x.VM.create(vm_create_record(f"burst-{i}", memory_mib=32, static_min_mib=32,
                                        start_delay="2", affinity=slave)) for i in range(n)]
    tasks = [x.Async.VM.start(vm, False, False) for vm in vms]
    peak = 0
    deadline = time.monotonic() + 120
    while any(x.task.get_status(t) == "pending" for t in tasks):
        peak = max(peak, _established(b.address, b.https_port))
        assert time.monotonic() < deadline, "the starts did not finish"
        time.sleep(0.05)
    failed = [x.task.get_error_info(t) for t in tasks if x.task.get_status(t) != "success"]
    assert not failed, failed[:3]
    assert all(x.VM.get_resident_on(vm) == slave for vm in vms)
    assert 0 < peak <= 64 + 8, peak     # the master's links, and what the others opened
    assert "refused a connection" not in b.proc.log()
    for t in tasks:
        x.task.destroy(t)
    for vm in vms:
        x.VM.hard_shutdown(vm)


def test_host_to_host_calls_need_the_pool_secret_and_tls(pool, pg_db):
    import ssl
    import urllib.error
    import urllib.request
    a, b, c = pool
    body = json.dumps({"method": "VM.get_all", "params": []}).encode()
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE

    def status(url: str, secret: str | None) -> int:
        headers = {} if secret is None else {"X-Pool-Secret": secret}
        req = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, context=ctx if url.startswith("https") else None,
                                        timeout=10) as resp:
                return resp.status
        except urllib.error.HTTPError as err:
            return err.code

    def call(h: Host) -> str:
        return f"https://{h.address}:{h.https_port}/pool/call"

    def secret() -> str:
        return pg_db.psql("SELECT value FROM _meta WHERE key = 'pool_secret'")

    assert status(call(b), "guess") == 403
    assert status(f"http://{b.address}:{b.port}/pool/call", None) == 403
    old = secret()
    assert status(call(b), old) == 200

    # pool.rotate_secret: every host refuses the old secret at once (each kept a copy of
    # it), takes the new one, and the master still reaches the slaves
    x = a.session(a.proc.password).xenapi
    hosts = {h["address"]: ref for ref, h in x.host.get_all_records().items()}
    x.pool.rotate_secret()
    new = secret()
    assert new != old
    for h in (b, c):
        assert (status(call(h), old), status(call(h), new)) == (403, 200), h.address
    assert "Xen version" in x.host.dmesg(hosts[c.address])

    # changed behind the hosts' backs: a host given the newer secret reads it again and
    # takes it; the master, whose copy is now refused by that host, reads it and calls again
    pg_db.psql("UPDATE _meta SET value = 'changed-behind-their-backs' WHERE key = 'pool_secret'")
    assert status(call(b), "changed-behind-their-backs") == 200
    assert "Xen version" in x.host.dmesg(hosts[b.address])


def _standalone(tmp_path, port: int, https_port: int, n: int = 3) -> ServerProcess:
    """A host (by default the fourth), standalone on its own SQLite database, same ports as
    the pool's."""
    name = "joiner" if n == 3 else f"joiner{n}"
    work = tmp_path / name
    work.mkdir(exist_ok=True)
    return ServerProcess(str(work), http=False, env={
        "XLSIM_STATE_FILE": str(work / "xlsim.state")}, extra=[
        "--http", f"{ADDRESSES[n]}:{port}", "--https", f"{ADDRESSES[n]}:{https_port}",
        "--cert", str(work / "server.pem"), "--name", name, "--lease-seconds", str(LEASE)])


def _sdk(address: str, port: int, password: str, local: bool = False):
    s = XenAPI.Session(f"http://{address}:{port}")
    if local:
        s.slave_local_login_with_password("root", password)
    else:
        s.xenapi.login_with_password("root", password, "1.0", "pool-test")
    return s.xenapi


def test_join_and_eject(pool, tmp_path):
    a, _b, _c = pool
    password = a.proc.password
    x = a.session(password).xenapi
    d = _standalone(tmp_path, a.port, a.https_port).start()
    try:
        own_pw = d.password
        xd = _sdk(ADDRESSES[3], a.port, own_pw)
        d_host = xd.host.get_all()[0]
        d_uuid = xd.host.get_uuid(d_host)
        d_srs = {r["uuid"] for r in xd.SR.get_all_records().values()}
        vm = xd.VM.create(vm_create_record("joiner's vm"))

        # refused as the reference refuses: running VMs, wrong password, no master there
        xd.VM.start(vm, False, False)
        with pytest.raises(XenAPI.Failure) as err:
            xd.pool.join(a.address, "root", password)
        assert err.value.details == ["JOINING_HOST_CANNOT_HAVE_RUNNING_VMS"]
        xd.VM.hard_shutdown(vm)
        with pytest.raises(XenAPI.Failure) as err:
            xd.pool.join(a.address, "root", "wrong")
        assert err.value.details[0] == "SESSION_AUTHENTICATION_FAILED"
        with pytest.raises(XenAPI.Failure) as err:
            xd.pool.join("127.0.0.99", "root", password)
        assert err.value.details == ["JOINING_HOST_CONNECTION_FAILED"]

        t0 = time.monotonic()
        xd.pool.join(a.address, "root", password)
        pid = d.proc.pid
        # the joiner restarts itself (same process, exec) as a slave of the pool
        _wait(lambda: "HOST_IS_SLAVE" in str(_try(lambda: _sdk(ADDRESSES[3], a.port,
                                                                  password))), 30, "slave")
        print(f"pool.join until the joiner answers as a slave: "
              f"{time.monotonic() - t0:.1f} s")
        assert d.proc.pid == pid and d.proc.poll() is None
        assert d_host in x.host.get_all() and x.host.get_uuid(d_host) == d_uuid
        assert x.host.get_address(d_host) == ADDRESSES[3]
        assert d_srs <= {r["uuid"] for r in x.SR.get_all_records().values()}
        assert {c["host"] for c in x.host_cpu.get_all_records().values()} >= {d_host}
        assert any(p["host"] == d_host for p in x.PIF.get_all_records().values())
        # its TLS certificate's record came along, once
        assert [c["type"] for c in x.Certificate.get_all_records().values()
                if c["host"] == d_host] == ["host"]
        _wait(lambda: _live(x, d_host), 10, "the joined host live")
        # the pool's users now: the joiner's own root password is gone with its database
        assert len(_sdk(ADDRESSES[3], a.port, password, local=True).host.get_all()) == 4

        # eject: its records go, it restarts standalone on a fresh SQLite database
        x.pool.eject(d_host)
        _wait(lambda: d_host not in x.host.get_all(), 10, "the ejected host's records gone")
        assert not [c for c in x.Certificate.get_all_records().values() if c["host"] == d_host]
        # a fresh database: a new root password, and logins as its own master
        _wait(lambda: not isinstance(_try(lambda: _sdk(ADDRESSES[3], a.port, d.password)),
                                     (list, type(None))), 30, "standalone again")
        xs = _sdk(ADDRESSES[3], a.port, d.password)
        assert [xs.host.get_uuid(h) for h in xs.host.get_all()] == [d_uuid]
        assert len(x.host.get_all()) == 3
        assert d.proc.pid == pid
    finally:
        d.stop()
    assert "Traceback" not in d.log(), d.log()


def _try(fn):
    try:
        return fn()
    except XenAPI.Failure as f:
        return f.details
    except OSError:
        return None


def test_hosts_starting_at_once_all_join(tmp_path, pg_db):
    """Hosts added to a pool together: three start for the first time at once beside the
    master, on a pool with no default SR, so each one's first start writes the pool's SRs as
    well as its own host, PIFs and storage. Every one serves, with its own local SR and ISO
    library; the pool's three SRs are one of them. (A start that lost the race for the pool
    record once stopped with "pool ... was changed by another server".)"""
    port, https_port = _free_port(), _free_port()
    hosts = [Host(tmp_path, n, pg_db.url, port, https_port) for n in range(4)]
    try:
        hosts[0].start()
        password = hosts[0].proc.password
        x = hosts[0].session(password).xenapi
        pool_ref = x.pool.get_all()[0]
        x.pool.set_default_SR(pool_ref, NULL)
        x.pool.set_suspend_image_SR(pool_ref, NULL)
        x.pool.set_crash_dump_SR(pool_ref, NULL)
        for h in hosts[1:]:
            h.launch()
        for h in hosts[1:]:
            h.ready()
        by_addr = {rec["address"]: ref for ref, rec in x.host.get_all_records().items()}
        assert set(by_addr) == set(ADDRESSES)
        types = {}
        for rec in x.SR.get_all_records().values():
            for pbd in rec["PBDs"]:
                types.setdefault(x.PBD.get_host(pbd), []).append(rec["type"])
        assert all(sorted(types[ref]) == ["file", "iso"] for ref in by_addr.values()), types
        default = x.pool.get_default_SR(pool_ref)
        slaves = [by_addr[h.address] for h in hosts[1:]]
        assert default in {local_sr(x, ref) for ref in slaves}
        assert x.pool.get_suspend_image_SR(pool_ref) == default
        assert x.pool.get_crash_dump_SR(pool_ref) == default
    finally:
        stop_all([h.proc for h in hosts])


def test_two_hosts_joining_at_once(tmp_path, pg_db):
    """Two standalone hosts call pool.join on the same master at the same time (a client
    adding several hosts in one go): both become slaves of it, each with its own SRs."""
    port, https_port = _free_port(), _free_port()
    master = Host(tmp_path, 0, pg_db.url, port, https_port)
    joiners = {n: _standalone(tmp_path, port, https_port, n) for n in (2, 3)}
    try:
        master.start()
        password = master.proc.password
        x = master.session(password).xenapi
        for j in joiners.values():
            j.launch()
        for j in joiners.values():
            j.ready()
        uuids = {n: _sdk(ADDRESSES[n], port, j.password).host.get_uuid(
            _sdk(ADDRESSES[n], port, j.password).host.get_all()[0]) for n, j in joiners.items()}
        failures: list = []

        def join(n: int) -> None:
            try:
                _sdk(ADDRESSES[n], port, joiners[n].password).pool.join(
                    master.address, "root", password)
            except Exception as exc:    # noqa: BLE001 - reported by the assertion below
                failures.append((n, exc))

        threads = [threading.Thread(target=join, args=(n,)) for n in joiners]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert failures == []
        for n in joiners:
            _wait(lambda: _try(lambda: _sdk(ADDRESSES[n], port, password)) == [
                "HOST_IS_SLAVE", master.address], 30, f"host {n} a slave")
        hosts = {rec["uuid"]: ref for ref, rec in x.host.get_all_records().items()}
        assert len(hosts) == 3 and set(uuids.values()) <= set(hosts)
        for uuid in uuids.values():
            _wait(lambda: _live(x, hosts[uuid]), 10, "the joined host live")
        assert sorted(r["name_label"] for r in x.SR.get_all_records().values()) == [
            "ISO library"] * 3 + ["Local storage"] * 3
    finally:
        stop_all([master.proc, *joiners.values()])


def test_pool_create_moves_a_standalone_host_into_postgresql(tmp_path, pg_db):
    """`xenapi-server pool-create --from-db x.db --to postgresql://...`: nothing lost, the
    running VM keeps running, the host is the pool's master, a second host joins as a slave."""
    from serverproc import SERVER
    port, https_port = _free_port(), _free_port()
    first = _standalone(tmp_path, port, https_port).start()
    password = first.password
    x = _sdk(ADDRESSES[3], port, password)
    vm = x.VM.create(vm_create_record("keeps running"))
    x.VM.start(vm, False, False)
    domid = x.VM.get_domid(vm)
    before = {cls: getattr(x, cls).get_all_records()
              for cls in ("host", "VM", "SR", "VDI", "PBD", "network", "PIF", "pool")}
    first.stop()                                  # SIGTERM: the domain stays on the host

    out = subprocess.run([SERVER, "pool-create", "--from-db", first.db, "--to", pg_db.url],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    print(out.stdout.strip())
    again = subprocess.run([SERVER, "pool-create", "--from-db", first.db, "--to", pg_db.url],
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and "already in a pool" in again.stderr

    first.start()                                 # the same command, now on PostgreSQL
    try:
        assert "shared database" in first.log()
        x = _sdk(ADDRESSES[3], port, password)
        assert x.VM.get_power_state(vm) == "Running" and x.VM.get_domid(vm) == domid
        for cls, recs in before.items():
            now = getattr(x, cls).get_all_records()
            assert set(now) == set(recs), cls
            for ref, rec in recs.items():
                assert now[ref]["uuid"] == rec["uuid"]
        assert x.pool.get_master(x.pool.get_all()[0]) == next(iter(before["host"]))
        assert int(pg_db.psql("SELECT count(*) FROM _lease WHERE name = 'master'")) == 1
        x.VM.hard_shutdown(vm)
    finally:
        first.stop()


def test_shared_sr_is_plugged_everywhere_and_each_host_keeps_its_attachments(pool, tmp_path):
    a, b, c = pool
    password = a.proc.password
    x = a.session(password).xenapi
    hosts = {h["address"]: ref for ref, h in x.host.get_all_records().items()}
    path = tmp_path / "shared-sr"
    sr = shared_sr(x, hosts[a.address], path)
    pbds = [x.PBD.get_record(p) for p in x.SR.get_PBDs(sr)]
    assert sorted(p["host"] for p in pbds) == sorted(hosts.values())
    assert all(p["currently_attached"] for p in pbds)

    vm = x.VM.create(vm_create_record("on shared storage"))
    vdi = with_disk(x, vm, sr)
    x.VM.start_on(vm, hosts[b.address], False, False)
    vdi_uuid = x.VDI.get_uuid(vdi)
    record = path / ".attach" / vdi_uuid
    b_uuid = x.host.get_uuid(hosts[b.address])
    assert json.loads(record.read_text())["hosts"] == {b_uuid: 1}

    # another host's restart reconciles only its own attachments: B's stays
    c.proc.stop()
    c.start()
    assert json.loads(record.read_text())["hosts"] == {b_uuid: 1}
    # B's own restart keeps it once (its domain still holds the disk)
    b.proc.stop()
    b.start()
    assert json.loads(record.read_text())["hosts"] == {b_uuid: 1}
    assert x.VM.get_power_state(vm) == "Running"
    # the disk is B's: a writable attach elsewhere is refused until B lets go
    x.VM.hard_shutdown(vm)
    assert not record.exists()
    x.VM.start_on(vm, hosts[c.address], False, False)
    assert json.loads(record.read_text())["hosts"] == {x.host.get_uuid(hosts[c.address]): 1}
    x.VM.hard_shutdown(vm)


def test_a_stopped_master_loses_its_role_and_writes_nothing(pool, pg_db):
    """SIGSTOP the master past its lease, a slave takes over, SIGCONT: the old master's writes
    are refused (its epoch is stale), it stops by itself and leaves its domain alone."""
    a, b, c = pool
    password = a.proc.password
    x = a.session(password).xenapi
    hosts = {h["address"]: ref for ref, h in x.host.get_all_records().items()}
    vm = x.VM.create(vm_create_record("on the old master"))
    x.VM.start_on(vm, hosts[a.address], False, False)
    dom = x.VM.get_uuid(vm)

    proc = a.proc.proc
    os.kill(proc.pid, signal.SIGSTOP)
    time.sleep(LEASE + 1)
    xb = b.local_session(password).xenapi
    xb.pool.emergency_transition_to_master()
    xn = b.session(password).xenapi
    _wait(lambda: not _live(xn, hosts[a.address]), 3 * LEASE + 5, "the old master not live")
    gen = int(pg_db.psql("SELECT gen FROM _head"))
    a_uuid = xn.host.get_uuid(hosts[a.address])
    os.kill(proc.pid, signal.SIGCONT)
    assert proc.wait(20) == 3                     # fenced: it stopped by itself
    log = a.proc.log()
    assert "fenced" in log
    metrics_uuid = xn.host_metrics.get_uuid(xn.host.get_metrics(hosts[a.address]))
    rows = pg_db.psql(f"SELECT count(*) FROM _log WHERE gen > {gen} AND uuid IN "
                      f"('{a_uuid}', '{metrics_uuid}', '{dom}')")
    assert rows == "0"
    assert xn.pool.get_master(xn.pool.get_all()[0]) == hosts[b.address]
    assert dom in _domains(a)                     # its domain left as it was
    # the dead host declared dead: its VM is halted in the records and starts elsewhere
    xn.host.declare_dead(hosts[a.address])
    assert xn.VM.get_power_state(vm) == "Halted"
    xn.VM.start_on(vm, hosts[c.address], False, False)
    assert dom in _domains(c)
    xn.VM.hard_shutdown(vm)
    # Xen Orchestra's connector, pointed at the remaining slave, follows to the new master
    require_node()
    out = subprocess.run(["node", os.path.join(NODE_DIR, "xo_pool.mjs"), c.url, "root",
                          password], capture_output=True, text=True, timeout=90, cwd=NODE_DIR)
    ready = [json.loads(line) for line in out.stdout.splitlines()
             if json.loads(line)["step"] == "ready"]
    assert ready and ready[0]["hostname"] == b.address, (out.stdout, out.stderr)
