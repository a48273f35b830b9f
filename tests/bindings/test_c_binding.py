"""libxenserver, the C binding generated from the model (bindings/c): built with -Werror, its
generation deterministic and complete, and C programs run under valgrind against the real
server process (sim backend) over HTTP, HTTPS and the Unix socket.

Missing libxml2/libcurl headers, pkg-config, a C compiler or valgrind fail these tests (never
skip them): .ci/run installs them.
"""
from __future__ import annotations

import filecmp
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import XenAPI

from xenapi_impl.model import MODEL

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "clients"))
from serverproc import ServerProcess  # noqa: E402

SRC = REPO / "bindings" / "c"
BUILD = REPO / "build" / "bindings" / "c"
VALGRIND = ["valgrind", "-q", "--error-exitcode=1", "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect"]


def sh(args: list[str], **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, **kw)


@pytest.fixture(scope="module")
def lib() -> Path:
    """`make bindings`' C part: headers and libxenserver.{so,a} under build/bindings/c."""
    for tool in ("cc", "make", "pkg-config", "valgrind"):
        assert shutil.which(tool), f"{tool} missing (.ci/run installs it)"
    r = sh(["make", "-j2", "-C", str(SRC), f"PY={sys.executable}", f"BUILD={BUILD}"])
    assert r.returncode == 0, f"building libxenserver failed:\n{r.stdout}\n{r.stderr}"
    for f in ("lib/libxenserver.so", "lib/libxenserver.a", "include/xen/api/xen_all.h",
              "include/xen/api/xen_vm.h", "include/xen/api/xen_common.h"):
        assert (BUILD / f).is_file(), f
    return BUILD


def compile_c(lib: Path, src: Path, out: Path) -> Path:
    """Build a program the way README.md says (plus -Werror and an rpath)."""
    libs = sh(["pkg-config", "--libs", "libxml-2.0", "libcurl"]).stdout.split()
    r = sh(["cc", "-Wall", "-Wextra", "-Werror", str(src), f"-I{lib}/include", f"-L{lib}/lib",
            "-lxenserver", *libs, f"-Wl,-rpath,{lib}/lib", "-o", str(out)])
    assert r.returncode == 0, f"compiling {src.name} failed:\n{r.stderr}"
    return out


def valgrind(exe: Path, *args: str, timeout: float = 600) -> str:
    r = sh([*VALGRIND, str(exe), *args], timeout=timeout)
    assert r.returncode == 0, f"{exe.name} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    return r.stdout


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    work = tmp_path_factory.mktemp("cbind")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XLSIM_STATE_FILE", str(work / "xlsim.state"))
        with ServerProcess(str(work), https=True, unix=True) as server:
            yield server


# -- the generator ---------------------------------------------------------------------------

def test_generation_is_deterministic_and_covers_the_model(lib, tmp_path):
    for d, seed in (("a", "1"), ("b", "2")):       # whatever the order of Python's sets
        r = sh([sys.executable, str(SRC / "gen.py"), str(tmp_path / d)],
               env={**os.environ, "PYTHONHASHSEED": seed})
        assert r.returncode == 0, r.stderr
    a, b = tmp_path / "a", tmp_path / "b"
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for f in files:   # twice the same output, and the same as the build's
        assert filecmp.cmp(a / f, b / f, shallow=False), f
        assert filecmp.cmp(a / f, lib / f, shallow=False), f"{f} is stale in {lib}"

    api = lib / "include" / "xen" / "api"
    defined = set(re.findall(r" T (xen_\w+)$", sh(["nm", "-D", "--defined-only",
                                                  str(lib / "lib" / "libxenserver.so")]).stdout,
                             re.M))
    exported = re.findall(r" [TDRB] (\w+)$", sh(["nm", "-D", "--defined-only",
                                                str(lib / "lib" / "libxenserver.so")]).stdout,
                          re.M)
    internal = [n for n in exported if n.endswith("_") or n.startswith("xen_t_")]
    assert not internal, f"the runtime's internals are exported: {internal[:5]}"
    functions = 0
    for c in MODEL.classes.values():
        x = c.name.lower()
        header = (api / f"xen_{x}.h").read_text()
        record = re.search(r"typedef struct xen_%s_record\n\{\n(.*?)\} xen_%s_record;" % (x, x),
                           header, re.S)
        assert record, f"no xen_{x}_record"
        for f in c.fields.values():
            if f.type.name != "<class> record":      # event.snapshot: any class's record
                # C keywords renamed as the official SDK does (blob.public -> pubblic)
                name = {"class": "XEN_CLAZZ", "public": "pubblic"}.get(f.name.lower(),
                                                                       f.name.lower())
                assert re.search(rf"[ *]{name};", record.group(1)), f"{c.name}.{f.name}"
        for m in c.messages.values():
            names = [f"xen_{x}_{m.name.lower()}"] + ([f"xen_{x}_{m.name.lower()}_async"]
                                                     if m.is_async else [])
            for n in names:
                assert n in defined, f"{m.full_name}: {n} not in libxenserver.so"
                functions += 1
    for e in MODEL.enums.values():
        header = (api / f"xen_{e.name}.h").read_text()
        for v in (*e.values, "undefined"):
            assert f"XEN_{e.name.upper()}_{v.upper().replace('-', '_')}," in header or \
                v == "undefined" and f"XEN_{e.name.upper()}_UNDEFINED\n" in header
        assert {f"xen_{e.name}_to_string", f"xen_{e.name}_from_string"} <= defined
    n_messages = sum(len(c.messages) for c in MODEL.classes.values())
    n_async = sum(m.is_async for c in MODEL.classes.values() for m in c.messages.values())
    assert functions == n_messages + n_async
    print(f"{len(MODEL.classes)} classes, {n_messages} messages + {n_async} async forms, "
          f"{len(MODEL.enums)} enums, {len(files)} generated files")


def test_every_header_compiles_alone(lib, tmp_path):
    """Each public header includes what it needs (a program may include just xen_vm.h)."""
    headers = sorted(p.name for p in (lib / "include" / "xen" / "api").glob("*.h"))
    sources = []
    for h in headers:
        src = tmp_path / f"{h[:-2]}.c"
        src.write_text(f"#include <xen/api/{h}>\n#include <xen/api/{h}>\n")
        sources.append(str(src))
    r = sh(["cc", "-fsyntax-only", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic",
            f"-I{lib}/include", *sources])
    assert r.returncode == 0, r.stderr[-5000:]
    assert len(headers) > 200


def test_signatures_are_the_official_sdks(lib, tmp_path):
    exe = compile_c(lib, SRC / "tests" / "test_signatures.c", tmp_path / "sig")
    assert sh([str(exe)]).returncode == 0


# -- C programs under valgrind ----------------------------------------------------------------

def test_valgrind_catches_a_leak(lib, tmp_path):
    """The harness itself: a program leaking a record fails."""
    src = tmp_path / "leak.c"
    src.write_text("#include <string.h>\n#include <xen/api/xen_all.h>\n"
                   "int main(void) { xen_vm_record *r = xen_vm_record_alloc();\n"
                   "    r->name_label = strdup(\"leaked\"); r = NULL; return 0; }\n")
    exe = compile_c(lib, src, tmp_path / "leak")
    assert sh([*VALGRIND, str(exe)]).returncode == 1


def test_tolerance_of_newer_and_older_servers(lib, tmp_path):
    exe = compile_c(lib, SRC / "tests" / "test_tolerance.c", tmp_path / "tolerance")
    out = valgrind(exe)
    assert "login: fell back to 2 arguments" in out and out.endswith("done\n")


def enumerate_source() -> str:
    """A C program listing every served class's records (from the model)."""
    body = []
    for c in MODEL.classes.values():
        if "get_all_records" not in c.messages:
            continue
        x = c.name.lower()
        handle = x not in ("session", "event")
        body.append(f"""
    {{
        xen_{x}_xen_{x}_record_map *all = NULL;
        CHECK(xen_{x}_get_all_records(s, &all));
        for (size_t i = 0; i < all->size; i++)
        {{
            CHECK(strncmp(all->contents[i].key, "OpaqueRef:", 10) == 0);
            {"CHECK(strcmp(all->contents[i].val->handle, all->contents[i].key) == 0);"
             if handle else ""}
            CHECK(all->contents[i].val->uuid != NULL && all->contents[i].val->uuid[0]);
        }}
        if (all->size > 0)
        {{
            xen_{x}_record *one = NULL;
            CHECK(xen_{x}_get_record(s, &one, all->contents[0].key));
            CHECK(strcmp(one->uuid, all->contents[0].val->uuid) == 0);
            xen_{x}_record_free(one);
        }}
        printf("{c.name} %zu\\n", all->size);
        xen_{x}_xen_{x}_record_map_free(all);
    }}""")
    return ("#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
            "#include <xen/api/xen_all.h>\n"
            "#define CHECK(c) do { if (!(c)) { fprintf(stderr, \"FAILED line %d: %s %s\\n\", "
            "__LINE__, #c, s->error_description_count ? s->error_description[0] : \"\"); "
            "exit(1); } } while (0)\n"
            "int main(int argc, char **argv)\n{\n    (void)argc;\n    xen_init();\n"
            "    xen_curl_transport *t = xen_curl_transport_new(argv[1]);\n"
            "    xen_session *s = xen_session_login_with_password(xen_curl_call, t, \"root\", "
            "argv[2], xen_api_latest_version);\n    CHECK(s->ok);\n"
            + "".join(body) +
            "\n    xen_session_logout(s);\n    xen_curl_transport_free(t);\n    xen_fini();\n"
            "    return 0;\n}\n")


def test_every_class_enumerates(lib, srv, tmp_path):
    src = tmp_path / "enumerate.c"
    src.write_text(enumerate_source())
    out = valgrind(compile_c(lib, src, tmp_path / "enumerate"), srv.url, srv.password)
    counts = dict(line.split() for line in out.splitlines())
    served = [c for c in MODEL.classes.values() if "get_all_records" in c.messages]
    assert set(counts) == {c.name for c in served}
    py = XenAPI.Session(srv.url)
    py.xenapi.login_with_password("root", srv.password, "1.0", "pytest-cbinding")
    try:   # the same records the Python SDK sees (nothing was created in between)
        for c in served:
            if c.name not in ("session", "task", "message", "event"):
                got = len(getattr(py.xenapi, c.name).get_all_records())
                assert int(counts[c.name]) == got, c.name
    finally:
        py.xenapi.session.logout()
    assert int(counts["VM"]) >= 4 and int(counts["host"]) == 1


def test_vm_life_cycle(lib, srv, tmp_path):
    exe = compile_c(lib, SRC / "tests" / "test_lifecycle.c", tmp_path / "lifecycle")
    out = valgrind(exe, srv.url, srv.password)
    assert out.splitlines() == [
        "login api_version=2.21",
        *[line for line in out.splitlines() if line.startswith("installed vm uuid=")],
        *[line for line in out.splitlines() if line.startswith("created vdi vbd vif mac=")],
        "async start: task success, vm running",
        "event.from: mod event for the vm",
        "refused start: [VM_BAD_POWER_STATE, <vm ref>, halted, running]",
        "suspend resume shutdown: halted",
        "async clone: task result names c-binding-clone",
        "done",
    ]


@pytest.mark.parametrize("transport", ["http", "https", "unix"])
def test_transports(lib, srv, tmp_path, transport):
    exe = compile_c(lib, SRC / "tests" / "test_transport.c", tmp_path / "transport")
    url, extra = {"http": (srv.url, []),
                  "https": (srv.https_url, [srv.cert]),   # verified against its certificate
                  "unix": (f"unix:{srv.unix_path}", [])}[transport]
    out = valgrind(exe, url, srv.password, *extra)
    assert f"{url}: host " in out and "api 2.21" in out and "no server: TRANSPORT_FAULT" in out
    if transport != "unix":
        assert "wrong password: SESSION_AUTHENTICATION_FAILED" in out
