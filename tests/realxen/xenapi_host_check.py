"""From the host: drive the XenAPI server running in dom0 with the official XenAPI client:
read the host (checked against dom0's own physinfo), then the whole life of a PV VM on the
real hypervisor: create (disk in the local file SR, NIC on dom0's bridge), start, Running
through event.from, the guest's banner, VM_metrics from Xen, clean shutdown, destroy.

dom0 prints what only it can see on the serial console, which this script reads:
  REALXEN-PHYSINFO nr_cpus=N total_memory=MiB      (from `xl info`, before the server starts)
  REALXEN-GUESTLOG <domain name> <line>            (REALXEN-GUEST-* lines of guests' consoles)
The domain of a VM is named after the VM's uuid.

Prints one line starting with OK or FAIL (the verdict handed back to dom0); the lines before
it say what each check saw.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import Any, Callable

MiB = 1 << 20
NULL = "OpaqueRef:NULL"
BRIDGE = "xenbr0"           # made by dom0/xenapi_phase.sh before the server starts
GUEST_KERNEL = "/realxen/guest/vmlinuz"     # inside dom0 (build_images.py puts them there)
GUEST_RAMDISK = "/realxen/guest/initrd.gz"
GUEST_MEM = 128 * MiB
BALLOON_MEM = 96 * MiB
VDI_SIZE = 16 * MiB


class CheckFailed(Exception):
    """A check saw something other than what the real hypervisor should show."""


class Console:
    """dom0's serial console as QEMU writes it (a file that grows)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def text(self) -> str:
        return self.path.read_bytes().decode(errors="replace").replace("\r", "")

    def wait(self, pattern: str, seconds: float) -> re.Match[str] | None:
        end = deadline(seconds)
        rx = re.compile(pattern)
        while True:
            if m := rx.search(self.text()):
                return m
            if time.monotonic() > end:
                return None
            time.sleep(0.5)


# Every wait for a state is PATIENCE times its nominal limit: it ends as soon as the state is
# reached, so a generous limit costs a fast machine nothing and lets a slower one (several
# times slower under TCG) finish. boot.py ends a run that stops progressing altogether.
PATIENCE = 4.0


def deadline(seconds: float) -> float:
    return time.monotonic() + seconds * PATIENCE


def say(msg: str) -> None:
    print(msg, flush=True)


def check_host(x: Any, console: Console) -> str:
    hosts = x.host.get_all()
    if len(hosts) != 1:
        raise CheckFailed(f"expected one host, got {len(hosts)}")
    rec = x.host.get_record(hosts[0])
    m = console.wait(r"REALXEN-PHYSINFO nr_cpus=(\d+) total_memory=(\d+)", 5)
    if not m:
        raise CheckFailed("dom0 printed no REALXEN-PHYSINFO line")
    nr_cpus, total_mib = int(m.group(1)), int(m.group(2))
    if len(rec["host_CPUs"]) != nr_cpus:
        raise CheckFailed(f"host_CPUs has {len(rec['host_CPUs'])} entries, xl info nr_cpus={nr_cpus}")
    xen = rec["software_version"].get("xen", "")
    if not xen.startswith("4.17"):
        raise CheckFailed(f"software_version xen={xen!r}, expected 4.17.x")
    hm = x.host_metrics.get_record(rec["metrics"])
    total = int(hm["memory_total"])
    # xl rounds total_pages down to MiB; the server reports bytes.
    if total // MiB != total_mib:
        raise CheckFailed(f"host_metrics memory_total={total} ({total // MiB} MiB), "
                          f"xl info total_memory={total_mib} MiB")
    free = int(hm["memory_free"])
    if not 0 < free < total:
        raise CheckFailed(f"host_metrics memory_free={free} not within (0, {total})")
    return (f"host name_label={rec['name_label']!r} xen={xen} host_CPUs={nr_cpus} "
            f"memory_total={total_mib}MiB free={free // MiB}MiB")


def vm_record(name: str) -> dict[str, Any]:
    mem = str(GUEST_MEM)
    return {"name_label": name, "name_description": "realxen PV guest", "user_version": "1",
            "is_a_template": False, "affinity": NULL,
            "memory_static_max": mem, "memory_dynamic_max": mem,
            "memory_dynamic_min": mem, "memory_static_min": str(BALLOON_MEM),
            "VCPUs_params": {}, "VCPUs_max": "2", "VCPUs_at_startup": "1",
            "actions_after_shutdown": "destroy", "actions_after_reboot": "restart",
            "actions_after_crash": "destroy", "PV_bootloader": "", "PV_kernel": GUEST_KERNEL,
            "PV_ramdisk": GUEST_RAMDISK, "PV_args": "console=hvc0 quiet", "PV_bootloader_args": "",
            "PV_legacy_args": "", "HVM_boot_policy": "", "HVM_boot_params": {},
            "platform": {}, "PCI_bus": "", "other_config": {}, "recommendations": ""}


class Watcher:
    """A blocking event.from with a class subscription ("VM"): the VM's latest power state."""

    def __init__(self, x: Any, vm: str) -> None:
        self.x, self.vm = x, vm
        self.token = x.event.__getattr__("from")(["VM"], "", 0.0)["token"]

    def expect(self, state: str, seconds: float = 60) -> dict[str, Any]:
        end = deadline(seconds)
        seen = []
        while time.monotonic() < end:
            got = self.x.event.__getattr__("from")(["VM"], self.token, 10.0)
            self.token = got["token"]
            snaps = [e["snapshot"] for e in got["events"]
                     if e["ref"] == self.vm and e["operation"] != "del"]
            seen += [s["power_state"] for s in snaps]
            if snaps and snaps[-1]["power_state"] == state:
                return snaps[-1]
        raise CheckFailed(f"event.from never reported {state} in {seconds * PATIENCE:.0f} s "
                          f"(saw {seen})")


def task_result(x: Any, task: str, seconds: float = 120) -> list[str] | None:
    """Waits for an Async task; None on success, else its error_info."""
    end = deadline(seconds)
    while x.task.get_status(task) == "pending":
        if time.monotonic() > end:
            raise CheckFailed(f"task {task} still pending after {seconds * PATIENCE:.0f} s")
        time.sleep(0.5)
    status = x.task.get_status(task)
    info = None if status == "success" else (x.task.get_error_info(task) or [status])
    x.task.destroy(task)
    return info


def failure_text(info: list[str]) -> str:
    return " ".join(str(i) for i in info).replace("\n", " ")[:600]


class Life:
    """The VM's life, one check per step."""

    def __init__(self, x: Any, console: Console) -> None:
        self.x, self.console = x, console
        self.vm = self.vdi = self.vbd = self.vif = self.cp = ""
        self.devices = "none"

    def create(self) -> str:
        x = self.x
        self.vm = x.VM.create(vm_record("realxen-xenapi-guest"))
        self.uuid = x.VM.get_uuid(self.vm)
        sr = x.pool.get_default_SR(x.pool.get_all()[0])
        if sr == NULL:
            raise CheckFailed("the pool has no default SR (the server seeds 'Local storage')")
        self.vdi = x.VDI.create({"SR": sr, "virtual_size": str(VDI_SIZE), "type": "user",
                                 "sharable": False, "read_only": False, "other_config": {},
                                 "name_label": "realxen disk", "name_description": ""})
        self.vbd = self.make_vbd()
        nets = [n for n, r in x.network.get_all_records().items() if r["bridge"] == BRIDGE]
        net = nets[0] if nets else x.network.create({
            "name_label": "realxen bridge", "name_description": "", "MTU": "1500",
            "other_config": {}, "bridge": BRIDGE})
        self.net = net
        self.vif = self.make_vif()
        sr_type = x.SR.get_type(sr)
        return (f"created VM {self.uuid} (128 MiB, 1 of 2 vCPUs, PV {GUEST_KERNEL}), VDI in SR "
                f"type={sr_type}, network bridge={x.network.get_bridge(net)}")

    def make_vbd(self) -> str:
        return self.x.VBD.create({"VM": self.vm, "VDI": self.vdi, "userdevice": "0",
                                  "bootable": False, "mode": "RW", "type": "Disk",
                                  "empty": False, "other_config": {},
                                  "qos_algorithm_type": "", "qos_algorithm_params": {}})

    def make_vif(self) -> str:
        return self.x.VIF.create({"device": "0", "network": self.net, "VM": self.vm, "MAC": "",
                                  "MTU": "1500", "other_config": {}, "qos_algorithm_type": "",
                                  "qos_algorithm_params": {}})

    def try_start(self) -> list[str] | None:
        info = task_result(self.x, self.x.Async.VM.start(self.vm, False, False))
        if info is not None:
            state = self.x.VM.get_power_state(self.vm)
            if state != "Halted":
                raise CheckFailed(f"a failed start left the VM {state}: {failure_text(info)}")
        return info

    def start(self, watcher: Watcher) -> str:
        """Starts with the disk and the NIC; both must attach (libxl's hotplug scripts run
        in dom0: block on a loop device, vif-bridge on xenbr0)."""
        x = self.x
        info = self.try_start()
        if info is not None:
            raise CheckFailed(f"VM.start with disk and NIC failed: {failure_text(info)}")
        snap = watcher.expect("Running")
        domid = int(snap["domid"])
        if domid <= 0:
            raise CheckFailed(f"Running with domid {domid}")
        attached = []
        for cls, ref in (("VBD", self.vbd), ("VIF", self.vif)):
            if ref:
                if not getattr(x, cls).get_currently_attached(ref):
                    raise CheckFailed(f"{cls} not currently_attached on the running VM")
                attached.append(cls)
        self.devices = "+".join(attached) or "none"
        return f"started: event.from saw Running, domid={domid}, attached: {attached or 'none'}"

    @property
    def dom(self) -> str:
        """The guest's console lines: xenconsoled names a log after the domain's name when
        it appears, and a migrated-in domain first has the name <uuid>--incoming."""
        return rf"{self.uuid}(?:--incoming)?"

    def banner(self) -> str:
        m = self.console.wait(rf"REALXEN-GUESTLOG {self.dom} (REALXEN-GUEST-UP[^\n]*)", 90)
        if not m:
            raise CheckFailed("no REALXEN-GUEST-UP from the guest's console in "
                              f"{90 * PATIENCE:.0f} s")
        return f"guest banner: {m.group(1)}"

    def guest_devices(self) -> str:
        """The guest's own view: the VDI as a writable xvda of the VDI's size, the VIF's MAC."""
        m = self.console.wait(rf"REALXEN-GUESTLOG {self.dom} REALXEN-GUEST-DEVICES "
                              r"disks=\[([^\]\n]*)\] nics=\[([^\]\n]*)\]", 30)
        if not m:
            raise CheckFailed("no REALXEN-GUEST-DEVICES line from the guest in "
                              f"{30 * PATIENCE:.0f} s")
        disks = dict(d.split(":", 1) for d in m.group(1).split())
        nics = dict(n.split(":", 1) for n in m.group(2).split())
        if self.vbd:
            want = f"sectors={VDI_SIZE // 512}:rw=ok:tries="
            if not disks.get("xvda", "").startswith(want):
                raise CheckFailed(f"the guest's disks are {disks}, expected xvda {want}N")
        elif disks:
            raise CheckFailed(f"the guest sees disks {disks} but has no VBD")
        macs = sorted(v.removeprefix("mac=") for v in nics.values())
        want_macs = [self.x.VIF.get_MAC(self.vif).lower()] if self.vif else []
        if macs != want_macs:
            raise CheckFailed(f"the guest's NICs have MACs {macs}, the VIF says {want_macs}")
        return f"the guest sees disks={disks} nics={nics}"

    def guest_sees(self, disks: list[str], macs: list[str], after: int,
                   timeout: float = 30) -> int:
        """Waits for the guest's first REALXEN-GUEST-DEVCHANGE line numbered above `after`
        that shows exactly these disks (names) and NIC MACs; returns its number."""
        rx = re.compile(rf"REALXEN-GUESTLOG {self.dom} REALXEN-GUEST-DEVCHANGE n=(\d+) "
                        r"disks=\[([^\]\n]*)\] nics=\[([^\]\n]*)\]")
        end = deadline(timeout)
        seen = []
        while True:
            for m in rx.finditer(self.this_boot()):
                n = int(m.group(1))
                if n <= after:
                    continue
                got_disks = sorted(d.split(":")[0] for d in m.group(2).split())
                got_macs = sorted(v.split("mac=")[1] for v in m.group(3).split())
                if (got_disks, got_macs) == (sorted(disks), sorted(macs)):
                    return n
                if (n, got_disks, got_macs) not in seen:
                    seen.append((n, got_disks, got_macs))
            if time.monotonic() >= end:
                raise CheckFailed(f"the guest never showed disks={disks} macs={macs} "
                                  f"(its changes after #{after}: {seen})")
            time.sleep(0.5)

    def hotplug(self) -> str:
        """VBD and VIF unplugged from the running VM and plugged back: XenAPI's records
        follow, and the guest itself sees the devices go and come back."""
        x = self.x
        mac = x.VIF.get_MAC(self.vif).lower()
        x.VBD.unplug(self.vbd)
        x.VIF.unplug(self.vif)
        if x.VBD.get_currently_attached(self.vbd) or x.VIF.get_currently_attached(self.vif):
            raise CheckFailed("VBD/VIF still currently_attached after unplug")
        n = self.guest_sees([], [], 0)
        x.VBD.plug(self.vbd)
        x.VIF.plug(self.vif)
        if not (x.VBD.get_currently_attached(self.vbd) and x.VIF.get_currently_attached(self.vif)):
            raise CheckFailed("VBD/VIF not currently_attached after plug")
        self.guest_sees(["xvda"], [mac], n)
        return ("hot-unplug and plug of the VBD and the VIF: currently_attached follows, the "
                "guest saw xvda and its NIC go and come back")

    def this_boot(self) -> str:
        """The console from the guest's latest REALXEN-GUEST-UP on: it numbers its device
        changes from 1 in each boot (a reboot or hard_reboot starts again)."""
        text = self.console.text()
        ups = list(re.finditer(rf"REALXEN-GUESTLOG {self.dom} REALXEN-GUEST-UP", text))
        return text[ups[-1].start():] if ups else text

    def last_change(self) -> int:
        """The number of the guest's latest REALXEN-GUEST-DEVCHANGE line in this boot (0:
        none yet)."""
        ns = re.findall(rf"REALXEN-GUESTLOG {self.dom} REALXEN-GUEST-DEVCHANGE n=(\d+) ",
                        self.this_boot())
        return max(map(int, ns), default=0)

    def migrated_messages(self) -> set[str]:
        return {ref for ref, m in self.x.message.get_all_records().items()
                if m["name"] == "VM_MIGRATED" and m["obj_uuid"] == self.uuid}

    def follow_migration(self, host: str, live: bool) -> tuple[Any, list, set, list, float]:
        """Async.VM.pool_migrate to ``host``, following the VM through event.from until the
        task ends: (error_info or None, power states, operations, domids, seconds)."""
        x = self.x
        token = x.event.__getattr__("from")(["VM"], "", 0.0)["token"]
        t0 = time.monotonic()
        task = x.Async.VM.pool_migrate(self.vm, host, {"live": "true" if live else "false"})
        states: list[str] = []
        ops: set[str] = set()
        domids: list[str] = []
        end = deadline(300)
        while True:
            got = x.event.__getattr__("from")(["VM"], token, 2.0)
            token = got["token"]
            for e in got["events"]:
                if e["ref"] != self.vm or e["operation"] == "del":
                    continue
                snap = e["snapshot"]
                states.append(snap["power_state"])
                ops.update(snap["current_operations"].values())
                if not domids or domids[-1] != snap["domid"]:
                    domids.append(snap["domid"])
            if x.task.get_status(task) != "pending" and not got["events"]:
                break
            if time.monotonic() > end:
                raise CheckFailed(f"VM.pool_migrate still pending after {300 * PATIENCE:.0f} s")
        took = time.monotonic() - t0
        return task_result(x, task), states, ops, domids, took

    def pool_migrate(self) -> str:
        """VM.pool_migrate of the running VM to its own host (a localhost migration through
        libxl: the memory streamed into a new domain restored paused, the commit, then it
        runs and the old domain goes). Live first: Debian's Xen 4.17 is built without shadow
        paging, so a PV guest cannot be put in log-dirty mode and a live migration fails
        (the VM must then run on where it was, untouched); then a non-live one. Through
        event.from: power_state Running in every snapshot, pool_migrate in
        current_operations and then cleared, a new domid on the same host; a VM_MIGRATED
        message. The guest runs on: no new boot (the same boot id) and its console goes on
        in the new domain (it sees its NIC unplugged and plugged back, numbering its changes
        on from before). dom0 measures the downtime."""
        x = self.x
        host = x.VM.get_resident_on(self.vm)
        old_domid = x.VM.get_domid(self.vm)
        boots, n0, msgs = self.boots(), self.last_change(), self.migrated_messages()
        notes = []
        info, states, ops, domids, took = self.follow_migration(host, live=True)
        if info is not None:
            rec = x.VM.get_record(self.vm)
            if (rec["power_state"], rec["domid"], rec["current_operations"]) != \
                    ("Running", old_domid, {}) or set(states) - {"Running"}:
                raise CheckFailed(f"a failed live VM.pool_migrate left the VM "
                                  f"{rec['power_state']} in domain {rec['domid']} (was "
                                  f"{old_domid}), operations {rec['current_operations']}, "
                                  f"states seen {states}: {failure_text(info)}")
            notes.append(f"live: refused, the VM ran on in domain {old_domid} "
                         f"({failure_text(info)[:160]})")
            info, states, ops, domids, took = self.follow_migration(host, live=False)
        if info is not None:
            raise CheckFailed(f"VM.pool_migrate to its own host failed: {failure_text(info)}")
        rec = x.VM.get_record(self.vm)
        if set(states) != {"Running"}:
            raise CheckFailed(f"power_state during the migration: {states} (Running only)")
        if "pool_migrate" not in ops:
            raise CheckFailed(f"current_operations never showed pool_migrate (saw {ops})")
        if rec["current_operations"]:
            raise CheckFailed(f"current_operations after: {rec['current_operations']}")
        if (rec["power_state"], rec["resident_on"]) != ("Running", host) or \
                rec["domid"] in (old_domid, "-1"):
            raise CheckFailed(f"after the migration: {rec['power_state']} on "
                              f"{rec['resident_on']} domid {rec['domid']} (was {old_domid})")
        new_msgs = self.migrated_messages() - msgs
        if len(new_msgs) != 1:
            raise CheckFailed(f"{len(new_msgs)} new VM_MIGRATED messages (expected one)")
        for cls, ref in (("VBD", self.vbd), ("VIF", self.vif)):
            if not getattr(x, cls).get_currently_attached(ref):
                raise CheckFailed(f"{cls} not currently_attached after the migration")
        m = self.console.wait(rf"REALXEN-MIGRATION uuid={self.uuid} from=(\d+) "
                              rf"to={rec['domid']} downtime_s=([\d.]+)", 30)
        downtime = f"{float(m.group(2)):.3f} s" if m else "not measured (no line from dom0)"
        # The guest itself: its NIC goes and comes back in the new domain.
        mac = x.VIF.get_MAC(self.vif).lower()
        x.VIF.unplug(self.vif)
        n = self.guest_sees(["xvda"], [], n0)
        x.VIF.plug(self.vif)
        self.guest_sees(["xvda"], [mac], n)
        if self.boots() != boots:
            raise CheckFailed(f"the guest booted again during the migration: {self.boots()}")
        kind = "non-live" if notes else "live"
        return "; ".join(notes + [
            f"VM.pool_migrate to its own host ({kind}) in {took:.1f} s, downtime {downtime}: "
            f"Running throughout ({len(states)} snapshots), pool_migrate seen then cleared, "
            f"domid {old_domid} -> {rec['domid']} ({' -> '.join(domids)}), VM_MIGRATED; the "
            f"guest kept boot {boots[-1] if boots else '?'} and saw its NIC go and come back "
            f"in the new domain"])

    def suspend_resume(self, watcher: Watcher) -> str:
        """VM.suspend writes the guest's memory to a suspend VDI (libxl_domain_suspend, the
        guest cooperating) and ends the domain; VM.resume creates a new domain from it
        (libxl_domain_create_restore) with the disk and NIC attached again. That the guest
        is alive afterwards is shown by the clean shutdown that follows (the guest acts on it)."""
        x = self.x
        old_domid = x.VM.get_domid(self.vm)
        x.VM.suspend(self.vm)
        snap = watcher.expect("Suspended")
        if snap["domid"] != "-1":
            raise CheckFailed(f"Suspended VM still has domid {snap['domid']}")
        vdi = snap["suspend_VDI"]
        if vdi == NULL:
            raise CheckFailed("Suspended VM has no suspend_VDI")
        image = int(x.VDI.get_physical_utilisation(vdi))
        if image < GUEST_MEM // 2:   # the guest's pages (its 128 MiB) and libxl's headers
            raise CheckFailed(f"the suspend VDI occupies {image} bytes")
        x.VM.resume(self.vm, False, False)
        snap = watcher.expect("Running")
        if int(snap["domid"]) <= 0 or snap["domid"] == old_domid:
            raise CheckFailed(f"resumed with domid {snap['domid']} (was {old_domid})")
        if snap["suspend_VDI"] != NULL or vdi in x.VDI.get_all():
            raise CheckFailed("the suspend VDI outlived the resume")
        for cls, ref in (("VBD", self.vbd), ("VIF", self.vif)):
            if not getattr(x, cls).get_currently_attached(ref):
                raise CheckFailed(f"{cls} not currently_attached after resume")
        return (f"suspend: Suspended, suspend image {image / MiB:.1f} MiB; resume: Running "
                f"as domid {snap['domid']} (was {old_domid}), VBD and VIF attached")

    def live_changes(self, watcher: Watcher) -> str:
        """VM.pause/unpause (event.from sees Paused, then Running) and a live memory change:
        VM.set_memory_dynamic_range moves the balloon target and the real guest's balloon
        driver gives the pages back, which VM_metrics.memory_actual shows."""
        x = self.x
        x.VM.pause(self.vm)
        watcher.expect("Paused")
        x.VM.unpause(self.vm)
        watcher.expect("Running")
        target = BALLOON_MEM
        x.VM.set_memory_dynamic_range(self.vm, str(target), str(target))
        if int(x.VM.get_memory_target(self.vm)) != target:
            raise CheckFailed(f"memory_target {x.VM.get_memory_target(self.vm)} after "
                              f"set_memory_dynamic_range({target})")
        metrics = x.VM.get_metrics(self.vm)
        end = deadline(60)
        while (actual := int(x.VM_metrics.get_memory_actual(metrics))) > target + MiB:
            if time.monotonic() > end:
                raise CheckFailed(f"the guest did not balloon down: memory_actual {actual}, "
                                  f"target {target}")
            time.sleep(1)
        x.VM.set_memory_dynamic_range(self.vm, str(GUEST_MEM), str(GUEST_MEM))
        # A second vCPU (VCPUs_max 2, 1 at startup): the guest brings it up, so Xen counts
        # it online and VM_metrics says so after a monitor tick.
        x.VM.set_VCPUs_number_live(self.vm, "2")
        end = deadline(30)
        while (n := x.VM_metrics.get_VCPUs_number(metrics)) != "2":
            if time.monotonic() > end:
                raise CheckFailed(f"VCPUs_number stayed {n} after set_VCPUs_number_live 2")
            time.sleep(1)
        return (f"pause/unpause seen through event.from; set_memory_dynamic_range "
                f"{target // MiB} MiB: the guest ballooned to {actual / MiB:.1f} MiB, then "
                f"back to {GUEST_MEM // MiB} MiB; set_VCPUs_number_live 2: VCPUs_number 2")

    def boots(self) -> list[str]:
        """The boot ids of the guest's banners so far, in order."""
        seen: list[str] = []
        for b in re.findall(rf"REALXEN-GUESTLOG {self.dom} REALXEN-GUEST-UP[^\n]* boot=(\w+)",
                            self.console.text()):
            if b not in seen:
                seen.append(b)
        return seen

    def reboots(self) -> str:
        """VM.clean_reboot (the guest acts on it) and VM.hard_reboot: each gives the VM a
        new domain, in which the guest boots again (a new banner, a new boot id)."""
        x = self.x
        out = []
        for how in ("clean_reboot", "hard_reboot"):
            before, boots = x.VM.get_domid(self.vm), len(self.boots())
            getattr(x.VM, how)(self.vm)
            rec = x.VM.get_record(self.vm)
            if rec["power_state"] != "Running" or rec["domid"] in (before, "-1"):
                raise CheckFailed(f"after VM.{how} the VM is {rec['power_state']} in domain "
                                  f"{rec['domid']} (was {before})")
            end = deadline(90)
            while len(self.boots()) <= boots:
                if time.monotonic() > end:
                    raise CheckFailed("no new banner from the guest in "
                                      f"{90 * PATIENCE:.0f} s after VM.{how}")
                time.sleep(0.5)
            out.append(f"{how}: domain {before} -> {rec['domid']}, the guest booted again")
        return "; ".join(out)

    def checkpoint(self) -> str:
        """VM.checkpoint: the guest's memory into a suspend image and its disk snapshotted
        while it stands still, then it runs on in the same domain (resume in place). The
        steps after this one (metrics, the clean shutdown the guest acts on) show it alive."""
        x = self.x
        domid = x.VM.get_domid(self.vm)
        self.cp = x.VM.checkpoint(self.vm, "realxen checkpoint")
        rec = x.VM.get_record(self.vm)
        if rec["power_state"] != "Running" or rec["domid"] != domid:
            raise CheckFailed(f"after VM.checkpoint the VM is {rec['power_state']} in domain "
                              f"{rec['domid']} (was Running in {domid})")
        c = x.VM.get_record(self.cp)
        if (c["power_state"], c["is_a_snapshot"], c["snapshot_of"]) != \
                ("Suspended", True, self.vm):
            raise CheckFailed(f"checkpoint record: {c['power_state']} "
                              f"is_a_snapshot={c['is_a_snapshot']}")
        image = int(x.VDI.get_physical_utilisation(c["suspend_VDI"]))
        if image < GUEST_MEM // 2:
            raise CheckFailed(f"the checkpoint's memory image occupies {image} bytes")
        return (f"checkpoint: the VM ran on in domain {domid}; the checkpoint is Suspended "
                f"with a {image / MiB:.1f} MiB memory image and {len(c['VBDs'])} disk snapshot")

    def revert(self, watcher: Watcher) -> str:
        """VM.revert to the checkpoint (the VM Halted): the VM is Suspended with a copy of
        the checkpoint's memory, VM.resume brings the guest back from that moment, and it
        acts on a clean shutdown. Then the checkpoint goes, with its memory and disk."""
        x = self.x
        x.VM.revert(self.cp)
        if x.VM.get_power_state(self.vm) != "Suspended":
            raise CheckFailed(f"after VM.revert to a checkpoint the VM is "
                              f"{x.VM.get_power_state(self.vm)}, not Suspended")
        x.VM.resume(self.vm, False, False)
        snap = watcher.expect("Running")
        # revert gave the VM new VBD/VIF records and a clone of the disk
        self.vbd = x.VM.get_VBDs(self.vm)[0]
        self.vif = x.VM.get_VIFs(self.vm)[0]
        self.vdi = x.VBD.get_VDI(self.vbd)
        for cls, ref in (("VBD", self.vbd), ("VIF", self.vif)):
            if not getattr(x, cls).get_currently_attached(ref):
                raise CheckFailed(f"{cls} not attached after resuming the reverted VM")
        x.VM.clean_shutdown(self.vm)
        watcher.expect("Halted")
        cdisks = [x.VBD.get_VDI(b) for b in x.VM.get_VBDs(self.cp)]
        x.VM.destroy(self.cp)
        for v in cdisks:
            x.VDI.destroy(v)
        return (f"revert to the checkpoint: Suspended; resume: Running as domid {snap['domid']} "
                f"from the checkpoint's memory, and the guest acted on clean_shutdown; "
                f"checkpoint destroyed")

    def metrics(self) -> str:
        x = self.x
        end = deadline(30)
        while True:
            rec = x.VM_metrics.get_record(x.VM.get_metrics(self.vm))
            if rec["VCPUs_utilisation"]:
                break
            if time.monotonic() > end:
                raise CheckFailed(f"VCPUs_utilisation still empty after {30 * PATIENCE:.0f} s: {rec}")
            time.sleep(1)
        actual = int(rec["memory_actual"])
        # Xen's count of the domain's pages: the 128 MiB target, give or take what the
        # guest's balloon driver and Xen's own accounting move.
        if abs(actual - GUEST_MEM) > 8 * MiB:
            raise CheckFailed(f"memory_actual={actual}, expected about {GUEST_MEM}")
        if rec["VCPUs_number"] != "1":
            raise CheckFailed(f"VCPUs_number={rec['VCPUs_number']}, expected 1")
        util = {k: float(v) for k, v in rec["VCPUs_utilisation"].items()}
        if list(util) != ["0"] or not 0.0 <= util["0"] <= 1.0:
            raise CheckFailed(f"VCPUs_utilisation={util}")
        return (f"VM_metrics: memory_actual={actual / MiB:.1f}MiB VCPUs_number=1 "
                f"VCPUs_utilisation={util}")

    def shutdown(self, watcher: Watcher) -> str:
        x = self.x
        x.VM.clean_shutdown(self.vm)
        snap = watcher.expect("Halted")
        if snap["domid"] != "-1" or snap["resident_on"] != NULL:
            raise CheckFailed(f"Halted VM still has domid={snap['domid']} "
                              f"resident_on={snap['resident_on']}")
        if self.vbd and x.VBD.get_currently_attached(self.vbd):
            raise CheckFailed("VBD still attached after clean_shutdown")
        honoured = self.console.wait(rf"REALXEN-GUESTLOG {self.dom} REALXEN-GUEST-POWEROFF", 10)
        return ("clean_shutdown: event.from saw Halted"
                + ("; the guest ran its poweroff" if honoured else
                   "; (the guest's poweroff line did not reach its console log)"))

    def destroy(self) -> str:
        x = self.x
        x.VM.destroy(self.vm)
        try:
            x.VM.get_record(self.vm)
        except Exception as e:  # XenAPI.Failure: the expected HANDLE_INVALID
            if "HANDLE_INVALID" not in str(e):
                raise
        else:
            raise CheckFailed("VM.get_record still answers after VM.destroy")
        for cls, ref in (("VBD", self.vbd), ("VIF", self.vif)):
            if ref and ref in getattr(x, cls).get_all():
                raise CheckFailed(f"{cls} survived VM.destroy")
        x.VDI.destroy(self.vdi)
        return "destroyed: VM, VBD, VIF gone; VDI destroyed"


def check(url: str, user: str, password: str, console: Console) -> str:
    import XenAPI  # the official SDK (test dependency in the venv)

    session = XenAPI.Session(url)
    session.xenapi.login_with_password(user, password, "1.0", "realxen")
    x = session.xenapi
    done: list[str] = []
    life = Life(x, console)
    try:
        steps: list[Callable[[], str]] = [
            lambda: check_host(x, console), life.create]
        for step in steps:
            done.append(step())
            say("  " + done[-1])
        watcher = Watcher(x, life.vm)
        for step in (lambda: life.start(watcher), life.banner, life.guest_devices, life.hotplug,
                     lambda: life.suspend_resume(watcher), life.checkpoint, life.metrics,
                     lambda: life.live_changes(watcher), life.reboots, life.pool_migrate,
                     lambda: life.shutdown(watcher), lambda: life.revert(watcher),
                     life.destroy):
            done.append(step())
            say("  " + done[-1])
        return f"OK {len(done)} checks; guest devices: {life.devices}"
    except CheckFailed as e:
        return f"FAIL after {len(done)} checks: {e}"
    finally:
        session.xenapi.session.logout()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--user", default="root")
    ap.add_argument("--password", required=True)
    ap.add_argument("--serial-log", type=Path, required=True, help="dom0's console (QEMU's serial file)")
    args = ap.parse_args()
    try:
        line = check(args.url, args.user, args.password, Console(args.serial_log))
    except Exception as e:  # any failure is the verdict, reported to dom0 and the log
        line = f"FAIL {type(e).__name__}: {e}"
    print(line.replace("\n", " "))
    return 0 if line.startswith("OK") else 1


if __name__ == "__main__":
    sys.exit(main())
