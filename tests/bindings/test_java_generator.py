"""The Java binding's generator (bindings/java/gen.py): deterministic, and every class,
message (each arity, sync and async), enum and error of the model is in its output."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from java_gen import gen
from xenapi_impl.model import MODEL
from xenapi_impl.model.errors import ERRORS


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    return gen.render()


def test_generation_is_deterministic(files: dict[str, str], tmp_path: Path) -> None:
    assert gen.render() == files
    a, b = tmp_path / "a", tmp_path / "b"
    gen.write(a)
    gen.write(b)
    tree = {p.relative_to(a): p.read_bytes() for p in a.rglob("*") if p.is_file()}
    assert tree == {p.relative_to(b): p.read_bytes() for p in b.rglob("*") if p.is_file()}
    assert {str(p) for p in tree} == set(files)


@pytest.mark.parametrize("name,java", [
    ("name_label", "nameLabel"), ("VCPUs_max", "VCPUsMax"), ("get_VCPUs_max", "getVCPUsMax"),
    ("clone", "createClone"), ("class", "clazz"), ("public", "_public"), ("PV_kernel", "PVKernel"),
    ("get_HVM_shadow_multiplier", "getHVMShadowMultiplier"), ("from", "from"),
    ("required_version ", "requiredVersion"), ("connected PIF", "connectedPIF"),
])
def test_member_names_follow_the_official_sdk(name: str, java: str) -> None:
    assert gen.camel(name) == java


@pytest.mark.parametrize("name,java", [
    ("VM", "VM"), ("VM_guest_metrics", "VMGuestMetrics"), ("host_cpu", "HostCpu"),
    ("PIF_metrics", "PIFMetrics"), ("session", "Session"), ("vm_power_state", "VmPowerState"),
])
def test_class_names_follow_the_official_sdk(name: str, java: str) -> None:
    assert gen.class_name(name) == java


def test_error_class_names() -> None:
    assert gen.error_class("VM_BAD_POWER_STATE") == "VmBadPowerState"
    assert gen.error_class("SESSION_INVALID") == "SessionInvalid"


def _signature(c, m, n_params: int, is_async: bool) -> str:
    params = m.arg_params[0 if gen.is_static(c, m) else 1:][:n_params]
    result = "Task" if is_async else gen.jtype(m.result)
    args = ", ".join(["Connection c", *(f"{gen.jtype(p.type)} {gen.camel(p.name)}" for p in params)])
    static = "static " if gen.is_static(c, m) else ""
    return f"public {static}{result} {gen.camel(m.name)}{'Async' if is_async else ''}({args})"


def test_every_class_and_message_is_generated(files: dict[str, str]) -> None:
    methods = 0
    for c in MODEL.classes.values():
        src = files[str(gen.PACKAGE_DIR / f"{gen.class_name(c.name)}.java")]
        assert f"public class {gen.class_name(c.name)} extends XenAPIObject" in src
        assert "public static class Record implements Types.Record" in src
        for f in c.fields.values():
            decl = f"public {gen.jtype(f.type)} {gen.camel(f.name)};"
            assert f'@JsonProperty("{f.name}")\n        {decl}' in src
        for m in c.messages.values():
            skip = 0 if gen.is_static(c, m) else 1
            for is_async in (False, True) if m.is_async else (False,):
                wire = ("Async." if is_async else "") + m.full_name
                assert f'c.dispatch("{wire}", ' in src, wire
                for n in range(m.min_args - skip, m.max_args - skip + 1):
                    assert _signature(c, m, n, is_async) in src, (wire, n)
                    methods += 1
    # every overload of every message, counted from the source: nothing more was generated
    generated = sum(len(re.findall(r"^    public (?:static )?\S.* \w+\(Connection c", files[str(
        gen.PACKAGE_DIR / f"{gen.class_name(c)}.java")], re.M)) for c in MODEL.classes)
    assert generated == methods
    assert len(MODEL.classes) >= 29 and methods > 1400


def test_types_has_every_enum_and_error(files: dict[str, str]) -> None:
    types = files[str(gen.PACKAGE_DIR / "Types.java")]
    for e in MODEL.enums.values():
        assert f"public enum {gen.class_name(e.name)} {{\n" in types
        for v in e.values:
            assert f'@JsonProperty("{v}")' in types
    assert types.count("@JsonEnumDefaultValue\n        UNRECOGNIZED,") == len(MODEL.enums)
    for code, params in ERRORS.items():
        assert f"public static class {gen.error_class(code)} extends XenAPIException" in types
        assert f'case "{code}": throw new {gen.error_class(code)}(' in types
    assert ("public VmBadPowerState(String vm, String expected, String actual)" in types)


def test_external_classes_are_reference_holders(files: dict[str, str]) -> None:
    for name in MODEL.external_classes:
        src = files[str(gen.PACKAGE_DIR / f"{gen.class_name(name)}.java")]
        assert "(Connection c" not in src


def test_api_version_latest_is_the_servers(files: dict[str, str]) -> None:
    from xenapi_impl.server.seed import API_VERSION_MAJOR, API_VERSION_MINOR
    src = files[str(gen.PACKAGE_DIR / "APIVersion.java")]
    assert f"return API_{API_VERSION_MAJOR}_{API_VERSION_MINOR};" in src
