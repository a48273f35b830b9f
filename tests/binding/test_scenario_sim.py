"""The shared scenario (tests/realxen/scenario.py) on the simulator, compared field by
field with the result of the same scenario on a real Xen 4.17 hypervisor
(tests/realxen/expected_realxen.json, written by `tests/realxen/run.sh --update-expected`).

The simulated host is configured like the QEMU machine of the real run (compare.host_config);
compare.NORMALISED lists, with reasons, the few machine-dependent figures that are compared
through a derived value instead of exactly. Each observable is its own test case, so a
disagreement names the observable, the real value and the simulated one.
"""
from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

import pytest

from xenlight_py import Context

REALXEN = Path(__file__).resolve().parent.parent / "realxen"


def _load(name: str) -> ModuleType:
    # By path, under a distinct name: "scenario"/"compare" are too generic for sys.path.
    spec = importlib.util.spec_from_file_location(f"realxen_{name}", REALXEN / f"{name}.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod    # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


scenario = _load("scenario")
compare = _load("compare")

os.environ.pop("XLSIM_STATE_FILE", None)  # the simulated host must be this process's own
EXPECTED = json.loads((REALXEN / "expected_realxen.json").read_text())

# Disagreements found by the real run and reported to the simulator's owner, each with the
# function and field. They are expected failures (strict: once the simulator is fixed the
# case passes, and this entry must go). Keep this list empty when the simulator agrees.
KNOWN_SIM_DISAGREEMENTS: dict[str, str] = {}


@pytest.fixture(scope="module")
def sim_result(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    files = tmp_path_factory.mktemp("guest")
    kernel, ramdisk = files / "vmlinuz", files / "initrd.gz"
    kernel.write_bytes(b"\0" * 4096)
    ramdisk.write_bytes(b"\0" * 4096)
    with Context(backend="sim") as ctx:
        ctx.sim.configure(**compare.host_config(EXPECTED))
        try:
            yield scenario.run(ctx, scenario.Guest(str(kernel), str(ramdisk), "console=hvc0 quiet",
                                                    scratch=str(files)))
        finally:
            ctx.sim.configure()     # leave the default host to the next test


def test_expected_result_is_a_passing_real_xen_run() -> None:
    assert EXPECTED["schema"] == scenario.SCHEMA
    assert EXPECTED["backend"] == "xen"
    failed = [c for c in EXPECTED["checks"] if not c["ok"]]
    assert not failed, f"the committed real-Xen result has failed checks: {failed}"


def test_scenario_checks_pass_on_the_simulator(sim_result: dict[str, Any]) -> None:
    failed = [f"{c['name']}: {c['detail']}" for c in sim_result["checks"] if not c["ok"]]
    assert not failed, "\n".join(failed)


def test_simulated_host_mirrors_the_real_machine(sim_result: dict[str, Any]) -> None:
    # The configuration took effect: otherwise every host figure below would differ
    # for a reason that is not a simulator disagreement.
    o = sim_result["observed"]
    cfg = compare.host_config(EXPECTED)
    assert (o["host.nr_cpus"], o["host.total_pages"] * 4, o["dom0.current_memkb"]) == \
        (cfg["nr_cpus"], cfg["total_memkb"], cfg["dom0_memkb"])


def _keys() -> list[Any]:
    keys = sorted(compare.comparable(EXPECTED))
    params = []
    for k in keys:
        marks = []
        if k in KNOWN_SIM_DISAGREEMENTS:
            marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_SIM_DISAGREEMENTS[k]))
        params.append(pytest.param(k, marks=marks, id=k))
    return params


@pytest.mark.parametrize("key", _keys())
def test_simulator_agrees_with_real_xen(sim_result: dict[str, Any], key: str) -> None:
    real = compare.comparable(EXPECTED)[key]
    sim = compare.comparable(sim_result).get(key, compare.MISSING)
    assert sim == real and type(sim) is type(real), \
        f"{key}: real Xen {real!r}, simulator {sim!r}"


def test_simulator_observes_nothing_real_xen_does_not(sim_result: dict[str, Any]) -> None:
    extra = sorted(set(compare.comparable(sim_result)) - set(compare.comparable(EXPECTED)))
    assert not extra, f"observables only on the simulator (rerun run.sh --update-expected?): {extra}"


def test_normalisation_rules_name_real_observables() -> None:
    # A rule that replaces nothing would silently stop comparing a figure.
    observed = EXPECTED["observed"]
    for n in compare.NORMALISED:
        assert all(k in observed for k in n.replaces), n.replaces
        assert n.reason
