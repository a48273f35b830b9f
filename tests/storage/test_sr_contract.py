"""The storage layer against the reference: error codes and their parameters, SM record fields,
and driver lookup (built-ins and entry-point plugins)."""
from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import pytest

from sr_helpers import MiB, new_uuid
from xenapi_impl.errors import XenAPIError
from xenapi_impl.storage import (
    ENTRY_POINT_GROUP, BackendFailure, DeviceConfigInvalid, FileSRDriver, InvalidArgument,
    InvalidSize, ISOSRDriver, NoSpace, NotSupported, SRBusy, SRDriver, SRExists, SRNotAttached,
    SRNotEmpty, SRNotFound, StorageError, UnknownDriver, VDIInUse, VDINotFound, VDIReadOnly,
    VDITooLarge, VDITooSmall, drivers, get_driver, registry, supported_types,
)

from reference_dir import reference_classes, reference_errors

SR, VDI = new_uuid(), new_uuid()
ONE_OF_EACH: list[StorageError] = [
    BackendFailure("EIO", "disk on fire"),
    DeviceConfigInvalid("path", "missing"),
    SRNotFound("/srv/x", "no SR"),
    SRExists("/srv/x", SR),
    UnknownDriver("nfs"),
    SRNotAttached(SR),
    NotSupported(SR, "vdi_create"),
    SRNotEmpty(SR, 3),
    SRBusy(SR, 1.5),
    VDINotFound(SR, VDI),
    VDIInUse(VDI, "destroy"),
    VDIReadOnly(VDI),
    InvalidArgument("sr_uuid", "x"),
    InvalidSize("size", -1),
    VDITooSmall(VDI, 4096, 512),
    VDITooLarge(VDI, 1 << 44, 1 << 50),
    NoSpace(2 * MiB, MiB),
]


def all_subclasses(cls: type) -> set[type]:
    out = set()
    for sub in cls.__subclasses__():
        out |= {sub} | all_subclasses(sub)
    return out


def test_every_error_class_is_checked_here() -> None:
    import xenapi_impl.storage.errors as mod
    declared = {c for c in all_subclasses(StorageError) if c.__module__ == mod.__name__}
    assert declared == {type(e) for e in ONE_OF_EACH}


@pytest.mark.parametrize("exc", ONE_OF_EACH, ids=lambda e: type(e).__name__)
def test_error_codes_and_params_match_the_reference(exc: StorageError) -> None:
    reference = reference_errors()
    assert exc.code in reference
    assert len(exc.params) == len(reference[exc.code]), (exc.code, reference[exc.code])
    assert all(isinstance(p, str) for p in exc.params)
    wire = exc.to_xenapi()
    assert isinstance(wire, XenAPIError) and wire.description == [exc.code, *exc.params]


def test_error_params_carry_the_facts() -> None:
    assert VDINotFound(SR, VDI).params == [SR, VDI]
    assert NoSpace(2 * MiB, MiB).params == [str(2 * MiB), str(MiB)]
    assert VDITooSmall(VDI, 4096, 512).params == [VDI, "4096"]
    assert BackendFailure("EIO", "disk on fire").params == ["EIO", "disk on fire", ""]
    assert isinstance(VDITooSmall(VDI, 1, 0), InvalidSize)


@pytest.mark.parametrize("driver", [FileSRDriver, ISOSRDriver], ids=lambda d: d.TYPE)
def test_sm_record_fields_match_the_sm_class(driver: type[SRDriver]) -> None:
    sm = reference_classes()["SM"]
    fields = {f["name"] for f in sm["fields"]}
    record = driver.info().sm_record()
    # everything but the API layer's own fields (uuid, other_config) comes from the driver
    assert set(record) == fields - {"uuid", "other_config"}
    assert record["type"] == driver.TYPE
    assert set(record["configuration"]) == set(driver.REQUIRED_CONFIG)
    assert set(record["features"]) == set(record["capabilities"])
    assert os.path.exists(record["driver_filename"])
    assert record["supported_image_formats"] == ["raw"]


def test_capabilities() -> None:
    file_caps = FileSRDriver.info().capabilities
    assert {"SR_PROBE", "SR_SCAN", "VDI_CREATE", "VDI_DELETE", "VDI_RESIZE", "VDI_CLONE",
            "VDI_SNAPSHOT", "VDI_ATTACH", "VDI_DETACH"} <= file_caps
    iso_caps = ISOSRDriver.info().capabilities
    assert "SR_SCAN" in iso_caps and "VDI_CREATE" not in iso_caps and "VDI_DELETE" not in iso_caps
    assert ISOSRDriver.info().content_type == "iso"


# -- lookup ------------------------------------------------------------------------------------

def test_builtins_resolve_through_get_driver() -> None:
    assert get_driver("file") is FileSRDriver
    assert get_driver("iso") is ISOSRDriver
    assert {"file", "iso"} <= set(supported_types())


@pytest.mark.parametrize("name", ["nfs", "", "FILE", None, 3])
def test_unknown_type(name: object) -> None:
    with pytest.raises(UnknownDriver) as e:
        get_driver(name)  # type: ignore[arg-type]
    assert e.value.code == "SR_UNKNOWN_DRIVER" and e.value.params == [str(name)]


PLUGIN_MODULE = '''
from xenapi_impl.storage import FileSRDriver


class DemoDriver(FileSRDriver):
    """The file driver offered under another type, as a third-party package would."""
    TYPE = "demo"
    NAME = "Demo plugin"


class NotADriver:
    TYPE = "notadriver"
'''

ENTRY_POINTS = f'''[{ENTRY_POINT_GROUP}]
demo = demo_sr_plugin:DemoDriver
file = demo_sr_plugin:DemoDriver
broken = demo_sr_plugin:DoesNotExist
notadriver = demo_sr_plugin:NotADriver
wrongtype = demo_sr_plugin:DemoDriver
'''


@pytest.fixture
def installed_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A real (if minimal) installed distribution: a dist-info with entry_points.txt on
    sys.path, found by importlib.metadata the way an installed package is."""
    (tmp_path / "demo_sr_plugin.py").write_text(PLUGIN_MODULE)
    info = tmp_path / "demo_sr_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: demo-sr-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    registry.reload()
    yield tmp_path
    registry.reload()
    sys.modules.pop("demo_sr_plugin", None)


def test_plugin_found_through_entry_points(installed_plugin: Path, tmp_path: Path,
                                           caplog: pytest.LogCaptureFixture) -> None:
    demo = get_driver("demo")
    assert demo.__name__ == "DemoDriver" and demo.TYPE == "demo"
    assert "demo" in supported_types() and drivers()["demo"] is demo
    assert demo.info().sm_record()["driver_filename"] == str(installed_plugin /
                                                             "demo_sr_plugin.py")
    # it really works
    sr = demo(new_uuid(), {"path": str(tmp_path / "demo-sr")})
    sr.create()
    sr.attach()
    assert sr.vdi_create(MiB).virtual_size == MiB
    # a plugin cannot replace a built-in; broken ones are skipped and reported
    assert get_driver("file") is FileSRDriver
    for bad in ("broken", "notadriver", "wrongtype"):
        assert bad not in supported_types()
        with pytest.raises(UnknownDriver):
            get_driver(bad)
    logged = caplog.text
    assert "'broken'" in logged and "'notadriver'" in logged and "'wrongtype'" in logged


def test_plugins_forgotten_after_uninstall(installed_plugin: Path) -> None:
    assert "demo" in supported_types()
    (installed_plugin / "demo_sr_plugin-1.0.dist-info" / "entry_points.txt").unlink()
    assert "demo" in supported_types()          # cached until reload
    registry.reload()
    assert "demo" not in supported_types()
