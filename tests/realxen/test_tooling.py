"""The real-Xen run's host-side tooling, checked without QEMU: the initramfs writer
(read back by the system's cpio), the console JSON transfer, and the verdict."""
from __future__ import annotations

import io
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import boot  # noqa: E402
import console_json  # noqa: E402
import verdict  # noqa: E402
from cpio import CpioError, CpioWriter  # noqa: E402


def _archive() -> bytes:
    buf = io.BytesIO()
    w = CpioWriter(buf)
    w.add_bytes("/etc/inittab", b"::sysinit:/etc/rc\n", mode=0o644)
    w.add_bytes("/etc/rc", b"#!/bin/sh\n", mode=0o755)  # odd length: exercises padding
    w.add_symlink("/init", "/bin/busybox")
    w.add_chardev("/dev/console", 5, 1)
    w.close()
    return buf.getvalue()


@pytest.mark.skipif(shutil.which("cpio") is None, reason="needs the cpio tool to read the archive back")
def test_cpio_archive_reads_back_with_system_cpio(tmp_path: Path) -> None:
    data = _archive()
    assert len(data) % 512 == 0
    listing = subprocess.run(["cpio", "-itv", "--quiet"], input=data, capture_output=True, check=True)
    lines = listing.stdout.decode().splitlines()
    by_name = {ln.split()[-1] if "->" not in ln else ln.split()[-3]: ln for ln in lines}
    assert set(by_name) == {"etc", "etc/inittab", "etc/rc", "init", "dev", "dev/console"}
    assert by_name["dev/console"].startswith("crw-------")
    assert "5," in by_name["dev/console"] and by_name["dev/console"].split()[5] == "1"
    assert by_name["init"].startswith("lrwxrwxrwx") and by_name["init"].endswith("-> /bin/busybox")
    assert by_name["etc/rc"].startswith("-rwxr-xr-x")
    subprocess.run(["cpio", "-id", "--quiet", "--no-absolute-filenames"], input=data, cwd=tmp_path,
                   check=True, capture_output=True)
    assert (tmp_path / "etc/rc").read_bytes() == b"#!/bin/sh\n"
    assert (tmp_path / "etc/inittab").read_bytes() == b"::sysinit:/etc/rc\n"


def test_cpio_rejects_duplicates_and_relative_paths() -> None:
    w = CpioWriter(io.BytesIO())
    w.add_bytes("/a/b", b"x")
    with pytest.raises(CpioError, match="duplicate archive entry: /a/b"):
        w.add_symlink("/a/b", "c")
    with pytest.raises(CpioError, match="must be absolute"):
        w.add_bytes("rel", b"")
    w.mkdir("/a")  # an existing directory is not a duplicate


def _log(*lines: str) -> str:
    return "\r\n".join(lines) + "\r\n"


# A chunk boundary falls after the trailing spaces: they must survive the trip.
RESULT = {"checks": [{"name": "create", "ok": True, "detail": ""}], "x": "y" * 500,
          "caps": " " * 300}


def _good_lines(result=RESULT) -> list[str]:
    return ["REALXEN-STEP modules OK", "REALXEN-STEP xenstored OK", "REALXEN-STEP xenconsoled OK",
            "REALXEN-STEP-TIME xl 23", "REALXEN-STEP xl OK", *console_json.encode(result),
            "REALXEN-STEP-TIME scenario 61", "REALXEN-STEP scenario OK",
            "REALXEN-DOM0-DONE failed=0"]


def test_console_json_round_trip_survives_interleaved_xen_lines() -> None:
    lines = list(console_json.encode(RESULT))
    assert all(len(ln) <= 130 for ln in lines)
    lines.insert(3, "(XEN) d2v0 some hypervisor message")
    assert console_json.decode(lines) == RESULT


def test_console_json_detects_damage() -> None:
    lines = list(console_json.encode(RESULT))
    lines[2] = lines[2][:-1] + ("a" if lines[2][-1] != "a" else "b")
    with pytest.raises(console_json.ConsoleJSONError, match="damaged"):
        console_json.decode(lines)
    with pytest.raises(console_json.ConsoleJSONError, match="without"):
        console_json.decode(list(console_json.encode(RESULT))[:-1])


def test_verdict_passes_a_complete_run() -> None:
    v = verdict.parse(_log(*_good_lines()), ["xl", "scenario"])
    assert v.passed, v.problems
    assert v.scenario == RESULT and v.steps["scenario"] == "OK"
    assert v.seconds == {"xl": 23, "scenario": 61}


@pytest.mark.parametrize("mutate, problem", [
    (lambda ls: [ln for ln in ls if not ln.startswith("REALXEN-DOM0-DONE")], "never reached"),
    (lambda ls: [ln.replace("xl OK", "xl FAIL rc=1") for ln in ls], "step xl: FAIL rc=1"),
    (lambda ls: [ln for ln in ls if "scenario OK" not in ln], "step scenario: no result"),
    (lambda ls: [ln for ln in ls if not ln.startswith(("SJ", "SCENARIO"))], "no scenario result"),
])
def test_verdict_fails_incomplete_runs(mutate, problem) -> None:
    v = verdict.parse(_log(*mutate(_good_lines())), ["xl", "scenario"])
    assert not v.passed
    assert any(problem in p for p in v.problems), v.problems


def test_verdict_fails_on_a_failed_scenario_check() -> None:
    bad = {"checks": [{"name": "shutdown", "ok": False, "detail": "no DOMAIN_SHUTDOWN in 60 s"}]}
    v = verdict.parse(_log(*_good_lines(bad)), ["xl", "scenario"])
    assert v.problems == ["scenario check shutdown: no DOMAIN_SHUTDOWN in 60 s"]


def _result(**over: object) -> dict:
    o = {"host.total_pages": 1000, "dom0.current_memkb": 1000, "host.free_kb.before": 2900,
         "host.free_kb.after_create": 2900 - 512 - 40, "created.current_memkb": 512,
         "guest.name": "g", "created.paused": True}
    o.update(over)
    return {"observed": o, "events": [{"kind": "death"}], "checks": [{"name": "c", "ok": True}]}


def test_compare_normalises_machine_figures_and_keeps_the_rest_exact() -> None:
    import compare
    a = compare.comparable(_result())
    assert "host.free_kb.before" not in a and "host.free_kb.after_create" not in a
    assert a["host.free_is_total_minus_dom0_minus_small_xen_heap"] is True   # 100 KiB of 4000
    assert a["host.create_costs_guest_memory_plus_under_1MiB"] is True       # 40 KiB over
    assert a["events[0].kind"] == "death" and a["events.count"] == 1 and a["check: c"] is True
    # Another machine's free figures, same relations: no difference.
    assert compare.differences(_result(), _result(**{"host.free_kb.before": 2950,
                                                     "host.free_kb.after_create": 2950 - 512})) == []
    diffs = {d.key: d for d in compare.differences(_result(), _result(**{
        "host.free_kb.after_create": 2900 - 512 - 4096, "created.paused": 1, "guest.name": "h"}))}
    assert set(diffs) == {"host.create_costs_guest_memory_plus_under_1MiB", "created.paused",
                          "guest.name"}
    assert str(diffs["guest.name"]) == "guest.name: real Xen 'g', simulator 'h'"


def test_xenapi_ready_marker_needs_the_whole_line() -> None:
    # boot.py reads the serial file while QEMU writes it: a match on half a line would
    # hand the host a truncated password (SESSION_AUTHENTICATION_FAILED).
    import boot
    line = "REALXEN-XENAPI-READY port=4000 ctl=4001 user=root password=6wU4NMv_cAfsPJn"
    assert boot.XENAPI_READY.search(line) is None
    m = boot.XENAPI_READY.search(line + "_Uvv\r\r\nREALXEN-XENAPI-HOST")
    assert m is not None and m.groups() == ("4000", "4001", "root", "6wU4NMv_cAfsPJn_Uvv")


def test_host_check_takes_a_password_that_begins_with_a_dash(tmp_path: Path) -> None:
    # dom0's server generates the password; one beginning with "-" was taken for an option
    # (the check ended in a usage message before it tried anything)
    import boot
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]           # nobody listens there once closed
    (tmp_path / "serial.log").write_text("")
    out = subprocess.run(boot.host_check_command(port, "root", "-Ab3_x", tmp_path / "serial.log"),
                         capture_output=True, text=True, timeout=60)
    assert "usage:" not in out.stdout + out.stderr
    assert out.stdout.startswith("FAIL") and "Connection refused" in out.stdout, out.stdout


def test_host_check_console_waits_for_a_pattern(tmp_path: Path) -> None:
    import xenapi_host_check as hc
    log = tmp_path / "serial.log"
    log.write_bytes(b"REALXEN-PHYSINFO nr_cpus=2 total_memory=2047\r\r\n")
    c = hc.Console(log)
    m = c.wait(r"REALXEN-PHYSINFO nr_cpus=(\d+) total_memory=(\d+)", 0)
    assert m is not None and m.groups() == ("2", "2047")
    assert c.wait(r"REALXEN-GUESTLOG x REALXEN-GUEST-UP", 0) is None


def test_host_check_reads_the_guests_device_changes(tmp_path: Path) -> None:
    # The guest numbers each change; the check wants the first one after a given number
    # that shows exactly the wanted disks and MACs (intermediate states are skipped).
    import xenapi_host_check as hc
    log = tmp_path / "serial.log"
    u = "7c0e"
    log.write_text(
        f"REALXEN-GUESTLOG {u} REALXEN-GUEST-DEVCHANGE n=1 disks=[] nics=[eth0:mac=aa:bb:cc:dd:ee:ff]\n"
        f"REALXEN-GUESTLOG {u} REALXEN-GUEST-DEVCHANGE n=2 disks=[] nics=[]\n"
        f"REALXEN-GUESTLOG other REALXEN-GUEST-DEVCHANGE n=3 disks=[xvda:sectors=8] nics=[]\n"
        f"REALXEN-GUESTLOG {u} REALXEN-GUEST-DEVCHANGE n=3 disks=[xvda:sectors=32768] "
        f"nics=[eth0:mac=aa:bb:cc:dd:ee:ff]\n")
    life = hc.Life(None, hc.Console(log))
    life.uuid = u
    assert life.guest_sees([], [], 0) == 2
    assert life.guest_sees(["xvda"], ["aa:bb:cc:dd:ee:ff"], 2) == 3
    with pytest.raises(hc.CheckFailed, match=r"never showed.*\(3, \['xvda'\]"):
        life.guest_sees([], [], 2, timeout=0)


def _fake_qemu(tmp_path: Path, script: str) -> list[str]:
    """A stand-in for QEMU that writes `script`'s lines to the serial file at its pace."""
    prog = tmp_path / "fake_qemu.py"
    prog.write_text("import sys, time\n"
                    "out = open(sys.argv[1], 'a')\n"
                    f"{script}\n")
    return [sys.executable, str(prog), str(tmp_path / "serial.log")]


def test_boot_keeps_a_run_that_progresses_past_the_stall_limit(tmp_path: Path) -> None:
    """A slow run that keeps printing outlives several stall periods; only the total
    limit or dom0's end stops it."""
    cmd = _fake_qemu(tmp_path, "for i in range(12):\n"
                               "    out.write(f'step {i}\\n'); out.flush(); time.sleep(0.25)\n"
                               "out.write('REALXEN-DOM0-DONE failed=0\\n'); out.flush()\n")
    how, log = boot.boot(cmd, tmp_path / "serial.log", timeout=60, stall=1.0, echo=False)
    assert how == "qemu exited 0"
    assert "step 11" in log and boot.DONE_MARKER in log


def test_boot_ends_a_run_that_stops_progressing(tmp_path: Path) -> None:
    cmd = _fake_qemu(tmp_path, "out.write('REALXEN-DOM0-UP\\n'); out.flush()\n"
                               "time.sleep(120)\n")
    how, log = boot.boot(cmd, tmp_path / "serial.log", timeout=60, stall=1.5, echo=False)
    assert how.startswith("no progress for 2 s") and "REALXEN-DOM0-UP" in log


def test_host_check_follows_the_migrated_domains_console(tmp_path: Path) -> None:
    # After a migration the guest's console goes to the log xenconsoled named after the
    # incoming domain (<uuid>--incoming); its numbering of device changes goes on.
    import xenapi_host_check as hc
    log = tmp_path / "serial.log"
    u = "7c0e"
    log.write_text(
        f"REALXEN-GUESTLOG {u} REALXEN-GUEST-UP kernel=6 boot=ab12\n"
        f"REALXEN-GUESTLOG {u} REALXEN-GUEST-DEVCHANGE n=4 disks=[xvda:sectors=8] nics=[]\n"
        f"REALXEN-GUESTLOG {u}--incoming REALXEN-GUEST-DEVCHANGE n=5 disks=[] nics=[]\n"
        f"REALXEN-GUESTLOG {u}x REALXEN-GUEST-DEVCHANGE n=9 disks=[] nics=[]\n")
    life = hc.Life(None, hc.Console(log))
    life.uuid = u
    assert life.last_change() == 5 and life.boots() == ["ab12"]
    assert life.guest_sees([], [], 4) == 5


def test_scratch_disk_is_a_fresh_ext4_image_on_the_qemu_line(tmp_path: Path) -> None:
    if shutil.which("mkfs.ext4") is None:
        pytest.fail("mkfs.ext4 missing (e2fsprogs): the real-Xen run needs it")
    for name in ("xen", "vmlinuz", "dom0.cpio.gz"):
        (tmp_path / name).write_bytes(b"x")
    img = tmp_path / boot.SCRATCH_NAME
    img.write_bytes(b"old contents")
    boot.make_scratch_disk(img, 64 << 20)
    assert img.stat().st_size == 64 << 20 and img.stat().st_blocks * 512 < 16 << 20  # sparse
    with open(img, "rb") as f:
        f.seek(1024 + 0x38)
        assert f.read(2) == b"\x53\xef"                     # the ext2/3/4 superblock magic
    cmd = boot.qemu_command(tmp_path, tmp_path / "serial.log", "xl", None, 2048)
    assert cmd[cmd.index("-cpu") + 1] == "qemu64"
    assert f"file={img},format=raw,if=virtio,cache=unsafe" in cmd
    assert cmd[cmd.index("-append") + 1].endswith("dom0_max_vcpus=2")
