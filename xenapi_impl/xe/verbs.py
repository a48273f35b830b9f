"""The hand-written verbs: the everyday set ``xe help`` lists (vm-install, vm-start...)."""
from __future__ import annotations

import re
import sys
import time
from typing import Any, Callable, Sequence

from defusedxml import ElementTree as SafeET

from xenapi_impl.model import MODEL
from xenapi_impl.xe.classcmds import filter_rows, all_rows, columns, record_lines, user_filters
from xenapi_impl.xe.commands import Ctx, Spec, Table
from xenapi_impl.xe.errors import describe
from xenapi_impl.xe.fields import NULL_REF, CliClass, format_value
from xenapi_impl.xe.grammar import CliFailure
from xenapi_impl.xe.transport import Failure

VM = CliClass(MODEL.classes["VM"])
VBD = CliClass(MODEL.classes["VBD"])
VDI = CliClass(MODEL.classes["VDI"])
VIF = CliClass(MODEL.classes["VIF"])

VM_SELECTORS_HELP = (" The simple selectors 'vm=<name or uuid>' and any VM field (such as "
                     "'power-state=halted') choose the VM(s); more than one needs --multiple.")


class MultipleFailure(Exception):
    """Some of a --multiple operation's objects failed: (uuid, message) each."""

    def __init__(self, failures: list[tuple[str, str]]) -> None:
        super().__init__(failures)
        self.failures = failures


def new_record(cls: str, given: dict[str, Any]) -> dict[str, Any]:
    """A create record: ``given`` and every other REQUIRED constructor field at its type's
    empty value (the model says which are required)."""
    c = MODEL.classes[cls]
    rec = dict(given)
    for name in c.required_fields():
        rec.setdefault(name, c.fields[name].type.default_value())
    return rec


# -- choosing VMs -------------------------------------------------------------------------------

def select_vms(ctx: Ctx, ignore: tuple[str, ...] = (), templates: bool = False
               ) -> list[tuple[str, dict[str, Any]]]:
    """The VMs the selectors name: ``vm=<name or uuid>`` and field filters; never the control
    domain, templates only when asked."""
    rows = all_rows(ctx, VM)
    filters = [("is-control-domain", "false")]
    if not templates:
        filters.append(("is-a-template", "false"))
    wanted = ctx.params.get("vm")
    if wanted is not None:
        rows = [r for r in rows if wanted in (r[1]["uuid"], r[1]["name_label"])]
    for key, _ in user_filters(ctx, ignore + ("vm",)):
        if VM.field(key) is None and VM.field(key.partition(":")[0]) is None:
            raise CliFailure(f"Parameter '{key}' is not a field of the VM class. Failed to "
                             "select VM for operation.")
    return filter_rows(ctx, VM, rows, filters + user_filters(ctx, ignore + ("vm",)))


def do_vm_op(ctx: Ctx, op: Callable[[str, dict[str, Any]], Any], ignore: tuple[str, ...] = (),
             multiple: bool = True, templates: bool = False) -> list[Any]:
    vms = select_vms(ctx, ignore, templates)
    if not vms:
        raise CliFailure("No matching VMs found")
    if len(vms) == 1:
        return [op(*vms[0])]
    if not multiple:
        raise CliFailure("Multiple matches VMs found. Operation can only be performed on one "
                         "VM at a time")
    if not ctx.flag("multiple"):
        raise CliFailure("Multiple matches VMs found. --multiple required to complete the "
                         "operation")
    results, failures = [], []
    for ref, rec in vms:
        try:
            results.append(op(ref, rec))
        except Failure as exc:
            failures.append((rec["uuid"], "\n".join(describe(exc.code, exc.params,
                                                             ctx.ref_text))))
        except CliFailure as exc:
            failures.append((rec["uuid"], str(exc)))
    if failures:
        raise MultipleFailure(failures)
    return results


def _power(method: str) -> Callable[[Ctx], None]:
    def run(ctx: Ctx) -> None:
        do_vm_op(ctx, lambda ref, _: ctx.run_task(method, ref))
    return run


def _force(ctx: Ctx) -> bool:
    return ctx.flag("force")


def _paused(ctx: Ctx) -> bool:
    return ctx.params.get("paused", "false").lower() == "true"


def _start(ctx: Ctx) -> None:
    do_vm_op(ctx, lambda ref, _: ctx.run_task("VM.start", ref, _paused(ctx), _force(ctx)),
             ignore=("paused",))


def _resume(ctx: Ctx) -> None:
    do_vm_op(ctx, lambda ref, _: ctx.run_task("VM.resume", ref, False, _force(ctx)))


def _forced(clean: str, hard: str) -> Callable[[Ctx], None]:
    def run(ctx: Ctx) -> None:
        method = hard if ctx.flag("force") else clean
        do_vm_op(ctx, lambda ref, _: ctx.run_task(method, ref))
    return run


def _print_uuid(ctx: Ctx, cls: str, ref: str) -> None:
    ctx.printer.items([ctx.call(f"{cls}.get_uuid", ref)])


def _sr_ref(ctx: Ctx) -> str | None:
    if "sr-uuid" in ctx.params:
        return ctx.call("SR.get_by_uuid", ctx.params["sr-uuid"])
    if "sr-name-label" in ctx.params:
        srs = ctx.call("SR.get_by_name_label", ctx.params["sr-name-label"])
        if not srs:
            raise CliFailure("No SR with that name-label found")
        if len(srs) > 1:
            raise CliFailure("Multiple SRs with that name-label found")
        return srs[0]
    return None


def _clone(ctx: Ctx) -> None:
    name = ctx.param("new-name-label")

    def op(ref: str, _: dict[str, Any]) -> None:
        new = ctx.run_task("VM.clone", ref, name)
        if "new-name-description" in ctx.params:
            ctx.call("VM.set_name_description", new, ctx.params["new-name-description"])
        _print_uuid(ctx, "VM", new)
    do_vm_op(ctx, op, ("new-name-label", "new-name-description"), multiple=False,
             templates=True)


def _copy(ctx: Ctx) -> None:
    name = ctx.param("new-name-label")
    sr = _sr_ref(ctx) or NULL_REF

    def op(ref: str, _: dict[str, Any]) -> None:
        new = ctx.run_task("VM.copy", ref, name, sr)
        if "new-name-description" in ctx.params:
            ctx.call("VM.set_name_description", new, ctx.params["new-name-description"])
        _print_uuid(ctx, "VM", new)
    do_vm_op(ctx, op, ("new-name-label", "new-name-description", "sr-uuid", "sr-name-label"),
             multiple=False, templates=True)


def _snapshot(ctx: Ctx) -> None:
    name = ctx.param("new-name-label")
    do_vm_op(ctx, lambda ref, _: _print_uuid(ctx, "VM", ctx.run_task("VM.snapshot", ref, name,
                                                                      [])),
             ("new-name-label", "new-name-description"), multiple=False)


def _snapshot_revert(ctx: Ctx) -> None:
    uuid = ctx.params.get("snapshot-uuid") or ctx.param("uuid")
    ctx.run_task("VM.revert", ctx.call("VM.get_by_uuid", uuid))


def _template(ctx: Ctx) -> str:
    """The template vm-install starts from: template=<uuid or name>, template-uuid=,
    template-name-label=."""
    if "template-uuid" in ctx.params:
        try:
            return ctx.call("VM.get_by_uuid", ctx.params["template-uuid"])
        except Failure:
            raise CliFailure("Cannot find template") from None
    name = ctx.params.get("template-name-label") or ctx.params.get("template-name")
    if name is None:
        if "template" not in ctx.params:
            raise CliFailure("Template must be specified by parameter 'template-uuid', "
                             "'template-name', 'template-name-label' or 'template'")
        try:
            return ctx.call("VM.get_by_uuid", ctx.params["template"])
        except Failure:
            name = ctx.params["template"]
    found = [r for r, rec in all_rows(ctx, VM)
             if rec["name_label"] == name and rec["is_a_template"]
             and not rec["is_control_domain"]]
    if not found:
        raise CliFailure("No templates matched")
    if len(found) > 1:
        raise CliFailure("More than one matching template found")
    return found[0]


def _provision_in(xml: str, sr_uuid: str) -> str:
    """The template's "disks" provision XML with every disk put in ``sr_uuid``."""
    root = SafeET.fromstring(xml)
    for disk in root.iter("disk"):
        disk.set("sr", sr_uuid)
    from xml.etree import ElementTree
    return ElementTree.tostring(root, encoding="unicode")


def _install(ctx: Ctx) -> None:
    """As xe does it: clone (copy when an SR is named) the template, point its disks at the
    SR, provision them, and make the result a VM rather than a template."""
    template = _template(ctx)
    if not ctx.call("VM.get_is_a_template", template):
        raise CliFailure("Can only install from templates")
    name = ctx.param("new-name-label")
    sr = _sr_ref(ctx)
    new = ctx.run_task("VM.copy", template, name, sr) if sr else \
        ctx.run_task("VM.clone", template, name)
    try:
        ctx.call("VM.set_name_description", new, "Installed via xe CLI")
        other = ctx.call("VM.get_other_config", new)
        if sr and "disks" in other:
            xml = _provision_in(other["disks"], ctx.call("SR.get_uuid", sr))
            ctx.call("VM.remove_from_other_config", new, "disks")
            ctx.call("VM.add_to_other_config", new, "disks", xml)
        ctx.run_task("VM.provision", new)
        if ctx.call("VM.get_is_a_template", new):
            ctx.call("VM.set_is_a_template", new, False)
        _print_uuid(ctx, "VM", new)
    except BaseException:
        try:
            ctx.call("VM.destroy", new)
        except Failure:
            pass
        raise


def _uninstall(ctx: Ctx) -> None:
    plan: list[tuple[str, list[str]]] = []
    lines: list[str] = []

    def choose(ref: str, rec: dict[str, Any]) -> None:
        vdis = []
        lines.append(f"VM : {rec['uuid']} ({rec['name_label']})")
        for vbd in rec["VBDs"]:
            b = ctx.call("VBD.get_record", vbd)
            if b["type"] != "Disk" or b["mode"] != "RW" or b["VDI"] == NULL_REF:
                continue
            try:
                d = ctx.call("VDI.get_record", b["VDI"])
            except Failure:
                continue
            shared = " ** WARNING: disk is shared by other VMs" if len(d["VBDs"]) > 1 else ""
            lines.append(f"VDI: {d['uuid']} ({d['name_label']}) {shared}")
            vdis.append(b["VDI"])
        plan.append((ref, vdis))
    for ref, rec in do_vm_op(ctx, lambda ref, rec: (ref, rec)):
        choose(ref, rec)
        for snap in rec["snapshots"]:          # as xe: a VM goes with its snapshots
            choose(snap, ctx.call("VM.get_record", snap))
    ctx.printer.items(["The following items are about to be destroyed", *lines])
    if not ctx.flag("force"):
        ctx.printer.items(["Type 'yes' to continue"])
        ctx.printer.flush()
        answer = sys.stdin.readline().strip()
        if answer.lower() != "yes":
            ctx.printer.items([f"Aborted (you typed: '{answer}')"])
            return
    for ref, vdis in plan:
        if ctx.call("VM.get_power_state", ref) != "Halted":
            ctx.run_task("VM.hard_shutdown", ref)
        ctx.run_task("VM.destroy", ref)
        for vdi in vdis:
            ctx.run_task("VDI.destroy", vdi)
    ctx.printer.items(["All objects destroyed"])


def _migrate(ctx: Ctx) -> None:
    host_key = next((k for k in ("host", "host-uuid", "host-name") if k in ctx.params), None)
    if host_key is None:
        raise CliFailure("No destination host specified")
    wanted = ctx.params[host_key]
    hosts = [r for r, rec in ctx.call("host.get_all_records").items()
             if wanted in (rec["uuid"], rec["name_label"], rec["hostname"])]
    if len(hosts) != 1:
        raise CliFailure(f"{'No' if not hosts else 'More than one'} matching host found")
    options = {k: str(ctx.params.get(k, "false").lower() == "true").lower()
               for k in ("force", "live", "copy")}
    do_vm_op(ctx, lambda ref, _: ctx.run_task("VM.pool_migrate", ref, hosts[0], options),
             ("host", "host-uuid", "host-name", "live", "copy", "compress"))


# -- disks and CDs ------------------------------------------------------------------------------

def _vbds(ctx: Ctx, rec: dict[str, Any], kind: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for vbd in rec["VBDs"]:
        b = ctx.call("VBD.get_record", vbd)
        if b["type"] == kind:
            out.append((vbd, b))
    return sorted(out, key=lambda x: x[1]["userdevice"])


def _disk_list(kind: str, word: str) -> Callable[[Ctx], None]:
    def run(ctx: Ctx) -> None:
        def op(_: str, rec: dict[str, Any]) -> None:
            for n, (_, b) in enumerate(_vbds(ctx, rec, kind)):
                ctx.printer.text(f"{word} {n} VBD:")
                fields = columns(VBD, ctx.params.get("vbd-params"),
                                 ["uuid", "vm-uuid", "userdevice", "empty"])
                ctx.printer.table([record_lines(ctx, fields, b)])
                if b["VDI"] != NULL_REF:
                    d = ctx.call("VDI.get_record", b["VDI"])
                    fields = columns(VDI, ctx.params.get("vdi-params"),
                                     ["uuid", "name-label", "virtual-size", "sr-uuid"])
                    ctx.printer.text(f"{word} {n} VDI:")
                    ctx.printer.table([record_lines(ctx, fields, d)])
        do_vm_op(ctx, op, ("vbd-params", "vdi-params"))
    return run


def _bytes(field: str, text: str) -> int:
    m = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", text)
    units = {"": 0, "b": 0, "bytes": 0, "k": 1, "kb": 1, "kib": 1, "m": 2, "mb": 2, "mib": 2,
             "g": 3, "gb": 3, "gib": 3, "t": 4, "tb": 4, "tib": 4}
    if m is None or m.group(2).lower() not in units:
        raise CliFailure(f"Failed to parse field '{field}': expecting an integer (possibly with "
                         f"suffix KiB, MiB, GiB, TiB), got '{text}'")
    return int(m.group(1)) * 1024 ** units[m.group(2).lower()]


def _default_sr(ctx: Ctx) -> str:
    pool = ctx.call("pool.get_all")[0]
    sr = ctx.call("pool.get_default_SR", pool)
    if sr == NULL_REF:
        raise CliFailure("No default Pool SR set; you must specify an SR on the commandline")
    return sr


def _disk_add(ctx: Ctx) -> None:
    size = _bytes("disk-size", ctx.param("disk-size"))
    device = ctx.param("device")
    sr = _sr_ref(ctx) or _default_sr(ctx)

    def op(ref: str, rec: dict[str, Any]) -> None:
        vdi = ctx.run_task("VDI.create", new_record("VDI", {
            "name_label": "Created by xe", "name_description": "Created by xe", "SR": sr,
            "virtual_size": str(size), "type": "user", "sharable": False, "read_only": False,
            "other_config": {}, "xenstore_data": {}, "sm_config": {"vmhint": rec["uuid"]},
            "tags": []}))
        try:
            ctx.run_task("VBD.create", new_record("VBD", {
                "VM": ref, "VDI": vdi, "userdevice": device, "bootable": False, "mode": "RW",
                "type": "Disk", "unpluggable": True, "empty": False,
                "other_config": {"owner": "true"}, "qos_algorithm_type": "",
                "qos_algorithm_params": {}}))
        except BaseException:
            ctx.run_task("VDI.destroy", vdi)
            raise
    do_vm_op(ctx, op, ("sr-uuid", "sr-name-label", "device", "disk-size"))


def _disk_remove(ctx: Ctx) -> None:
    device = ctx.param("device")

    def op(_: str, rec: dict[str, Any]) -> None:
        found = [(v, b) for v, b in _vbds(ctx, rec, "Disk") if b["userdevice"] == device]
        if not found:
            raise CliFailure("Disk not found")
        vbd, b = found[0]
        ctx.run_task("VBD.destroy", vbd)
        ctx.run_task("VDI.destroy", b["VDI"])
    do_vm_op(ctx, op, ("device",))


def _cd_insert(ctx: Ctx) -> None:
    vdi = _iso_vdi(ctx, ctx.param("cd-name"))

    def op(ref: str, rec: dict[str, Any]) -> None:
        empty = [v for v, b in _vbds(ctx, rec, "CD") if b["empty"]]
        if not empty:
            raise Failure("VM_NO_EMPTY_CD_VBD", [ref])
        if len(empty) > 1:
            raise CliFailure("Two or more empty CD devices found. Please use vbd-insert")
        ctx.run_task("VBD.insert", empty[0], vdi)
    do_vm_op(ctx, op, ("cd-name",))


def _iso_vdi(ctx: Ctx, name: str) -> str:
    vdis = [v for v in ctx.call("VDI.get_by_name_label", name)
            if ctx.call("SR.get_content_type", ctx.call("VDI.get_SR", v)) == "iso"]
    if not vdis:
        raise CliFailure(f"CD {name} not found")
    if len(vdis) > 1:
        raise CliFailure(f"Multiple CDs named {name} found. Please use vbd-insert and "
                         "specify uuids")
    return vdis[0]


def _cd_add(ctx: Ctx) -> None:
    vdi = _iso_vdi(ctx, ctx.param("cd-name"))
    device = ctx.param("device")
    do_vm_op(ctx, lambda ref, _: ctx.run_task("VBD.create", new_record("VBD", {
        "VM": ref, "VDI": vdi, "userdevice": device, "bootable": False, "mode": "RO",
        "type": "CD", "unpluggable": True, "empty": False, "other_config": {},
        "qos_algorithm_type": "", "qos_algorithm_params": {}})), ("cd-name", "device"))


def _cd_remove(ctx: Ctx) -> None:
    name = ctx.param("cd-name")

    def op(_: str, rec: dict[str, Any]) -> None:
        for vbd, b in _vbds(ctx, rec, "CD"):
            shown = "<EMPTY>" if b["empty"] else ctx.call("VDI.get_name_label", b["VDI"])
            if shown == name:
                ctx.run_task("VBD.destroy", vbd)
                return
        raise CliFailure("Disk not found")
    do_vm_op(ctx, op, ("cd-name",))


def _sr_scan(ctx: Ctx) -> None:
    ctx.run_task("SR.scan", ctx.call("SR.get_by_uuid", ctx.param("uuid")))


def _cd_eject(ctx: Ctx) -> None:
    def op(_: str, rec: dict[str, Any]) -> None:
        cds = _vbds(ctx, rec, "CD")
        if not cds:
            raise CliFailure("No CDs found")
        if len(cds) > 1:
            raise CliFailure("Two or more CDs found. Please use vbd-eject")
        ctx.run_task("VBD.eject", cds[0][0])
    do_vm_op(ctx, op)


def _vif_list(ctx: Ctx) -> None:
    def op(_: str, rec: dict[str, Any]) -> None:
        vifs = [ctx.call("VIF.get_record", v) for v in rec["VIFs"]]
        fields = columns(VIF, ctx.params.get("params"),
                         ["uuid", "device", "MAC", "vm-uuid", "network-uuid"])
        ctx.printer.table([record_lines(ctx, fields, v) for v in
                           sorted(vifs, key=lambda v: v["device"])])
    do_vm_op(ctx, op, ("params",))


# -- creating objects -----------------------------------------------------------------------

def _vif_create(ctx: Ctx) -> None:
    vm = ctx.call("VM.get_by_uuid", ctx.param("vm-uuid"))
    net = ctx.call("network.get_by_uuid", ctx.param("network-uuid"))
    mac = ctx.params.get("mac", "")
    if mac == "random":
        mac = ""
    ref = ctx.run_task("VIF.create", new_record("VIF", {
        "device": ctx.param("device"), "network": net, "VM": vm, "MAC": mac,
        "MTU": str(ctx.call("network.get_MTU", net)), "other_config": {},
        "qos_algorithm_type": "", "qos_algorithm_params": {}}))
    _print_uuid(ctx, "VIF", ref)


def _bool(ctx: Ctx, key: str) -> bool:
    text = ctx.params.get(key, "false").lower()
    if text not in ("true", "false"):
        raise CliFailure(f"Failed to parse parameter '{key}': expecting a boolean "
                         "(true or false)")
    return text == "true"


def _prefixed(ctx: Ctx, prefix: str) -> dict[str, str]:
    return {k[len(prefix):]: v for k, v in ctx.params.items() if k.startswith(prefix)}


def _vdi_create(ctx: Ctx) -> None:
    sr = ctx.call("SR.get_by_uuid", ctx.param("sr-uuid"))
    ref = ctx.run_task("VDI.create", new_record("VDI", {
        "name_label": ctx.param("name-label"),
        "name_description": ctx.params.get("name-description", ""), "SR": sr,
        "virtual_size": str(_bytes("virtual-size", ctx.param("virtual-size"))),
        "type": ctx.params.get("type", "user"), "sharable": _bool(ctx, "sharable"),
        "read_only": _bool(ctx, "read-only"), "other_config": _prefixed(ctx, "other-config:"),
        "xenstore_data": {}, "sm_config": _prefixed(ctx, "sm-config:"), "tags": []}))
    _print_uuid(ctx, "VDI", ref)


def _sr_create(ctx: Ctx) -> None:
    if "host-uuid" in ctx.params:
        host = ctx.call("host.get_by_uuid", ctx.params["host-uuid"])
    else:
        host = ctx.call("pool.get_master", ctx.call("pool.get_all")[0])
    size = _bytes("physical-size", ctx.params.get("physical-size", "0"))
    ref = ctx.run_task("SR.create", host, _prefixed(ctx, "device-config:"), str(size),
                       ctx.param("name-label"), ctx.params.get("name-description", ""),
                       ctx.param("type"), ctx.params.get("content-type", ""),
                       _bool(ctx, "shared"), _prefixed(ctx, "sm-config:"))
    _print_uuid(ctx, "SR", ref)


# -- waiting ------------------------------------------------------------------------------------

def _event_wait(ctx: Ctx) -> None:
    """Wait until an object of class= has every given field value (``key=/=value``: not)."""
    cls_name = ctx.param("class")
    c = MODEL.find_class(cls_name)
    if c is None or "get_all_records" not in c.messages:
        raise CliFailure(f"Unknown class '{cls_name}'")
    cls = CliClass(c)
    conds = []
    for key, value in user_filters(ctx, ("class", "timeout")):
        cf = cls.field(key)
        if cf is None:
            raise CliFailure(f"key missing: {key}")
        negate = value.startswith("/=")
        conds.append((cf, value[2:] if negate else value, negate))

    def satisfied(rec: dict[str, Any]) -> bool:
        return all((format_value(cf.type, rec.get(cf.field.name), ctx.refs) == v) != neg
                   for cf, v, neg in conds)
    token = ""
    deadline = (time.monotonic() + float(ctx.params["timeout"])) if "timeout" in ctx.params \
        else None
    records = ctx.call(f"{c.name}.get_all_records")
    while True:
        if any(satisfied(rec) for rec in records.values()):
            return
        if deadline is not None and time.monotonic() >= deadline:
            raise CliFailure("Timed out waiting for the event")
        batch = ctx.call("event.from", [c.name.lower()], token, 5.0)
        token = batch["token"]
        records = {}
        for ev in batch["events"]:
            if ev["operation"] != "del" and isinstance(ev.get("snapshot"), dict):
                records[ev["ref"]] = ev["snapshot"]


def register(table: Table) -> None:
    def vm(name: str, run: Callable[[Ctx], None], help: str, reqd: Sequence[str] = (),
           optn: Sequence[str] = (), standard: bool = True) -> None:
        table.add(Spec(name, list(reqd), list(optn), help + VM_SELECTORS_HELP, run,
                       standard=standard, vm_selectors=True))

    vm("vm-start", _start, "Start the selected VM(s). --force starts a VM whose operations "
       "are blocked.", optn=["force", "paused", "multiple"])
    vm("vm-shutdown", _forced("VM.clean_shutdown", "VM.hard_shutdown"),
       "Shut down the selected VM(s); --force powers off at once.", optn=["force", "multiple"])
    vm("vm-reboot", _forced("VM.clean_reboot", "VM.hard_reboot"),
       "Reboot the selected VM(s); --force resets at once.", optn=["force", "multiple"])
    vm("vm-suspend", _power("VM.suspend"), "Suspend the selected VM(s).", optn=["multiple"])
    vm("vm-resume", _resume, "Resume the selected VM(s).", optn=["force", "multiple"])
    vm("vm-pause", _power("VM.pause"), "Pause the selected VM(s).", optn=["multiple"])
    vm("vm-unpause", _power("VM.unpause"), "Unpause the selected VM(s).", optn=["multiple"])
    vm("vm-clone", _clone, "Clone an existing VM, using storage-level fast disk clone "
       "operation where available.", ["new-name-label"], ["new-name-description"])
    vm("vm-copy", _copy, "Copy an existing VM, but without using storage-level fast disk "
       "clone operation (even if this is available). The disk images of the copied VM are "
       "guaranteed to be 'full images'.", ["new-name-label"],
       ["new-name-description", "sr-uuid"])
    vm("vm-snapshot", _snapshot, "Snapshot an existing VM, using storage-level fast disk "
       "snapshot operation where available.", ["new-name-label"], ["new-name-description"])
    vm("vm-uninstall", _uninstall, "Uninstall a VM. This operation will destroy those VDIs "
       "that are marked RW and connected to this VM only.", optn=["force"])
    vm("vm-migrate", _migrate, "Migrate the selected VM(s) to another host (VM.pool_migrate).",
       optn=["host", "host-uuid", "live", "force", "copy"])
    vm("vm-cd-insert", _cd_insert, "Insert a CD into the VM's empty virtual CD drive.",
       ["cd-name"])
    vm("vm-cd-add", _cd_add, "Add a CD to the VM(s): a read-only CD drive at 'device' "
       "holding the ISO named cd-name.", ["cd-name", "device"], standard=False)
    vm("vm-cd-remove", _cd_remove, "Remove the CD drive holding cd-name ('<EMPTY>' for an "
       "empty drive) from the VM(s).", ["cd-name"], standard=False)
    vm("vm-cd-eject", _cd_eject, "Eject a CD from the virtual CD drive.")
    vm("vm-cd-list", _disk_list("CD", "CD"), "List the CDs currently attached to the VM(s).",
       optn=["vbd-params", "vdi-params"])
    vm("vm-disk-add", _disk_add, "Add a new disk to the selected VM(s). The device field "
       "should be an identifier of the form understood by the guest OS, e.g. 1 or hdb.",
       ["disk-size", "device"], ["sr-uuid"])
    vm("vm-disk-list", _disk_list("Disk", "Disk"), "List the disks on the selected VM(s).",
       optn=["vbd-params", "vdi-params"])
    vm("vm-disk-remove", _disk_remove, "Remove a disk from the selected VM and destroy it.",
       ["device"])
    vm("vm-vif-list", _vif_list, "List the VIFs present on the selected VM(s).",
       optn=["params"])
    table.add(Spec("vm-install", ["new-name-label"],
                   ["template", "template-uuid", "template-name-label", "sr-uuid",
                    "sr-name-label"],
                   "Install a new VM from a template. The template parameter can match either "
                   "the template name or the uuid.", _install, standard=True))
    table.add(Spec("snapshot-revert", [], ["snapshot-uuid", "uuid"],
                   "Revert an existing VM to a previous checkpointed or snapshot state.",
                   _snapshot_revert, standard=True))
    table.add(Spec("vif-create", ["vm-uuid", "network-uuid", "device"], ["mac"],
                   "Create a VIF, attaching the VM to the network.", _vif_create,
                   standard=True))
    table.add(Spec("vdi-create", ["sr-uuid", "name-label", "virtual-size"],
                   ["name-description", "type", "sharable", "read-only", "sm-config:",
                    "other-config:"], "Create a VDI. virtual-size may be given with a suffix "
                   "(KiB, MiB, GiB, TiB).", _vdi_create, standard=True))
    table.add(Spec("sr-create", ["name-label", "type"],
                   ["physical-size", "content-type", "shared", "device-config:",
                    "sm-config:", "host-uuid", "name-description"],
                   "Create an SR, also a PBD to the host.", _sr_create, standard=True))
    table.add(Spec("sr-scan", ["uuid"], [], "Force an SR scan, syncing the database with "
                   "VDIs present in the underlying storage substrate.", _sr_scan))
    table.add(Spec("event-wait", ["class"], ["timeout"],
                   "Wait for the event that satisfies the conditions given on the command "
                   "line: an object of the class with the given field values ("
                   "'field=/=value' for not equal).", _event_wait))

