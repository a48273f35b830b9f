"""Every libxl error injected in the simulator reaches Python as the right exception, with
libxl's log lines, and leaves nothing half-done."""
from __future__ import annotations

from typing import Callable

import logging

import pytest

from xenlight_py import (Context, DiskConfig, DomainConfig, NicConfig, XenlightError, errors)

# rc -> class, for every code the hierarchy distinguishes (and a generic one).
CODES = [
    (-21, errors.DomainNotFound), (-23, errors.NotFound), (-6, errors.InvalidArgument),
    (-5, errors.OutOfMemory), (-4, errors.FunctionNotImplemented), (-9, errors.Timeout),
    (-8, errors.Timeout), (-11, errors.NotReady), (-17, errors.DeviceExists),
    (-24, errors.DomainDestroyed), (-22, errors.Aborted), (-15, errors.LockFailed),
    (-2, errors.VersionMismatch), (-10, errors.NoParavirt), (-25, errors.FeatureRemoved),
    (-3, errors.XenlightError), (-1, errors.XenlightError),
]

NAMES = {-21: "domain_notfound", -23: "notfound", -6: "inval", -5: "nomem", -4: "ni",
         -9: "timedout", -8: "guest_timedout", -11: "not_ready", -17: "device_exists",
         -24: "domain_destroyed", -22: "aborted", -15: "lock_fail", -2: "version",
         -10: "noparavirt", -25: "feature_removed", -3: "fail", -1: "nonspecific"}


@pytest.mark.parametrize("rc, cls", CODES)
def test_code_maps_to_class(ctx: Context, pv: DomainConfig, rc: int, cls: type) -> None:
    ctx.sim.fail_next("libxl_domain_create_new", rc)
    with pytest.raises(XenlightError) as ei:
        ctx.create_domain(pv)
    e = ei.value
    assert type(e) is cls
    assert e.rc == rc
    assert e.name == NAMES[rc]
    assert e.function == "libxl_domain_create_new"
    assert e.log and "injected" in e.log[-1]
    assert str(rc) in str(e) and NAMES[rc] in str(e)
    assert ctx.sim.domain_count() == 1          # no half-created domain
    ctx.create_domain(pv)                      # the fault was for one call only


def test_python_base_classes() -> None:
    assert issubclass(errors.DomainNotFound, LookupError)
    assert issubclass(errors.InvalidArgument, ValueError)
    assert issubclass(errors.OutOfMemory, MemoryError)
    assert issubclass(errors.Timeout, TimeoutError)
    assert issubclass(errors.FunctionNotImplemented, NotImplementedError)


def _calls(ctx: Context, domid: int, tmp: str) -> dict[str, Callable[[], object]]:
    return {
        "libxl_domain_info": lambda: ctx.domain_info(domid),
        "libxl_list_domain": lambda: ctx.list_domains(),
        "libxl_list_vcpu": lambda: ctx.list_vcpus(domid),
        "libxl_get_physinfo": lambda: ctx.physinfo(),
        "libxl_get_free_memory": lambda: ctx.free_memory(),
        "libxl_get_memory_target": lambda: ctx.memory_target(domid),
        "libxl_name_to_domid": lambda: ctx.name_to_domid("pv1"),
        "libxl_domain_pause": lambda: ctx.pause(domid),
        "libxl_domain_unpause": lambda: ctx.unpause(domid),
        "libxl_domain_destroy": lambda: ctx.destroy(domid),
        "libxl_domain_rename": lambda: ctx.rename(domid, "other"),
        "libxl_domain_suspend": lambda: ctx.suspend(domid, tmp),
        "libxl_domain_setmaxmem": lambda: ctx.set_max_memory(domid, 512 * 1024),
        "libxl_set_memory_target": lambda: ctx.set_memory_target(domid, 128 * 1024),
        "libxl_set_vcpuonline": lambda: ctx.set_vcpus_online(domid, 1),
        "libxl_set_vcpuaffinity": lambda: ctx.set_vcpu_affinity(domid, 0, {1}),
        "libxl_device_disk_add": lambda: ctx.add_disk(domid, DiskConfig("xvdz", tmp + ".disk")),
        "libxl_device_nic_add": lambda: ctx.add_nic(domid, NicConfig(bridge="br9")),
        "libxl_evenable_domain_death": lambda: ctx.events([domid]),
    }


FUNCS = sorted(_calls(None, 0, "").keys())  # type: ignore[arg-type]
# These return a NULL list and no code: libxl's log is all there is (generic failure).
NULL_RETURNING = {"libxl_list_domain", "libxl_list_vcpu"}


@pytest.mark.parametrize("function", FUNCS)
def test_every_injected_fault(ctx: Context, pv: DomainConfig, tmp_path, function: str) -> None:  # type: ignore[no-untyped-def]
    domid = ctx.create_domain(pv, paused=function == "libxl_domain_unpause")
    before = ctx.domain_info(domid)
    call = _calls(ctx, domid, str(tmp_path / "img"))[function]
    (tmp_path / "img.disk").write_bytes(b"")   # the hot-plugged disk's file (libxl stats it)
    ctx.sim.fail_next(function, -5)
    with pytest.raises(XenlightError) as ei:
        call()
    if function in NULL_RETURNING:
        assert type(ei.value) is XenlightError and ei.value.rc == -3
    else:
        assert type(ei.value) is errors.OutOfMemory and ei.value.rc == -5
    assert ei.value.function == function
    assert any("injected" in line for line in ei.value.log)
    # nothing changed
    after = ctx.domain_info(domid)
    assert ctx.sim.domain_count() == 2
    assert (after.paused, after.current_memkb, after.max_memkb, after.vcpu_online) == \
        (before.paused, before.current_memkb, before.max_memkb, before.vcpu_online)
    assert ctx.domid_to_name(domid) == "pv1"
    assert not (tmp_path / "img").exists()
    call()    # and the next call works


def test_unpause_failure_after_create_leaves_nothing(ctx: Context, pv: DomainConfig) -> None:
    ctx.sim.fail_next("libxl_domain_unpause", -3)
    with pytest.raises(XenlightError) as ei:
        ctx.create_domain(pv)
    assert ei.value.function == "libxl_domain_unpause"
    assert ctx.sim.domain_count() == 1
    assert [d.domid for d in ctx.list_domains()] == [0]


@pytest.mark.parametrize("function", ["libxl_device_disk_add", "libxl_device_nic_add"])
def test_device_fault_is_for_hotplug_only(ctx: Context, function: str,
                                          image: Callable[..., str]) -> None:
    """Devices given at create are part of libxl_domain_create_new (the simulator's
    device_*_add fault points are the hot-plug calls): create succeeds and the armed fault
    hits the next hot-plug, which changes nothing."""
    cfg = DomainConfig(name="d", kernel="/k", disks=(DiskConfig("xvda", image("a")),),
                       nics=(NicConfig(bridge="xenbr0"),))
    ctx.sim.fail_next(function, -3)
    domid = ctx.create_domain(cfg)
    assert ctx.domain_info(domid).running
    with pytest.raises(XenlightError) as ei:
        if function == "libxl_device_disk_add":
            ctx.add_disk(domid, DiskConfig("xvdb", image("b")))
        else:
            ctx.add_nic(domid, NicConfig(bridge="xenbr1", devid=5))
    assert ei.value.function == function and ei.value.rc == -3
    with pytest.raises(errors.NotFound):
        if function == "libxl_device_disk_add":
            ctx.sim.disk_stats(domid, "xvdb")
        else:
            ctx.sim.nic_stats(domid, 5)


@pytest.mark.parametrize("function", ["libxl_vdev_to_device_disk", "libxl_devid_to_device_nic"])
def test_device_lookup_fault_unplugs_nothing(ctx: Context, pv: DomainConfig, function: str,
                                             image: Callable[..., str]) -> None:
    """An unplug reads the device back first; when that read fails, the device stays (and
    a failure other than "not there" is not reported as NotFound)."""
    domid = ctx.create_domain(pv)
    ctx.add_disk(domid, DiskConfig("xvdb", image("b")))
    devid = ctx.add_nic(domid, NicConfig(bridge="xenbr0"))
    unplug = {"libxl_vdev_to_device_disk": lambda: ctx.remove_disk(domid, "xvdb"),
              "libxl_devid_to_device_nic": lambda: ctx.remove_nic(domid, devid)}[function]
    ctx.sim.fail_next(function, -5)
    with pytest.raises(errors.OutOfMemory) as ei:
        unplug()
    assert ei.value.function == function
    ctx.sim.disk_stats(domid, "xvdb")
    ctx.sim.nic_stats(domid, devid)
    unplug()


@pytest.mark.parametrize("op", ["pause", "unpause", "shutdown", "reboot", "destroy",
                                "memory_target", "resume"])
def test_missing_domain_is_domain_not_found(ctx: Context, op: str) -> None:
    with pytest.raises(errors.DomainNotFound) as ei:
        getattr(ctx, op)(42)
    assert ei.value.rc == -21 and "42" in str(ei.value)


@pytest.mark.parametrize("rc", [-3, -15, -6])
def test_any_failure_for_a_missing_domain_is_domain_not_found(ctx: Context, rc: int) -> None:
    """Real Xen 4.17 answers libxl_set_memory_target on a missing domid with
    ERROR_LOCK_FAIL (tests/realxen): whatever the code, a missing domain is reported as such."""
    ctx.sim.fail_next("libxl_set_memory_target", rc)
    with pytest.raises(errors.DomainNotFound) as ei:
        ctx.set_memory_target(42, 65536)
    assert any("injected" in line for line in ei.value.log)


def test_log_reaches_logging_and_exception(ctx: Context, pv: DomainConfig, caplog) -> None:  # type: ignore[no-untyped-def]
    ctx.create_domain(pv)
    with caplog.at_level(logging.WARNING, logger="xenlight"):
        with pytest.raises(errors.InvalidArgument) as ei:
            ctx.create_domain(pv)                  # same name twice
    assert any("already exists" in line for line in ei.value.log)
    assert any("already exists" in r.getMessage() and r.name == "xenlight"
               for r in caplog.records)


def test_captures_are_per_call(ctx: Context, pv: DomainConfig) -> None:
    ctx.create_domain(pv)
    with pytest.raises(errors.InvalidArgument) as first:
        ctx.create_domain(pv)
    with pytest.raises(errors.DomainNotFound) as second:
        ctx.destroy(77)
    assert not any("already exists" in line for line in second.value.log)
    assert any("already exists" in line for line in first.value.log)


def test_xen_backend_fails_clearly() -> None:
    with pytest.raises(errors.BackendUnavailable) as ei:
        Context(backend="xen")
    e = ei.value
    assert e.rc == -3 and e.name == "fail" and e.function == "libxl_ctx_alloc"
    text = str(e)
    assert "cannot open libxc handle" in text     # libxl's own words, from its log
    assert "'sim'" in text and "XENLIGHT_BACKEND=sim" in text


def test_libxl_messages_follow_the_xenlight_level(ctx: Context, pv: DomainConfig,
                                                  caplog) -> None:  # type: ignore[no-untyped-def]
    """libxl's messages below the `xenlight` logger's level are dropped in C; the threshold
    follows the logger once refresh_log_level() is called."""
    lg = logging.getLogger("xenlight")
    before = lg.level
    caplog.set_level(logging.DEBUG)          # the capture handler takes everything

    def built() -> int:
        return sum("domain built" in r.getMessage() for r in caplog.records
                   if r.name == "xenlight")
    try:
        lg.setLevel(logging.WARNING)
        ctx.refresh_log_level()
        ctx.create_domain(pv)
        lg.setLevel(logging.DEBUG)
        ctx.create_domain(DomainConfig(name="b", kernel="/k"))   # C still drops it
        assert built() == 0
        ctx.refresh_log_level()
        ctx.create_domain(DomainConfig(name="c", kernel="/k"))
        assert built() == 1
    finally:
        lg.setLevel(before)
        ctx.refresh_log_level()


def test_domain_info_failure_carries_its_own_lines_only(ctx: Context, pv: DomainConfig) -> None:
    """domain_info counts its failure's log lines in C (no log sequence read per call): an
    earlier failure's lines in the same thread are not attached, and two lines are two."""
    domid = ctx.create_domain(pv)
    ctx.sim.fail_next("libxl_domain_pause", -3)
    with pytest.raises(XenlightError):
        ctx.pause(domid)                        # a line in this thread's ring
    ctx.sim.fail_next("libxl_domain_info", -3)
    with pytest.raises(XenlightError) as ei:
        ctx.domain_info(domid)
    assert len(ei.value.log) == 1 and "injected" in ei.value.log[0]
    assert "libxl_domain_pause" not in ei.value.log[0]
    with pytest.raises(errors.DomainNotFound) as ei:
        ctx.domain_info(domid + 100)
    assert not ei.value.log                     # it logged nothing: nothing stale attached
    assert ctx.domain_info(domid).domid == domid
