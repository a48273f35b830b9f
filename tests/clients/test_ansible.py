"""Ansible's XenServer modules (community.general, shipped in the pinned `ansible` package) run
by the real `ansible` CLI against the real server process: xenserver_guest_info finds a VM by
name and by uuid, xenserver_guest_powerstate drives it through every state it supports,
xenserver_guest creates a VM from a template (disk, NIC), reconfigures and removes it. Each
result is checked in the module's JSON output and again through the official Python SDK."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest
import XenAPI
from serverproc import VENV_BIN
from vm_records import vm_create_record

HERE = os.path.join(os.path.dirname(__file__), "ansible")
ANSIBLE = os.path.join(VENV_BIN, "ansible")
PLAYBOOK = os.path.join(VENV_BIN, "ansible-playbook")
NULL = "OpaqueRef:NULL"
MiB = 1 << 20

if not os.path.exists(ANSIBLE):
    raise RuntimeError("ansible missing from the venv: .venv/bin/pip install ansible==12.3.0")


def ansible_env(tmp: str) -> dict[str, str]:
    """JSON output; nothing written outside tmp; modules run by this venv's python."""
    return {**os.environ, "ANSIBLE_STDOUT_CALLBACK": "json", "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
            "ANSIBLE_HOME": tmp, "ANSIBLE_LOCAL_TEMP": os.path.join(tmp, "tmp"),
            "ANSIBLE_NOCOLOR": "1", "ANSIBLE_PYTHON_INTERPRETER": sys.executable}


def run_module(server, tmp: str, module: str, args: dict, *, check: bool = False) -> dict:
    """One ad-hoc `ansible localhost -m community.general.<module>`; its task result."""
    env = ansible_env(tmp)
    args = {"hostname": server.url, "username": "root", "password": server.password,
            "validate_certs": False, **args}
    cmd = [ANSIBLE, "localhost", "-i", os.path.join(HERE, "inventory.ini"),
           "-m", f"community.general.{module}", "-a", json.dumps(args)]
    if check:
        cmd.append("--check")
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    try:
        out = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"ansible rc={proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    result = out["plays"][0]["tasks"][0]["hosts"]["localhost"]
    assert (proc.returncode != 0) == bool(result.get("failed")), (proc.returncode, result)
    return result


def ok(result: dict) -> dict:
    assert not result.get("failed"), result.get("msg", result)
    return result


@pytest.fixture(scope="module")
def x(server):
    s = XenAPI.Session(server.url)
    s.xenapi.login_with_password("root", server.password, "1.0", "pytest-ansible")
    yield s.xenapi
    s.xenapi.session.logout()


@pytest.fixture(scope="module")
def vm(x):
    """A halted PV VM with one disk on the default SR, an empty CD drive and one NIC, like a
    VM installed from a template."""
    name = f"ansible-{uuid.uuid4().hex[:8]}"
    ref = x.VM.create(vm_create_record(
        name, static_max_mib=512, vcpus=2, name_description="driven by ansible",
        platform={"cores-per-socket": "2"}, other_config={"folder": "/lab"},
        xenstore_data={"vm-data/networks/0/gateway": "10.0.0.1"}))
    sr = x.pool.get_default_SR(x.pool.get_all()[0])
    vdi = x.VDI.create({"SR": sr, "virtual_size": str(64 * MiB), "type": "user",
                        "sharable": False, "read_only": False, "other_config": {},
                        "name_label": "root", "name_description": "root disk"})
    x.VBD.create({"VM": ref, "VDI": vdi, "userdevice": "0", "bootable": True, "mode": "RW",
                  "type": "Disk", "empty": False, "other_config": {},
                  "qos_algorithm_type": "", "qos_algorithm_params": {}})
    x.VBD.create({"VM": ref, "VDI": NULL, "userdevice": "3", "bootable": False, "mode": "RO",
                  "type": "CD", "empty": True, "other_config": {},
                  "qos_algorithm_type": "", "qos_algorithm_params": {}})   # an empty drive
    net = x.network.create({"name_label": name + "-net", "name_description": "", "MTU": "1500",
                            "other_config": {}})
    x.VIF.create({"device": "0", "network": net, "VM": ref, "MAC": "", "MTU": "1500",
                  "other_config": {}, "qos_algorithm_type": "", "qos_algorithm_params": {}})
    yield {"ref": ref, "name": name, "uuid": x.VM.get_uuid(ref), "sr": sr, "net": net}
    if x.VM.get_power_state(ref) != "Halted":
        x.VM.hard_shutdown(ref)
    x.VM.destroy(ref)


def test_guest_info_by_name_and_by_uuid(server, x, vm, tmp_path):
    by_name = ok(run_module(server, str(tmp_path), "xenserver_guest_info", {"name": vm["name"]}))
    assert by_name["changed"] is False
    facts = by_name["instance"]
    rec = x.VM.get_record(vm["ref"])
    assert facts["uuid"] == rec["uuid"] == vm["uuid"]
    assert facts["name"] == vm["name"] and facts["name_desc"] == "driven by ansible"
    # never started: "-1" (xenapi.json: "domain ID (if available, -1 otherwise)")
    assert facts["state"] == "poweredoff" and facts["domid"] == rec["domid"] == "-1"
    assert facts["is_template"] is False and facts["folder"] == "/lab"
    assert facts["hardware"] == {"num_cpus": 2, "num_cpu_cores_per_socket": 2, "memory_mb": 256}
    assert facts["home_server"] == ""               # no affinity
    assert facts["customization_agent"] == "custom"  # no guest agent reports static-ip setting
    sr = x.SR.get_record(vm["sr"])
    [disk_vbd] = [v for v in map(x.VBD.get_record, rec["VBDs"]) if v["type"] == "Disk"]
    [disk] = facts["disks"]                         # the CD drive is no disk
    assert disk == {"size": 64 * MiB, "name": "root", "name_desc": "root disk",
                    "sr": sr["name_label"], "sr_uuid": sr["uuid"],
                    "os_device": disk_vbd["device"], "vbd_userdevice": "0"}
    [nic] = facts["networks"]
    vif = x.VIF.get_record(rec["VIFs"][0])
    assert nic["name"] == vm["name"] + "-net" and nic["vif_device"] == "0"
    assert nic["mac"] == vif["MAC"] and len(vif["MAC"]) == 17 and nic["mtu"] == "1500"
    assert nic["gateway"] == "10.0.0.1"             # from xenstore_data (custom agent)
    assert facts["cdrom"] == {"type": "none"}

    by_uuid = ok(run_module(server, str(tmp_path), "xenserver_guest_info", {"uuid": vm["uuid"]}))
    assert by_uuid["instance"] == facts


def test_guest_info_unknown_vm_fails_clearly(server, vm, tmp_path):
    res = run_module(server, str(tmp_path), "xenserver_guest_info", {"name": "no-such-vm"})
    assert res["failed"] and res["msg"] == "VM search: VM with name 'no-such-vm' not found!"
    bad = str(uuid.uuid4())
    res = run_module(server, str(tmp_path), "xenserver_guest_info", {"uuid": bad})
    assert res["failed"] and res["msg"] == f"VM search: VM with UUID '{bad}' not found!"


def test_bad_password_fails_login(server, vm, tmp_path):
    res = run_module(server, str(tmp_path), "xenserver_guest_info",
                     {"name": vm["name"], "password": "wrong"})
    assert res["failed"]
    assert res["msg"].startswith(f"Unable to log on to XenServer at {server.url} as root: ")
    assert "SESSION_AUTHENTICATION_FAILED" in res["msg"]


def test_power_cycle(server, x, vm, tmp_path):
    tmp, ref = str(tmp_path), vm["ref"]

    def power(state: str, *, check: bool = False, **extra) -> dict:
        return run_module(server, tmp, "xenserver_guest_powerstate",
                          {"name": vm["name"], "state": state, **extra}, check=check)

    # check mode reports the change and makes none
    res = ok(power("powered-on", check=True))
    assert res["changed"] is True and x.VM.get_power_state(ref) == "Halted"

    res = ok(power("powered-on"))                   # VM.start(ref, False, False)
    assert res["changed"] is True and res["instance"]["state"] == "poweredon"
    assert x.VM.get_power_state(ref) == "Running"
    domid = x.VM.get_domid(ref)
    assert int(domid) > 0 and x.VM.get_resident_on(ref) == x.host.get_all()[0]
    # the module's facts are read before the change (only "state" is updated): ask again
    facts = ok(run_module(server, tmp, "xenserver_guest_info", {"name": vm["name"]}))["instance"]
    assert facts["state"] == "poweredon" and facts["domid"] == domid

    res = ok(power("powered-on"))                   # idempotent
    assert res["changed"] is False and x.VM.get_domid(ref) == domid

    res = ok(power("restarted"))                    # VM.hard_reboot: a new domain
    assert res["changed"] is True and res["instance"]["state"] == "poweredon"
    assert x.VM.get_power_state(ref) == "Running" and x.VM.get_domid(ref) != domid
    domid = x.VM.get_domid(ref)

    res = ok(power("reboot-guest", state_change_timeout=30))   # Async.VM.clean_reboot + task
    assert res["changed"] is True and res["instance"]["state"] == "poweredon"
    assert x.VM.get_power_state(ref) == "Running" and x.VM.get_domid(ref) != domid
    domid = x.VM.get_domid(ref)

    res = ok(power("reboot-guest"))                 # state_change_timeout 0: VM.clean_reboot
    assert res["changed"] is True and x.VM.get_domid(ref) != domid

    res = ok(power("suspended"))                    # VM.suspend
    assert res["changed"] is True and res["instance"]["state"] == "suspended"
    assert x.VM.get_power_state(ref) == "Suspended"
    assert x.VM.get_suspend_VDI(ref) != NULL
    res = power("restarted")
    assert res["failed"] and res["msg"] == "Cannot restart VM in state 'suspended'!"
    assert x.VM.get_power_state(ref) == "Suspended"

    res = ok(power("powered-on"))                   # VM.resume(ref, False, False)
    assert res["changed"] is True and res["instance"]["state"] == "poweredon"
    assert x.VM.get_power_state(ref) == "Running" and x.VM.get_suspend_VDI(ref) == NULL

    x.VM.pause(ref)
    res = ok(power("present"))
    assert res["changed"] is False and res["instance"]["state"] == "paused"
    res = ok(power("powered-on"))                   # VM.unpause
    assert res["changed"] is True and x.VM.get_power_state(ref) == "Running"

    res = ok(power("shutdown-guest", state_change_timeout=30))  # Async.VM.clean_shutdown
    assert res["changed"] is True and res["instance"]["state"] == "poweredoff"
    assert x.VM.get_power_state(ref) == "Halted" and x.VM.get_domid(ref) == "-1"
    # the module destroys the task it waited for
    assert not [t for t in x.task.get_all_records().values()
                if t["name_label"] == "Async.VM.clean_shutdown"]

    for state, word in (("suspended", "suspend VM"),
                        ("shutdown-guest", "shutdown guest when VM is"),
                        ("reboot-guest", "reboot guest when VM is")):
        res = power(state)
        assert res["failed"] and res["msg"] == f"Cannot {word} in state 'poweredoff'!"
    assert x.VM.get_power_state(ref) == "Halted"

    ok(power("powered-on"))
    res = ok(power("shutdown-guest"))               # VM.clean_shutdown
    assert res["changed"] is True and x.VM.get_power_state(ref) == "Halted"

    ok(power("powered-on"))
    res = ok(power("powered-off"))                  # VM.hard_shutdown
    assert res["changed"] is True and res["instance"]["state"] == "poweredoff"
    assert x.VM.get_power_state(ref) == "Halted"
    res = ok(power("powered-off"))
    assert res["changed"] is False


def test_powered_on_waits_for_ip_address(server, x, vm, tmp_path):
    """wait_for_ip_address polls VM_guest_metrics.networks for "0/ip" (the guest agent)."""
    res = ok(run_module(server, str(tmp_path), "xenserver_guest_powerstate",
                        {"uuid": vm["uuid"], "state": "powered-on", "wait_for_ip_address": True,
                         "state_change_timeout": 30}))
    try:
        metrics = x.VM_guest_metrics.get_record(x.VM.get_guest_metrics(vm["ref"]))
        assert metrics["networks"]["0/ip"]
        assert res["instance"]["networks"][0]["ip"] == metrics["networks"]["0/ip"]
    finally:
        x.VM.hard_shutdown(vm["ref"])


def test_playbook_power_cycle(server, x, vm, tmp_path):
    """ansible-playbook with the local inventory: info, power on (twice), guest reboot through
    an Async task, guest shutdown; the playbook asserts on the module results itself."""
    assert x.VM.get_power_state(vm["ref"]) == "Halted"
    extra = {"xen_url": server.url, "xen_password": server.password, "vm_uuid": vm["uuid"],
             "vm_name": vm["name"]}
    proc = subprocess.run([PLAYBOOK, "-i", os.path.join(HERE, "inventory.ini"),
                           os.path.join(HERE, "power_cycle.yml"), "-e", json.dumps(extra)],
                          env=ansible_env(str(tmp_path)), capture_output=True, text=True,
                          timeout=300)
    out = json.loads(proc.stdout)
    results = {t["task"]["name"]: t["hosts"]["localhost"] for t in out["plays"][0]["tasks"]}
    assert proc.returncode == 0, [r.get("msg") for r in results.values() if r.get("failed")]
    assert out["stats"]["localhost"]["failures"] == 0
    assert out["stats"]["localhost"]["changed"] == 3
    assert results["Every step did what it says"]["msg"] == "All assertions passed"
    domid = results["Running, with a new domain"]["instance"]["domid"]
    assert domid != results["Find the VM by name"]["instance"]["domid"]
    assert x.VM.get_power_state(vm["ref"]) == "Halted" and x.VM.get_domid(vm["ref"]) == "-1"


def test_guest_create_reconfigure_remove(server, x, tmp_path):
    """xenserver_guest as installers use it: a VM from the "Generic Linux PV" template (VM.copy
    to the default SR, VM.provision, which must leave a VM and no template), with a disk and a
    NIC, powered on; then its vCPUs and memory reconfigured (halted first: the module calls
    VM.get_allowed_VBD/VIF_devices on every reconfigure); then removed with its disk."""
    tmp = str(tmp_path)
    name = f"ansible-guest-{uuid.uuid4().hex[:6]}"
    net = x.network.create({"name_label": name + "-net", "name_description": "",
                            "MTU": "1500", "other_config": {}})

    def guest(**args) -> dict:
        return run_module(server, tmp, "xenserver_guest", {"name": name, **args})

    spec = {"template": "Generic Linux PV",
            "disks": [{"size_mb": 64, "name": name + "-disk"}],
            "networks": [{"name": name + "-net"}],
            "hardware": {"num_cpus": 1, "memory_mb": 256}}
    res = ok(guest(state="poweredon", **spec))
    assert res["changed"] is True
    [ref] = x.VM.get_by_name_label(name)
    rec = x.VM.get_record(ref)
    assert rec["is_a_template"] is False and rec["power_state"] == "Running"
    assert rec["VCPUs_max"] == "1" and rec["memory_static_max"] == str(256 * MiB)
    disks = [x.VBD.get_record(b) for b in rec["VBDs"] if x.VBD.get_type(b) == "Disk"]
    assert [int(x.VDI.get_virtual_size(d["VDI"])) for d in disks] == [64 * MiB]
    assert x.VDI.get_name_label(disks[0]["VDI"]) == name + "-disk"
    [vif] = rec["VIFs"]
    assert x.VIF.get_network(vif) == net and x.VIF.get_device(vif) == "0"
    assert res["instance"]["state"] == "poweredon"

    res = ok(guest(state="present", **spec))          # idempotent
    assert res["changed"] is False

    # vCPUs and memory need the VM halted: force lets the module shut it down and back up
    res = ok(guest(state="present", force=True,
                   **{**spec, "hardware": {"num_cpus": 2, "memory_mb": 512}}))
    assert res["changed"] is True
    rec = x.VM.get_record(ref)
    assert rec["VCPUs_max"] == "2" and rec["VCPUs_at_startup"] == "2"
    assert rec["memory_static_max"] == str(512 * MiB)
    assert rec["memory_dynamic_max"] == str(512 * MiB)
    assert rec["power_state"] == "Running"            # powered on again, as it was
    assert res["instance"]["hardware"]["num_cpus"] == 2
    assert res["instance"]["hardware"]["memory_mb"] == 512

    vdi = disks[0]["VDI"]
    res = ok(guest(state="absent", force=True))
    assert res["changed"] is True
    assert x.VM.get_by_name_label(name) == []
    assert vdi not in x.VDI.get_all()                 # its disk went with it
    x.network.destroy(net)
