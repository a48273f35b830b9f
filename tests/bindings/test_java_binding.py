"""The generated Java binding (build/bindings/java/xen-api.jar, `make bindings-java`) with its
JUnit 5 scenario (java/XenApiScenarioTest.java) against the real server process on loopback.

Needs a JDK (17+), Debian's Jackson jars (libjackson2-databind-java) and JUnit 5's console
launcher (junit5); .ci/run installs them. Without them this test fails, it never skips.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from java_gen import gen
from xenapi_impl.model import MODEL

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "clients"))
from serverproc import ServerProcess  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
JAR = REPO / "build" / "bindings" / "java" / "xen-api.jar"
TEST_SRC = Path(__file__).parent / "java" / "XenApiScenarioTest.java"
SHARE = Path("/usr/share/java")
JACKSON = [SHARE / f"jackson-{n}.jar" for n in ("databind", "core", "annotations")]
JUNIT = SHARE / "junit-platform-console-standalone.jar"
INSTALL = "apt-get install default-jdk-headless libjackson2-databind-java junit5"
#: the JUnit scenario's @Test methods (XenApiScenarioTest.java)
JUNIT_TESTS = 9


def _require_toolchain() -> None:
    missing = [t for t in ("java", "javac", "jar") if shutil.which(t) is None]
    missing += [str(p) for p in [*JACKSON, JUNIT] if not p.exists()]
    if missing:
        pytest.fail(f"Java toolchain incomplete, missing {missing}: {INSTALL}")


def _run(args: list[str], **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=600, **kw)


@pytest.fixture(scope="module")
def jar() -> Path:
    _require_toolchain()
    r = _run(["make", "-C", str(REPO), "bindings-java", f"GENPY={sys.executable}"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert JAR.exists()
    return JAR


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    work = tmp_path_factory.mktemp("xapi-java")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XLSIM_STATE_FILE", str(work / "xlsim.state"))
        with ServerProcess(str(work), https=True) as srv:
            yield srv


def test_jar_holds_the_api_classes(jar: Path) -> None:
    names = set(_run(["jar", "--list", "--file", str(jar)]).stdout.split())
    for c in [*MODEL.classes, *MODEL.external_classes]:
        assert f"com/xensource/xenapi/{gen.class_name(c)}.class" in names, c
    for c in MODEL.classes:
        assert f"com/xensource/xenapi/{gen.class_name(c)}$Record.class" in names, c
    assert "com/xensource/xenapi/Types$VmBadPowerState.class" in names
    assert "com/xensource/xenapi/Connection.class" in names


def test_junit_scenario_against_the_server(jar: Path, server, tmp_path: Path) -> None:
    classes = tmp_path / "classes"
    cp = os.pathsep.join(str(p) for p in [jar, *JACKSON])
    r = _run(["javac", "--release", "17", "-encoding", "UTF-8", "-cp",
              os.pathsep.join([cp, str(JUNIT)]), "-d", str(classes), str(TEST_SRC)])
    assert r.returncode == 0, r.stdout + r.stderr
    listed = ",".join(gen.class_name(c.name) for c in MODEL.classes.values()
                      if "get_all_records" in c.messages)
    reports = tmp_path / "reports"
    r = _run(["java", f"-Dxenapi.url={server.url}", f"-Dxenapi.https={server.https_url}",
              f"-Dxenapi.cert={server.cert}", f"-Dxenapi.password={server.password}",
              f"-Dxenapi.classes={listed}", "-jar", str(JUNIT), "--disable-banner",
              "--details=tree", "--class-path", os.pathsep.join([str(classes), cp]),
              "--select-class", "XenApiScenarioTest", "--reports-dir", str(reports)])
    out = r.stdout + r.stderr
    assert r.returncode == 0, out + "\n--- server log ---\n" + server.log()[-5000:]
    suite = ET.parse(reports / "TEST-junit-jupiter.xml").getroot()
    counts = {k: int(suite.get(k, "0")) for k in ("tests", "failures", "errors", "skipped")}
    assert counts == {"tests": JUNIT_TESTS, "failures": 0, "errors": 0, "skipped": 0}, out
