"""Children added to one parent from several hosts of a pool at once (disks made on one
shared SR through the master and through two slaves, VBDs of one VM) all succeed and all
show in the parent's set on every host.

A call used to write the parent's whole set back (SR.VDIs with its new disk) in its own
transaction; on the pool's shared database a write to an object another host wrote since the
call's reads began is refused as stale, so every two calls adding children to one parent from
two hosts collided on the parent, and Async calls (not retried) failed with
OTHER_OPERATION_IN_PROGRESS on the SR. Now the store keeps the sets itself when it applies a
commit, on every host, and a call writes only its own objects."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from poolhosts import pool, shared_sr, wait  # noqa: F401
from vm_records import vm_create_record

PER_HOST = 12


def _vdi(sr: str, name: str) -> dict:
    return {"SR": sr, "virtual_size": str(8 << 20), "type": "user", "sharable": False,
            "read_only": False, "other_config": {}, "name_label": name,
            "name_description": ""}


def _vbd(vm: str, vdi: str, n: int) -> dict:
    return {"VM": vm, "VDI": vdi, "userdevice": str(n), "bootable": False, "mode": "RW",
            "type": "Disk", "empty": False, "other_config": {}, "qos_algorithm_type": "",
            "qos_algorithm_params": {}, "device": "", "unpluggable": True}


def _everywhere(sessions: list, what: str, calls) -> set[str]:
    """Run `calls(i, session)` (Async calls: their tasks) from every host's session at once;
    the references made, once every task succeeded (a task lives on the host that runs it)."""
    def start(i: int) -> list[tuple[object, str]]:
        return [(sessions[i], t) for t in calls(i, sessions[i])]

    with ThreadPoolExecutor(len(sessions)) as ex:
        tasks = [t for ts in ex.map(start, range(len(sessions))) for t in ts]
    wait(lambda: all(s.task.get_status(t) != "pending" for s, t in tasks), 120, "the tasks")
    ended = [(s.task.get_status(t), s.task.get_result(t), s.task.get_error_info(t))
             for s, t in tasks]
    for s, t in tasks:
        s.task.destroy(t)
    failed = [e for e in ended if e[0] != "success"]
    assert not failed, f"{len(failed)} of {len(ended)} {what} failed: {failed[:3]}"
    return {_ref(r) for _s, r, _e in ended}


def test_children_added_from_every_host_at_once(pool, tmp_path):  # noqa: F811
    a, b, c = pool
    password = a.proc.password
    x = a.session(password).xenapi
    hosts = {h["address"]: ref for ref, h in x.host.get_all_records().items()}
    sr = shared_sr(x, hosts[a.address], tmp_path / "shared-sr")
    # one session per host: the master's, and each slave's own (it writes to the database
    # itself, as a slave does for the calls it runs)
    sessions = [x, b.local_session(password).xenapi, c.local_session(password).xenapi]

    made = _everywhere(sessions, "VDI.create", lambda i, s: [
        s.Async.VDI.create(_vdi(sr, f"h{i}-{n}")) for n in range(PER_HOST)])
    assert len(made) == len(sessions) * PER_HOST
    for h, s in zip(pool, sessions):
        listed = s.SR.get_VDIs(sr)
        assert sorted(listed) == sorted(set(listed)) and set(listed) == made, \
            f"{h.address}: SR.VDIs lists {len(set(listed) & made)} of {len(made)}"

    # VBDs of one VM from every host at once: VM.VBDs lists them all
    vm = x.VM.create(vm_create_record("many disks"))
    # each host applies the others' commits as the database notifies it
    wait(lambda: all(vm in s.VM.get_all() for s in sessions), 20, "the VM on every host")
    order = sorted(made)

    vbds = _everywhere(sessions, "VBD.create", lambda i, s: [
        s.Async.VBD.create(_vbd(vm, order[i * 4 + n], i * 4 + n)) for n in range(4)])
    for h, s in zip(pool, sessions):
        assert set(s.VM.get_VBDs(vm)) == vbds, h.address

    # and a host that starts afresh (its memory loaded from the database) agrees
    c.proc.stop()
    c.start()
    y = c.local_session(password).xenapi
    assert set(y.SR.get_VDIs(sr)) == made
    assert set(y.VM.get_VBDs(vm)) == vbds


def _ref(result: str) -> str:
    """The reference in a task's result (`<value>OpaqueRef:...</value>`)."""
    return result.replace("<value>", "").replace("</value>", "").strip()
