"""Every struct declared in decl/*.h is touched on both backends: cffi checks a partial
struct's layout only when it is first used, and a wrong field width shows up only then."""
from __future__ import annotations

import pytest

from xenlight_py._ffi import load

BACKENDS = ["sim", "xen"]


def _complete(ffi, t) -> bool:  # type: ignore[no-untyped-def]
    # (reading .fields of an opaque struct trips an assertion inside cffi: ask sizeof)
    try:
        ffi.sizeof(t)
        return True
    except ffi.error:
        return False


def _struct_types(ffi):  # type: ignore[no-untyped-def]
    typedefs, structs, unions = ffi.list_types()
    seen = {}
    for name in typedefs:
        try:
            t = ffi.typeof(name)
        except ffi.error:
            continue                    # function typedefs (libxl_event_predicate)
        if t.kind == "struct" and _complete(ffi, t):
            seen[t.cname] = name
    for name in structs:
        t = ffi.typeof("struct " + name)
        if _complete(ffi, t):           # not the opaque ones (libxl_ctx ...)
            seen.setdefault(t.cname, "struct " + name)
    return sorted(seen.values())


def _touch(ffi, cdecl: str) -> int:  # type: ignore[no-untyped-def]
    """Write then read every field (recursively into nested structs and arrays)."""
    p = ffi.new(cdecl + " *")
    count = 0

    def visit(obj, t):  # type: ignore[no-untyped-def]
        nonlocal count
        for fname, field in t.fields:
            ft = field.type
            count += 1
            if ft.kind == "struct":
                visit(getattr(obj, fname), ft)
            elif ft.kind == "array":
                arr = getattr(obj, fname)
                assert len(arr) == ft.length
                if ft.item.kind == "primitive":
                    v = b"x" if ft.item.cname == "char" else 1
                    arr[ft.length - 1] = v
                    assert arr[ft.length - 1] == v
            elif ft.kind == "primitive":
                if ft.cname in ("bool", "_Bool"):
                    setattr(obj, fname, True)
                    assert getattr(obj, fname) is True
                elif ft.cname in ("float", "double"):
                    setattr(obj, fname, 0.5)
                    assert getattr(obj, fname) == 0.5
                elif ft.cname == "char":
                    setattr(obj, fname, b"x")
                    assert getattr(obj, fname) == b"x"
                else:
                    # the largest value of the declared width: a narrower real field
                    # would raise OverflowError or read back differently.
                    size = ffi.sizeof(ft)
                    v = (1 << (8 * size - 1)) - 1
                    setattr(obj, fname, v)
                    assert getattr(obj, fname) == v
            elif ft.kind == "enum":
                setattr(obj, fname, 1)
                assert int(getattr(obj, fname)) == 1
            elif ft.kind == "pointer":
                assert getattr(obj, fname) == ffi.NULL
            # offsets: inside the struct and in declaration order
            assert 0 <= field.offset < ffi.sizeof(t)

    visit(p[0], ffi.typeof(cdecl))
    return count


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_declared_struct(backend: str) -> None:
    b = load(backend)
    names = _struct_types(b.ffi)
    # the IDL structs, the union member typedefs, xc and (sim) xlsim structs
    for required in ("libxl_dominfo", "libxl_domain_config", "libxl_device_nic",
                     "libxl_event", "xlpy_build_info_pv", "xc_domaininfo_t"):
        assert required in names
    total = 0
    for name in names:
        total += _touch(b.ffi, name)
    assert total > 200


@pytest.mark.parametrize("backend", BACKENDS)
def test_union_accessors_point_into_the_struct(backend: str) -> None:
    b = load(backend)
    ffi, lib = b.ffi, b.lib
    bi = ffi.new("libxl_domain_build_info *")
    base = int(ffi.cast("uintptr_t", bi))
    end = base + ffi.sizeof("libxl_domain_build_info")
    for acc in (lib.xlpy_b_info_pv, lib.xlpy_b_info_hvm, lib.xlpy_b_info_pvh):
        addr = int(ffi.cast("uintptr_t", acc(bi)))
        assert base < addr < end
    ev = ffi.new("libxl_event *")
    addr = int(ffi.cast("uintptr_t", lib.xlpy_event_shutdown(ev)))
    assert int(ffi.cast("uintptr_t", ev)) < addr < int(ffi.cast("uintptr_t", ev)) + ffi.sizeof(
        "libxl_event")


@pytest.mark.parametrize("backend", BACKENDS)
def test_idl_init_dispose_roundtrip(backend: str) -> None:
    """init/dispose on the real (or simulated) libxl, with malloc'd strings inside."""
    b = load(backend)
    ffi, lib = b.ffi, b.lib
    d = ffi.new("libxl_domain_config *")
    lib.libxl_domain_config_init(d)
    lib.libxl_domain_build_info_init_type(ffi.addressof(d, "b_info"), lib.LIBXL_DOMAIN_TYPE_PV)
    d.c_info.name = lib.xlpy_strdup(b"x")
    d.b_info.kernel = lib.xlpy_strdup(b"/k")
    lib.xlpy_b_info_pv(ffi.addressof(d, "b_info")).bootloader = lib.xlpy_strdup(b"pygrub")
    d.disks = ffi.cast("libxl_device_disk *", lib.xlpy_calloc(1, ffi.sizeof("libxl_device_disk")))
    lib.libxl_device_disk_init(d.disks)
    d.num_disks = 1
    d.disks[0].vdev = lib.xlpy_strdup(b"xvda")
    assert d.b_info.type == lib.LIBXL_DOMAIN_TYPE_PV
    lib.libxl_domain_config_dispose(d)


def test_flat_record_matches_struct_format() -> None:
    from xenlight_py.context import _DOMINFO
    for backend in BACKENDS:
        assert load(backend).lib.xlpy_dominfo_flat_size() == _DOMINFO.size
