"""`xe` against the real server process (sim backend, XLSIM_STATE_FILE set): golden
transcripts of whole sessions, every generated command on a sample of classes, the errors xe
prints, the connection paths (default Unix socket, HTTP, HTTPS, password file) and the bash
completion.

Goldens live in xe_golden/; uuids, refs and MACs are numbered by first appearance. To
regenerate them after a deliberate change: XE_GOLDEN_UPDATE=1 pytest tests/clients/test_xe.py.
"""
from __future__ import annotations

import contextlib
import difflib
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import XenAPI
from reference_dir import reference_errors
from serverproc import VENV_BIN, ServerProcess

from xenapi_impl.model import MODEL
from xenapi_impl.xe import main as xe_main
from xenapi_impl.xe.completion import PATH as COMPLETION_PATH, script as completion_script
from xenapi_impl.xe.errors import ERRORS
from xenapi_impl.xe.fields import CliClass
from xenapi_impl.xe.output import Printer, ProgressBar, escape_commas, record_block

GOLDEN = Path(__file__).parent / "xe_golden"
XE = os.path.join(VENV_BIN, "xe")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
REF = re.compile(r"OpaqueRef:[0-9a-zA-Z-]+")
MAC = re.compile(r"\b[0-9a-f]{2}(?::[0-9a-f]{2}){5}\b")


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    work = tmp_path_factory.mktemp("xe")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XLSIM_STATE_FILE", str(work / "xlsim.state"))
        with ServerProcess(str(work), https=True, unix=True) as server:
            yield server


class Xe:
    """Runs xe in this process on the server's Unix socket, through its default path
    ($XENAPI_SOCKET), and keeps a normalized transcript."""

    def __init__(self, socket: str, workdir: str) -> None:
        self.socket = socket
        self.workdir = workdir
        self.lines: list[str] = []
        self.names: dict[str, str] = {}

    def __call__(self, *args: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        old = os.environ.get("XENAPI_SOCKET")
        os.environ["XENAPI_SOCKET"] = self.socket
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                rc = xe_main(list(args))
        finally:
            if old is None:
                del os.environ["XENAPI_SOCKET"]
            else:
                os.environ["XENAPI_SOCKET"] = old
        shown = " ".join(a if " " not in a else f'"{a}"' if "=" not in a else
                         a.replace("=", '="', 1) + '"' for a in args)
        self.lines.append(f"$ xe {shown}")
        self.lines += out.getvalue().splitlines()
        self.lines += [f"(stderr) {line}" for line in err.getvalue().splitlines()]
        self.lines.append(f"[exit {rc}]")
        return rc, out.getvalue(), err.getvalue()

    def ok(self, *args: str) -> str:
        rc, out, err = self(*args)
        assert rc == 0, (args, out, err)
        return out.strip()

    def _number(self, pattern: re.Pattern[str], kind: str, text: str) -> str:
        def sub(m: re.Match[str]) -> str:
            key = m.group(0)
            if key not in self.names:
                n = sum(v.startswith(f"<{kind}") for v in self.names.values()) + 1
                self.names[key] = f"<{kind}{n}>"
            return self.names[key]
        return pattern.sub(sub, text)

    def transcript(self) -> str:
        text = "\n".join(self.lines).replace(self.workdir, "<workdir>") + "\n"
        for pattern, kind in ((UUID, "uuid"), (REF, "ref"), (MAC, "mac")):
            text = self._number(pattern, kind, text)
        return text


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("XE_GOLDEN_UPDATE"):
        path.write_text(text)
    assert path.exists(), f"no golden {path}; run with XE_GOLDEN_UPDATE=1"
    want = path.read_text()
    if text != want:
        diff = difflib.unified_diff(want.splitlines(), text.splitlines(), "golden", "now",
                                    lineterm="")
        pytest.fail(f"transcript differs from {path}:\n" + "\n".join(diff), pytrace=False)


@pytest.fixture
def xe(srv):
    return Xe(srv.unix_path, srv.workdir)


@pytest.fixture
def api(srv):
    s = XenAPI.Session(srv.url)
    s.xenapi.login_with_password("root", srv.password, "1.0", "pytest-xe")
    yield s.xenapi
    s.xenapi.session.logout()


# -- golden sessions -----------------------------------------------------------------------------

def test_vm_lifecycle_session(xe, api):
    """vm-install to vm-uninstall as an operator types it: install (clone + provision, no
    longer a template), list and selectors, power verbs, the power-state error as xe prints it,
    clone, --multiple, snapshot and revert, vm-migrate (refused halted, then a localhost
    live migration), uninstall."""
    vm = xe.ok("vm-install", "template=Debian Bookworm 12", "new-name-label=web01")
    rec = api.VM.get_record(api.VM.get_by_uuid(vm))
    assert rec["is_a_template"] is False and len(rec["VBDs"]) == 1
    xe("vm-list", "name-label=web01")
    xe("vm-param-get", f"uuid={vm}", "param-name=is-a-template")
    xe("vm-disk-list", "vm=web01", "vdi-params=name-label,virtual-size")
    xe("vm-start", "vm=web01")
    xe("vm-list", "power-state=running", "is-control-domain=false")
    xe("vm-start", "vm=web01")
    xe("vm-shutdown", "vm=web01")
    clone = xe.ok("vm-clone", "vm=web01", "new-name-label=web02")
    assert api.VM.get_name_label(api.VM.get_by_uuid(clone)) == "web02"
    xe("vm-start")
    xe("vm-start", "--multiple")
    xe("vm-list", "power-state=running", "is-control-domain=false", "params=name-label")
    xe("vm-shutdown", "--multiple", "--force")
    xe("vm-list", "power-state=halted", "--minimal")
    snap = xe.ok("vm-snapshot", "vm=web01", "new-name-label=before-upgrade")
    xe("snapshot-list", "params=name-label,is-a-snapshot")
    xe("vm-param-set", f"uuid={vm}", "name-description=upgraded")
    xe("snapshot-revert", f"snapshot-uuid={snap}")
    xe("vm-param-get", f"uuid={vm}", "param-name=name-description")
    host = xe.ok("host-list", "--minimal")
    xe("vm-migrate", "vm=web01", f"host={host}")            # halted: the power-state error
    xe("vm-start", "vm=web01")
    xe("vm-migrate", "vm=web01", f"host={host}", "live=true")   # to its own host (localhost)
    xe("vm-list", "name-label=web01", "params=power-state,resident-on")
    xe("vm-shutdown", "vm=web01", "--force")
    xe("vm-uninstall", "vm=web02", "--force")
    xe("vm-list", "params=name-label", "is-control-domain=false")
    check_golden("vm_lifecycle", xe.transcript())
    out = xe.ok("vm-uninstall", "vm=web01", "--force")
    assert snap in out                       # its snapshot goes with it
    assert not any(r["name_label"] in ("web01", "before-upgrade")
                   for r in api.VM.get_all_records().values())


def test_devices_session(xe, api, srv):
    """CDs, disks, VIFs, VDIs and SRs: vm-cd-add/eject/insert/list, vm-disk-add/remove,
    vif-create, vm-vif-list, vdi-create, sr-create; the no-empty-drive error."""
    vm = xe.ok("vm-install", "template=Other install media", "new-name-label=cd01")
    iso = xe.ok("sr-list", "name-label=ISO library", "--minimal")
    [pbd] = api.SR.get_PBDs(api.SR.get_by_uuid(iso))
    location = api.PBD.get_device_config(pbd)["location"]
    with open(os.path.join(location, "debian.iso"), "wb") as f:
        f.write(b"\0" * 65536)
    xe("sr-scan", f"uuid={iso}")
    xe("vdi-list", f"sr-uuid={iso}", "params=name-label,virtual-size,read-only")
    xe("vm-cd-add", "vm=cd01", "cd-name=debian.iso", "device=3")
    xe("vm-cd-list", "vm=cd01")
    xe("vm-cd-insert", "vm=cd01", "cd-name=debian.iso")
    xe("vm-cd-eject", "vm=cd01")
    xe("vm-cd-list", "vm=cd01", "vbd-params=userdevice,empty")
    xe("vm-cd-insert", "vm=cd01", "cd-name=debian.iso")
    xe("vm-disk-add", "vm=cd01", "disk-size=64MiB", "device=1")
    xe("vm-disk-list", "vm=cd01", "vbd-params=userdevice,type", "vdi-params=virtual-size")
    xe("vm-disk-remove", "vm=cd01", "device=1")
    xe("vm-disk-add", "vm=cd01", "disk-size=lots", "device=2")
    net = xe.ok("network-list", "--minimal")
    vif = xe.ok("vif-create", f"vm-uuid={vm}", f"network-uuid={net}", "device=0")
    assert api.VIF.get_device(api.VIF.get_by_uuid(vif)) == "0"
    xe("vm-vif-list", "vm=cd01", "params=device,vm-uuid,network-uuid")
    local = xe.ok("sr-list", "name-label=Local storage", "--minimal")
    vdi = xe.ok("vdi-create", f"sr-uuid={local}", "name-label=data, 1", "virtual-size=1GiB")
    xe("vdi-list", "name-label=data, 1", "params=name-label,virtual-size,sr-uuid")
    xe("vdi-list", f"sr-uuid={local}", "name-label=data, 1", "--minimal",
       "params=name-label")
    path = os.path.join(srv.workdir, "second-sr")
    os.makedirs(path, exist_ok=True)
    sr = xe.ok("sr-create", "name-label=second", "type=file", f"device-config:path={path}")
    xe("sr-list", "name-label=second", "params=name-label,type,content-type")
    xe("pbd-list", f"sr-uuid={sr}", "params=sr-uuid,device-config,currently-attached")
    xe("vm-install", "template=Generic Linux PV", "new-name-label=on-second", f"sr-uuid={sr}")
    xe("vm-disk-list", "vm=on-second", "vbd-params=userdevice", "vdi-params=sr-uuid")
    check_golden("devices", xe.transcript())
    xe.ok("vdi-param-set", f"uuid={vdi}", "name-label=data")
    xe.ok("vm-uninstall", "vm=cd01", "--force")
    xe.ok("vm-uninstall", "vm=on-second", "--force")


def test_errors_session(xe, api):
    """The errors xe prints: ambiguous selector, unknown parameter (as a filter, as a VM
    selector, as param-name), bad values (int, bool, enum, size), read-only fields, unknown
    command and switch, missing parameter, bad uuid, duplicate parameter, unknown map key."""
    a = xe.ok("vm-install", "template=Generic Linux PV", "new-name-label=twin")
    b = xe.ok("vm-install", "template=Generic Linux PV", "new-name-label=twin")
    xe("vm-start", "vm=twin")
    xe("vm-clone", "vm=twin", "new-name-label=x")
    xe("vm-start", "vm=nosuchvm")
    xe("vm-list", "colour=blue")
    xe("vm-start", "vm=twin", "colour=blue")
    xe("vm-param-get", f"uuid={a}", "param-name=colour")
    xe("vm-param-get", f"uuid={a}", "param-name=other-config", "param-key=nope")
    xe("vm-param-set", f"uuid={a}", "VCPUs-max=many")
    xe("vm-param-set", f"uuid={a}", "is-a-template=maybe")
    xe("vm-param-set", f"uuid={a}", "actions-after-reboot=explode")
    xe("vm-param-set", f"uuid={a}", "power-state=running")
    xe("vm-param-set", f"uuid={a}", "allowed-operations:x=y")
    xe("vm-param-set", f"uuid={a}", "tags=a")
    xe("vm-param-set", f"uuid={a}", "name-label=renamed", "user-version=x")
    assert api.VM.get_name_label(api.VM.get_by_uuid(a)) == "twin"   # nothing half-applied
    xe("vm-param-remove", f"uuid={a}", "param-name=tags", "param-key=nope")
    xe("vm-param-set", f"uuid={a}", "memory-static-max=1")
    xe("vm-param-list", "uuid=00000000-0000-0000-0000-000000000000")
    xe("vm-param-list")
    xe("vm-frobnicate", "vm=twin")
    xe("vm-list", "--minimal", "-x", "1")
    xe("name-label=web01")
    xe("vm-list", "name-label=a", "name-label=b")
    xe("vm-start", "vm=twin", "--multiple")
    xe("vm-list", "name-label=twin", "params=power-state")
    check_golden("errors", xe.transcript())
    rc, out, _ = xe("vm-start", "vm=twin", "--multiple")     # every failure, one a line
    assert rc == 1
    assert sorted(line.split(":")[0] for line in out.splitlines()
                  if line.startswith("operation failed on")) == \
        sorted(f"operation failed on {u}" for u in (a, b))
    assert out.count("You attempted an operation on a VM that was not in an appropriate") == 2
    for uuid in (a, b):
        xe.ok("vm-uninstall", f"uuid={uuid}", "--force")


def test_help_session(xe):
    """xe help, xe help <command>, --minimal and --all (what the completion reads)."""
    xe("help")
    xe("help", "vm-start", "vm-param-get", "no-such-command")
    xe("help", "--minimal")
    check_golden("help", xe.transcript())
    rc, out, _ = xe("help", "--all", "--minimal")
    names = out.strip().split(",")
    assert rc == 0 and names == sorted(names)
    for cls in ("vm", "sr", "vdi", "network", "host", "vbd", "vif", "pif", "pbd", "task"):
        assert f"{cls}-list" in names and f"{cls}-param-list" in names
    rc, out, _ = xe("help", "--all")
    assert "Full command list" in out and "vm-param-set" in out


# -- every generated command on a sample of classes ----------------------------------------------

SAMPLE = {"VM": "web-sample", "SR": "Local storage", "VDI": "sample-disk",
          "network": None, "host": None}


@pytest.mark.parametrize("cls_name", sorted(SAMPLE))
def test_generated_commands(xe, api, cls_name):
    """<class>-list, -param-list, -param-get (param-key), -param-set (field and map:key),
    -param-add/-remove (map and set), -param-clear, each checked against the server through
    the official SDK; -param-list shows exactly the model's fields with their markers."""
    c = CliClass(MODEL.classes[cls_name])
    n = "vm" if cls_name == "VM" else c.name
    if cls_name == "VM":
        uuid = xe.ok("vm-install", "template=Generic Linux PV", "new-name-label=web-sample")
    elif cls_name == "VDI":
        sr = xe.ok("sr-list", "name-label=Local storage", "--minimal")
        uuid = xe.ok("vdi-create", f"sr-uuid={sr}", "name-label=sample-disk",
                     "virtual-size=16MiB")
    else:
        uuid = xe.ok(f"{n}-list", "--minimal").split(",")[0]
    proxy = getattr(api, cls_name)
    ref = proxy.get_by_uuid(uuid)

    # -list: default columns, params=, a filter, --minimal
    listed = xe.ok(f"{n}-list", f"uuid={uuid}")
    assert listed.splitlines()[0].startswith("uuid ( RO)") and uuid in listed
    assert xe.ok(f"{n}-list", f"uuid={uuid}", "--minimal") == uuid
    assert xe.ok(f"{n}-list", f"uuid={uuid}", "params=uuid,name-label").count("\n") == 1

    # -param-list: every field of the model, hyphenated, with its marker, in model order
    labels = [line.split(":", 1)[0].strip() for line in
              xe.ok(f"{n}-param-list", f"uuid={uuid}").splitlines()]
    assert labels == [cf.label for cf in c.fields.values()]
    assert "name-label ( RW)" in labels and "uuid ( RO)" in labels
    assert "other-config (MRW)" in labels and "allowed-operations (SRO)" in labels

    # -param-get / -param-set on a plain RW field
    assert xe.ok(f"{n}-param-get", f"uuid={uuid}", "param-name=name-label") == \
        proxy.get_name_label(ref)
    xe.ok(f"{n}-param-set", f"uuid={uuid}", "name-description=set by xe, with a comma")
    assert proxy.get_name_description(ref) == "set by xe, with a comma"
    assert xe.ok(f"{n}-param-get", f"uuid={uuid}", "param-name=name-description",
                 "--minimal") == "set by xe\\, with a comma"

    # maps: map:key=value, param-key, param-add k=v, param-remove, param-clear
    xe.ok(f"{n}-param-set", f"uuid={uuid}", "other-config:xe-test=1")
    assert proxy.get_other_config(ref)["xe-test"] == "1"
    xe.ok(f"{n}-param-set", f"uuid={uuid}", "other-config:xe-test=2")
    assert xe.ok(f"{n}-param-get", f"uuid={uuid}", "param-name=other-config",
                 "param-key=xe-test") == "2"
    xe.ok(f"{n}-param-add", f"uuid={uuid}", "param-name=other-config", "a=1", "b=2")
    assert {"a": "1", "b": "2"}.items() <= proxy.get_other_config(ref).items()
    assert xe.ok(f"{n}-list", f"uuid={uuid}", "other-config:a=1", "--minimal") == uuid
    assert xe.ok(f"{n}-list", f"uuid={uuid}", "other-config:a=2", "--minimal") == ""
    xe.ok(f"{n}-param-remove", f"uuid={uuid}", "param-name=other-config", "param-key=a")
    assert "a" not in proxy.get_other_config(ref)
    xe.ok(f"{n}-param-clear", f"uuid={uuid}", "param-name=other-config")
    assert proxy.get_other_config(ref) == {}

    # sets: param-add param-key, set:contains filter, param-remove, param-clear
    if c.field("tags") is not None:
        xe.ok(f"{n}-param-add", f"uuid={uuid}", "param-name=tags", "param-key=blue")
        xe.ok(f"{n}-param-add", f"uuid={uuid}", "param-name=tags", "param-key=green")
        assert sorted(proxy.get_tags(ref)) == ["blue", "green"]
        assert xe.ok(f"{n}-list", f"uuid={uuid}", "tags:contains=blue", "--minimal") == uuid
        xe.ok(f"{n}-param-remove", f"uuid={uuid}", "param-name=tags", "param-key=blue")
        assert proxy.get_tags(ref) == ["green"]
        xe.ok(f"{n}-param-clear", f"uuid={uuid}", "param-name=tags")
        assert proxy.get_tags(ref) == []

    if cls_name == "VM":       # a field written by an explicit message is RW too
        assert "VCPUs-max ( RW)" in labels and "power-state ( RO)" in labels
        xe.ok("vm-param-set", f"uuid={uuid}", "VCPUs-max=2")
        assert proxy.get_VCPUs_max(ref) == "2"
        xe.ok("vm-uninstall", f"uuid={uuid}", "--force")
    elif cls_name == "VDI":
        assert "sr-uuid ( RO)" in labels       # a ref named after its class: <class>-uuid
        proxy.destroy(ref)
    else:
        proxy.set_name_description(ref, "")


# -- connections ---------------------------------------------------------------------------------

def run_xe(*args: str, env: dict[str, str] | None = None,
           stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([XE, *args], capture_output=True, text=True, timeout=60,
                          input=stdin, env={**os.environ, **(env or {})})


def test_default_unix_socket(tmp_path_factory, monkeypatch):
    """`serve --unix` without a path and `xe` without -s meet at the same default socket
    ($XENAPI_SOCKET, else /var/lib/xcp/xapi), logged in as the local superuser without a
    password; the console script's exit codes."""
    from xenapi_impl.server.unixsock import DEFAULT_PATH, default_path
    tmp_path = tmp_path_factory.mktemp("xesock")     # no "_": a socket path must not hold one
    monkeypatch.delenv("XENAPI_SOCKET", raising=False)
    assert default_path() == DEFAULT_PATH == "/var/lib/xcp/xapi"
    sock = str(tmp_path / "default-sock")
    monkeypatch.setenv("XENAPI_SOCKET", sock)
    monkeypatch.setenv("XLSIM_STATE_FILE", str(tmp_path / "xlsim.state"))
    with ServerProcess(str(tmp_path), http=True, extra=["--unix"]) as srv:
        assert f"listening on unix:{sock}" in srv.log()
        r = run_xe("host-list", "--minimal")
        assert r.returncode == 0 and UUID.fullmatch(r.stdout.strip()), r
        r = run_xe("vm-frob")
        assert r.returncode == 1 and r.stderr.startswith("Unknown command: vm-frob")
        r = run_xe("host-list", env={"XENAPI_SOCKET": str(tmp_path / "elsewhere")})
        assert r.returncode == 1 and "Unable to contact server" in r.stderr
    r = run_xe()
    assert r.returncode == 0 and r.stdout.startswith("Usage:")


def test_remote_http_https_and_password_file(srv, tmp_path):
    """-s/-p/-u/-pw over HTTPS (xe's default) and --nossl HTTP; --password-file / -pwf;
    authentication failures as xe words them."""
    pw = srv.password
    https, http = str(srv.ports["https"]), str(srv.ports["http"])
    r = run_xe("-s", "127.0.0.1", "-p", https, "-u", "root", "-pw", pw, "host-list",
               "--minimal")
    assert r.returncode == 0 and UUID.fullmatch(r.stdout.strip()), r
    r = run_xe("-s", "127.0.0.1", "-p", https, "--cafile", srv.cert, "-u", "root", "-pw", pw,
               "host-list", "--minimal")          # the server's certificate names 127.0.0.1
    assert r.returncode == 0 and UUID.fullmatch(r.stdout.strip()), r
    other = tmp_path / "other.pem"
    from xenapi_impl.server.tls import generate_self_signed
    generate_self_signed(str(other))
    r = run_xe("-s", "127.0.0.1", "-p", https, "--cafile", str(other), "-u", "root", "-pw",
               pw, "host-list")
    assert r.returncode == 1 and "CERTIFICATE_VERIFY_FAILED" in r.stderr, r
    r = run_xe("-s", "127.0.0.1", "-p", http, "--nossl", "-u", "root", "-pw", pw, "vm-list",
               "params=name-label", "is-control-domain=true")
    assert r.returncode == 0 and "Control domain" in r.stdout, r
    pwf = tmp_path / "pwf"
    pwf.write_text(f"root\n{pw}\n")
    for switch in ("--password-file", "-pwf"):
        r = run_xe("-s", "127.0.0.1", "-p", http, "--nossl", switch, str(pwf), "host-list",
                   "--minimal")
        assert r.returncode == 0, r
    r = run_xe("-s", "127.0.0.1", "-p", http, "--nossl", "-u", "root", "-pw", "wrong",
               "host-list")
    assert (r.returncode, r.stderr) == (1, "Authentication failed\nFor usage run: 'xe help'\n")
    r = run_xe("-s", "127.0.0.1", "-p", http, "--nossl", "host-list")
    assert (r.returncode, r.stderr) == (
        1, "Username/password must be specified\nFor usage run: 'xe help'\n")
    r = run_xe("-s", "127.0.0.1", "-p", "99999", "host-list")
    assert r.returncode == 1 and "Port number must be an integer (0-65535)" in r.stderr


# -- output, errors table, completion ------------------------------------------------------------

def test_record_block_and_minimal():
    rec = [("uuid ( RO)", "u1"), ("name-label ( RW)", "web01"), ("tags (SRW)", "a; b")]
    assert record_block(rec) == ("uuid ( RO)          : u1\n"
                                 "    name-label ( RW): web01\n"
                                 "          tags (SRW): a; b\n")
    assert escape_commas("a,b\\c") == "a\\,b\\\\c"
    out = io.StringIO()
    p = Printer(minimal=True, out=out)
    p.table([[("uuid ( RO)", "x,1")], [("uuid ( RO)", "y")]])
    p.text("never in --minimal output")
    p.flush()
    assert out.getvalue() == "x\\,1,y\n"


def test_progress_bar_only_on_a_terminal(xe):
    """On a terminal the bar is drawn in place and wiped; piped output never has one."""
    out = io.StringIO()
    bar = ProgressBar(out)
    bar.update(0.5)
    bar.finish()
    text = out.getvalue()
    assert "( 50% ETA" in text and "#" in text and text.endswith("\r")
    _, stdout, _ = xe("vm-install", "template=Generic Linux PV", "new-name-label=pbar")
    assert "\r" not in stdout and UUID.fullmatch(stdout.strip())
    xe.ok("vm-uninstall", "vm=pbar", "--force")


def test_error_parameter_names_match_the_reference():
    codes = reference_errors()
    for code, (_, names) in ERRORS.items():
        assert code in codes, code
        assert [n.replace(" ", "_") for n in names] == \
            [n.replace(" ", "_") for n in codes[code]], code


def test_bash_completion_is_generated_and_current():
    assert Path(COMPLETION_PATH).read_text() == completion_script(), \
        "xe-completion.bash is stale: run `make completion`"
    if shutil.which("bash") is None:
        pytest.skip("no bash")

    def complete(*words: str) -> list[str]:
        cmd = (f"source {COMPLETION_PATH}; COMP_WORDS=(xe {' '.join(words)}); "
               f"COMP_CWORD={len(words)}; _xe; echo \"${{COMPREPLY[@]}}\"")
        return subprocess.run(["bash", "-c", cmd], capture_output=True, text=True,
                              check=True).stdout.split()
    assert complete("vm-sta") == ["vm-start"]
    assert complete("vm-start", "--f") == ["--force"]
    assert complete("vm-param-get", "param-") == ["param-name=", "param-key="]
    assert "other-config:" in complete("vm-param-set", "other")


def test_event_wait(xe, api):
    """event-wait returns at once when an object already matches, else when an event brings
    one (key=/=value: not equal); timeout= ends it with an error."""
    import threading
    vm = xe.ok("vm-install", "template=Generic Linux PV", "new-name-label=waiter")
    assert xe("event-wait", "class=vm", "name-label=waiter", "power-state=halted")[0] == 0
    ref = api.VM.get_by_uuid(vm)
    timer = threading.Timer(1.0, lambda: api.VM.start(ref, False, False))
    timer.start()
    try:
        rc, _, err = xe("event-wait", "class=vm", f"uuid={vm}", "power-state=/=halted",
                        "timeout=60")
    finally:
        timer.join()
    assert rc == 0, err
    assert api.VM.get_power_state(ref) == "Running"
    rc, _, err = xe("event-wait", "class=vm", f"uuid={vm}", "power-state=halted", "timeout=1")
    assert (rc, err) == (1, "Error: Timed out waiting for the event\n")
    xe.ok("vm-uninstall", f"uuid={vm}", "--force")


def test_uninstall_asks_without_force(xe, monkeypatch):
    """vm-uninstall lists what it will destroy and asks; anything but "yes" keeps it all."""
    vm = xe.ok("vm-install", "template=Generic Linux PV", "new-name-label=keepme")
    monkeypatch.setattr("sys.stdin", io.StringIO("no\n"))
    rc, out, _ = xe("vm-uninstall", f"uuid={vm}")
    assert rc == 0 and out.endswith("Type 'yes' to continue\nAborted (you typed: 'no')\n")
    assert xe.ok("vm-list", f"uuid={vm}", "--minimal") == vm
    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))
    rc, out, _ = xe("vm-uninstall", f"uuid={vm}")
    assert rc == 0 and out.endswith("All objects destroyed\n")
    assert xe.ok("vm-list", f"uuid={vm}", "--minimal") == ""


def test_progress_bar_on_a_terminal(srv):
    """With stdout a terminal, a long task may draw its bar; it is wiped before the result, so
    the screen ends with the uuid alone on its line."""
    import pty
    master, slave = pty.openpty()
    env = {**os.environ, "XENAPI_SOCKET": srv.unix_path}
    p = subprocess.Popen([XE, "vm-install", "template=Debian Bookworm 12",
                          "new-name-label=on-a-tty"], stdout=slave, stderr=subprocess.PIPE,
                         env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert p.wait(60) == 0, p.stderr.read()
    screen = b"".join(chunks).decode().replace("\r\n", "\n")     # the tty's newlines
    uuid = screen.rstrip("\n").split("\r")[-1]
    assert UUID.fullmatch(uuid), repr(screen)
    if "[" in screen:                       # a bar was drawn: wiped before the uuid
        assert "% ETA" in screen
    Xe(srv.unix_path, srv.workdir).ok("vm-uninstall", f"uuid={uuid}", "--force")


def test_describe_known_and_unknown_codes():
    """A known code: its description and name: value lines (<extra>/<unknown> when the
    counts differ, as xe); any other code: Error code / Error parameters."""
    from xenapi_impl.xe.errors import describe
    same = lambda name, value: value                       # noqa: E731
    assert describe("NO_SUCH_CODE", ["a", "b"], same) == [
        "Error code: NO_SUCH_CODE", "Error parameters: a, b"]
    assert describe("VM_IS_TEMPLATE", ["v", "x"], same) == [
        "The operation attempted is not valid for a template VM", "vm: v", "<extra>: x"]
    assert describe("UUID_INVALID", ["VM"], same)[1:] == ["type: VM", "uuid: <unknown>"]
