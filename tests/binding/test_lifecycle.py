"""Domain lifecycle through the real binding and the simulator."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pytest

from xenlight_py import (ConfigError, Context, DiskBackend, DiskConfig, DiskFormat,
                         DomainConfig, DomainInfo, DomainNotFound, DomainType, InvalidArgument,
                         NicConfig, NotFound, ShutdownReason, XenlightError)


def test_create_runs_by_default(ctx: Context, pv: DomainConfig) -> None:
    domid = ctx.create_domain(pv)
    info = ctx.domain_info(domid)
    assert info.domid == domid and domid > 0
    assert info.running and not info.paused
    assert info.state[2] == "-"
    assert info.domain_type == DomainType.PV
    assert info.vcpu_online == 2 and info.vcpu_max_id == 1
    assert info.current_memkb == 256 * 1024
    assert ctx.domid_to_name(domid) == "pv1"
    assert ctx.name_to_domid("pv1") == domid
    assert len(info.uuid) == 36 and info.uuid.count("-") == 4


def test_create_paused_then_unpause(ctx: Context, pv: DomainConfig) -> None:
    domid = ctx.create_domain(pv, paused=True)
    info = ctx.domain_info(domid)
    assert info.paused and not info.running
    assert info.state == "--p---"          # never ran: its vCPUs never blocked (real Xen)
    ctx.unpause(domid)
    assert not ctx.domain_info(domid).paused
    ctx.pause(domid)
    assert ctx.domain_info(domid).state == "-bp---"


@pytest.mark.parametrize("make", [
    lambda img: DomainConfig(name="pvh1", type=DomainType.PVH, kernel="/boot/vmlinuz",
                             memory=128),
    lambda img: DomainConfig(name="hvm1", type=DomainType.HVM, memory=512, boot="dc",
                             disks=(DiskConfig("hda", img("a.raw")),
                                    DiskConfig("hdc", None, is_cdrom=True)),
                             nics=(NicConfig(model="e1000", bridge="xenbr0"),)),
    lambda img: DomainConfig(name="pvgrub", kernel=None, bootloader="pygrub",
                             bootloader_args=("-q",),
                             disks=(DiskConfig("xvda", img("b.qcow2")),)),
], ids=["pvh", "hvm", "pygrub"])
def test_domain_types(ctx: Context, make: Callable[..., DomainConfig],
                      image: Callable[..., str]) -> None:
    cfg = make(image)
    domid = ctx.create_domain(cfg)
    info = ctx.domain_info(domid)
    # libxl 4.17 derives domain_type from the hypervisor's flags, where a PVH guest is an
    # HVM container without a device model: PVH reads back as HVM (as on real Xen).
    read_back = {DomainType.PV: DomainType.PV, DomainType.PVH: DomainType.HVM,
                 DomainType.HVM: DomainType.HVM}
    assert info.domain_type is read_back[cfg.type]
    assert ctx.domid_to_name(domid) == cfg.name


def test_every_domain_gets_a_uuid(ctx: Context, pv: DomainConfig) -> None:
    # real libxl keeps a nil c_info.uuid as the handle (tests/realxen): the binding fills it
    a = ctx.domain_info(ctx.create_domain(pv)).uuid
    b = ctx.domain_info(ctx.create_domain(DomainConfig(name="b", kernel="/k"))).uuid
    assert a != b and a.strip("0-") and b.strip("0-")


def test_requested_domid(ctx: Context) -> None:
    assert ctx.create_domain(DomainConfig(name="d", kernel="/k", domid=42)) == 42
    with pytest.raises(XenlightError):
        ctx.create_domain(DomainConfig(name="e", kernel="/k", domid=42))
    assert ctx.sim.domain_count() == 2
    with pytest.raises(ConfigError):
        DomainConfig(name="f", kernel="/k", domid=0)


def test_uuid_is_kept(ctx: Context) -> None:
    u = "6f2c1a8e-1d2b-4c3d-9e4f-0a1b2c3d4e5f"
    domid = ctx.create_domain(DomainConfig(name="u", kernel="/k", uuid=u.upper()))
    assert ctx.domain_info(domid).uuid == u


def test_list_domains(ctx: Context, pv: DomainConfig) -> None:
    assert [d.domid for d in ctx.list_domains()] == [0]
    a = ctx.create_domain(pv)
    b = ctx.create_domain(DomainConfig(name="second", kernel="/k"))
    doms = ctx.list_domains()
    assert [d.domid for d in doms] == [0, a, b]
    assert doms[1] == DomainInfo(**doms[1]._asdict())   # the fast path builds a normal one
    assert ctx.domain_info(a).uuid == doms[1].uuid
    # the domids alone (an every-domain event watch's look at each turn) read the same list
    assert ctx._domids() == [0, a, b]
    ctx.destroy(a)
    assert ctx._domids() == [0, b]


def test_destroy(ctx: Context, pv: DomainConfig) -> None:
    domid = ctx.create_domain(pv)
    ctx.destroy(domid)
    assert not ctx.domain_exists(domid)
    with pytest.raises(DomainNotFound) as ei:
        ctx.domain_info(domid)
    assert ei.value.rc == -21 and ei.value.name == "domain_notfound"
    with pytest.raises(DomainNotFound):
        ctx.destroy(domid)


def test_rename_and_lookup(ctx: Context, pv: DomainConfig) -> None:
    domid = ctx.create_domain(pv)
    ctx.rename(domid, "renamed")
    assert ctx.domid_to_name(domid) == "renamed"
    assert ctx.lookup("renamed") == domid
    assert ctx.lookup(str(domid)) == domid
    with pytest.raises(DomainNotFound):
        ctx.name_to_domid("pv1")
    with pytest.raises(InvalidArgument):
        ctx.rename(domid, "bad name with spaces")
    assert ctx.domid_to_name(domid) == "renamed"
    with pytest.raises(DomainNotFound):
        ctx.domid_to_name(4000)


def test_duplicate_name_refused(ctx: Context, pv: DomainConfig) -> None:
    ctx.create_domain(pv)
    with pytest.raises(InvalidArgument):
        ctx.create_domain(pv)
    assert len(ctx.list_domains()) == 2


def test_suspend_restore(ctx: Context, pv: DomainConfig, tmp_path) -> None:  # type: ignore[no-untyped-def]
    domid = ctx.create_domain(pv)
    ctx.set_memory_target(domid, 200 * 1024)
    img = tmp_path / "vm.save"
    ctx.save(domid, img)
    assert img.stat().st_size > 0
    assert oct(img.stat().st_mode & 0o777) == "0o600"
    assert not ctx.domain_exists(domid)
    new = ctx.create_restore(pv, img)
    info = ctx.domain_info(new)
    assert info.running and ctx.domid_to_name(new) == "pv1"


def test_suspend_failure_removes_image(ctx: Context, pv: DomainConfig, tmp_path) -> None:  # type: ignore[no-untyped-def]
    domid = ctx.create_domain(pv)
    ctx.sim.fail_next("libxl_domain_suspend", -3)
    img = tmp_path / "vm.save"
    with pytest.raises(XenlightError):
        ctx.suspend(domid, img)
    assert not img.exists()
    img.write_bytes(b"an older image")
    ctx.sim.fail_next("libxl_domain_suspend", -3)
    with pytest.raises(XenlightError):
        ctx.suspend(domid, img)
    assert img.read_bytes() == b"an older image"     # left as it was
    assert list(tmp_path.iterdir()) == [img]          # no partial file
    assert ctx.domain_info(domid).running


def test_suspend_in_place_writes_into_the_disk(ctx: Context, pv: DomainConfig,
                                               tmp_path: Path) -> None:
    """in_place: the image goes into the given file from its start (a VDI keeps its size and
    identity), and restores from there; a missing target is refused before libxl runs. The
    image holds the guest's memory: the disk is sized as the server sizes it (memory + 1 MiB)."""
    disk = tmp_path / "suspend.vdi"
    size = (pv.memory + 1) << 20
    with open(disk, "wb") as f:
        f.truncate(size)
    inode = disk.stat().st_ino
    domid = ctx.create_domain(pv)
    with pytest.raises(InvalidArgument, match="cannot open the suspend image"):
        ctx.suspend(domid, tmp_path / "absent", in_place=True)
    assert not (tmp_path / "absent").exists() and ctx.domain_info(domid).running
    ctx.suspend(domid, disk, in_place=True)
    assert disk.stat().st_ino == inode and disk.stat().st_size == size
    assert disk.read_bytes()[:8] != bytes(8)       # the image starts the disk
    ctx.destroy(domid)
    new = ctx.create_restore(pv, disk)
    assert ctx.domain_info(new).running


def test_restore_missing_image(ctx: Context, pv: DomainConfig, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidArgument, match="cannot open the suspend image"):
        ctx.create_restore(pv, tmp_path / "nope")
    assert len(ctx.list_domains()) == 1


def test_suspended_then_resume(ctx: Context, pv: DomainConfig, tmp_path) -> None:  # type: ignore[no-untyped-def]
    domid = ctx.create_domain(pv)
    ctx.suspend(domid, tmp_path / "img")
    info = ctx.domain_info(domid)
    assert info.shutdown and info.shutdown_reason == ShutdownReason.SUSPEND
    assert info.state == "---ss-"
    ctx.resume(domid)
    assert not ctx.domain_info(domid).shutdown


def test_vcpus(ctx: Context) -> None:
    domid = ctx.create_domain(DomainConfig(name="v", kernel="/k", vcpus=2, maxvcpus=4))
    vc = ctx.list_vcpus(domid)
    assert [v.vcpuid for v in vc] == [0, 1, 2, 3]
    assert [v.online for v in vc] == [True, True, False, False]
    ctx.set_vcpus_online(domid, 3)
    assert ctx.domain_info(domid).vcpu_online == 3
    assert [v.online for v in ctx.list_vcpus(domid)] == [True, True, True, False]
    with pytest.raises(InvalidArgument):
        ctx.set_vcpus_online(domid, 5)
    with pytest.raises(InvalidArgument):
        ctx.set_vcpus_online(domid, 0)
    assert ctx.domain_info(domid).vcpu_online == 3
    ctx.set_vcpu_affinity(domid, 1, {2, 3}, soft={3})
    v1 = ctx.list_vcpus(domid)[1]
    assert v1.affinity == {2, 3} and v1.soft_affinity == {3}
    with pytest.raises(InvalidArgument):
        ctx.set_vcpu_affinity(domid, 1, {999})
    assert ctx.list_vcpus(domid)[1].affinity == {2, 3}


def test_vcpu_times_masked(ctx: Context, pv: DomainConfig) -> None:
    domid = ctx.create_domain(pv)
    for v in ctx.list_vcpus(domid):
        assert 0 <= v.vcpu_time < 1 << 63


def test_devices_hotplug(ctx: Context, pv: DomainConfig, image: Callable[..., str]) -> None:
    domid = ctx.create_domain(pv)
    ctx.add_disk(domid, DiskConfig("xvdb", image("data.raw")))
    assert ctx.sim.disk_stats(domid, "xvdb").rd_bytes >= 0
    # read back as xenstore holds it: libxl chose phy for a raw file; no format kept there
    back = ctx.disk(domid, "xvdb")
    assert (back.target, back.backend, back.format, back.readwrite, back.is_cdrom) == \
        (image("data.raw"), DiskBackend.PHY, DiskFormat.UNKNOWN, True, False)
    with pytest.raises(NotFound, match=f"domain {domid} has no disk xvdq"):
        ctx.disk(domid, "xvdq")
    devid = ctx.add_nic(domid, NicConfig(mac="00:16:3e:12:34:56", bridge="xenbr1", mtu=9000,
                                        rate=1_250_000, ip="10.0.0.5"))
    assert devid >= 0
    assert ctx.sim.nic_stats(domid, devid).wr_bytes >= 0
    ctx.remove_disk(domid, "xvdb")
    with pytest.raises(NotFound):
        ctx.sim.disk_stats(domid, "xvdb")
    ctx.remove_nic(domid, devid)
    # libxl answers success for either; the binding looks the device up first, as xl does.
    with pytest.raises(NotFound, match=f"domain {domid} has no nic {devid}"):
        ctx.remove_nic(domid, devid)
    with pytest.raises(NotFound, match=f"domain {domid} has no disk xvdb"):
        ctx.remove_disk(domid, "xvdb")
    with pytest.raises(ConfigError, match="not a virtual device name"):
        ctx.remove_disk(domid, "xvd0")
    with pytest.raises(DomainNotFound):
        ctx.remove_disk(999, "xvdb")


def test_disk_file_must_exist(ctx: Context, pv: DomainConfig, tmp_path: Path) -> None:
    """libxl stats a local disk's file (no script, backend phy or unknown) before anything
    is built or plugged, and nothing changes: a create fails as a whole (ERROR_FAIL, as Xen
    4.17 answers), a hot-plug with ERROR_INVAL."""
    missing = str(tmp_path / "no-such.img")
    with pytest.raises(XenlightError) as ei:
        ctx.create_domain(DomainConfig(name="nodisk", kernel="/k",
                                       disks=(DiskConfig("xvda", missing),)))
    assert ei.value.rc == -3 and "Unable to set disk defaults for disk 0" in str(ei.value)
    assert any("failed to stat" in line for line in ei.value.log)
    assert [d.domid for d in ctx.list_domains()] == [0]
    domid = ctx.create_domain(pv)
    with pytest.raises(InvalidArgument, match="failed to stat"):
        ctx.add_disk(domid, DiskConfig("xvdb", missing))
    with pytest.raises(NotFound):
        ctx.sim.disk_stats(domid, "xvdb")
    # With a script (e.g. a network block device) or another backend domain, libxl does
    # not look at the path.
    ctx.add_disk(domid, DiskConfig("xvdc", "iscsi:target", script="block-iscsi"))
    ctx.add_disk(domid, DiskConfig("xvdd", missing, backend_domid=1))


def test_create_with_devices(ctx: Context, image: Callable[..., str]) -> None:
    cfg = DomainConfig(name="dev", kernel="/k",
                       disks=(DiskConfig("xvda", image("root.raw")),
                              DiskConfig("xvdb", image("swap.qcow2"))),
                       nics=(NicConfig(mac="00:16:3e:00:00:01", bridge="xenbr0"),
                             NicConfig(bridge="xenbr1", devid=3)))
    domid = ctx.create_domain(cfg)
    for vdev in ("xvda", "xvdb"):
        ctx.sim.disk_stats(domid, vdev)
    # as libxl_create.c: nics without a devid get max(given devids) + 1, in order
    ctx.sim.nic_stats(domid, 3)
    ctx.sim.nic_stats(domid, 4)
    with pytest.raises(NotFound):
        ctx.sim.nic_stats(domid, 0)
    assert ctx.sim.guest_info(domid).ipv4 != ""


@pytest.mark.parametrize("kwargs, message", [
    (dict(name="", kernel="/k"), "domain name"),
    (dict(name="x y", kernel="/k"), "domain name"),
    (dict(name="a"), "needs a kernel or a bootloader"),
    (dict(name="a", kernel="/k", bootloader="pygrub"), "exclusive"),
    (dict(name="a", kernel="/k", memory=0), "memory"),
    (dict(name="a", kernel="/k", memory=256, maxmem=128), "maxmem"),
    (dict(name="a", kernel="/k", vcpus=0), "vcpus"),
    (dict(name="a", kernel="/k", vcpus=4, maxvcpus=2), "maxvcpus"),
    (dict(name="a", kernel="/k", type=7), "domain type"),
    (dict(name="a", kernel="/k", uuid="nope"), "uuid"),
    (dict(name="a", type=DomainType.PVH), "PVH domain needs a kernel"),
    (dict(name="a", kernel="/k", disks=(DiskConfig("xvda", "/a"), DiskConfig("xvda", "/b"))),
     "duplicate disk"),
])
def test_bad_config_is_refused(kwargs: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError, match=message) as ei:
        DomainConfig(**kwargs)
    assert ei.value.rc == -6


@pytest.mark.parametrize("make, message", [
    (lambda: DiskConfig("sda1x!", "/a"), "vdev"),
    (lambda: DiskConfig("xvda"), "target is required"),
    (lambda: NicConfig(mac="00:16:3e"), "mac"),
    (lambda: NicConfig(mtu=20), "mtu"),
    (lambda: NicConfig(rate=-1), "rate"),
    (lambda: NicConfig(ip="10.0.0.300"), "ip"),
])
def test_bad_devices_are_refused(make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=message):
        make()


def test_bad_arguments_change_nothing(ctx: Context, pv: DomainConfig) -> None:
    domid = ctx.create_domain(pv)
    before = ctx.domain_info(domid)
    for call in (lambda: ctx.pause(-1), lambda: ctx.domain_info(1 << 40),
                 lambda: ctx.set_memory_target(domid, 0),
                 lambda: ctx.set_max_memory(domid, -5),
                 lambda: ctx.create_domain("not a config"),  # type: ignore[arg-type]
                 lambda: ctx.add_disk(domid, "xvda")):       # type: ignore[arg-type]
        with pytest.raises(InvalidArgument):
            call()
    after = ctx.domain_info(domid)
    assert (after.paused, after.current_memkb, after.max_memkb) == \
        (before.paused, before.current_memkb, before.max_memkb)
    assert len(ctx.list_domains()) == 2


def test_closed_context(pv: DomainConfig) -> None:
    c = Context(backend="sim")
    c.close()
    c.close()
    assert c.closed
    with pytest.raises(Exception, match="closed"):
        c.list_domains()


def test_domain_info_checks_its_arguments_in_the_shim(ctx: Context, pv: DomainConfig) -> None:
    """domain_info's checks are the C shim's (a refused call never reaches libxl): the same
    errors as the other calls, an int subclass is a domid, and a thread that read a domain
    before the context was closed gets the closed error, not a freed libxl_ctx."""
    import enum
    import threading

    domid = ctx.create_domain(pv)
    c = Context(backend="sim")          # the same simulated host, closed below
    ref = c.domain_info(domid)
    for bad in (-1, 1 << 40, 0x7FF0, 0xFFFFFFFF, True, 1.0, "1", None):
        with pytest.raises(InvalidArgument, match="not a valid domain id"):
            c.domain_info(bad)  # type: ignore[arg-type]
    with pytest.raises(DomainNotFound, match=f"domain {0x7FEF} does not exist"):
        c.domain_info(0x7FEF)
    Dom = enum.IntEnum("Dom", {"GUEST": domid})
    assert c.domain_info(Dom.GUEST).uuid == ref.uuid
    read = threading.Event()
    go = threading.Event()
    got: list[object] = []

    def other() -> None:
        got.append(c.domain_info(domid).domid)      # this thread's scratch is made here
        read.set()
        go.wait(10)
        for d in (domid, -1):
            try:
                c.domain_info(d)
            except XenlightError as e:
                got.append(str(e))

    t = threading.Thread(target=other)
    t.start()
    assert read.wait(10)
    c.close()
    go.set()
    t.join(10)
    assert got[0] == domid and len(got) == 3
    assert all("closed" in m for m in got[1:])        # closed comes before the domid check
    with pytest.raises(XenlightError, match="closed"):
        c.domain_info(domid)


def test_env_selects_backend(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("XENLIGHT_BACKEND", "sim")
    with Context() as c:
        assert c.backend == "sim"
    monkeypatch.setenv("XENLIGHT_BACKEND", "kvm")
    with pytest.raises(InvalidArgument, match="XENLIGHT_BACKEND"):
        Context()
    with pytest.raises(InvalidArgument, match="backend 'kvm'"):
        Context(backend="kvm")
    assert os.environ["XENLIGHT_BACKEND"] == "kvm"
