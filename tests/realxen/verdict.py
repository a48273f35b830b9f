"""Reads the outcome of a real-Xen run from dom0's serial console log.

Markers (printed by dom0/init and the step scripts):
  REALXEN-STEP <name> OK | FAIL ...     one per step
  REALXEN-STEP-TIME <name> <seconds>    how long the step took (dom0's clock)
  REALXEN-DOM0-DONE failed=<0|1>        dom0 reached the end
  the scenario's result as JSON, in the checksummed lines of console_json
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import console_json

STEP = re.compile(r"^REALXEN-STEP (\S+) (OK|FAIL)\b(.*)$")
STEP_TIME = re.compile(r"^REALXEN-STEP-TIME (\S+) (\d+)$")
DONE = re.compile(r"^REALXEN-DOM0-DONE failed=(\d+)")


@dataclass
class Verdict:
    steps: dict[str, str] = field(default_factory=dict)  # name -> "OK" / "FAIL..."
    seconds: dict[str, int] = field(default_factory=dict)  # name -> duration in dom0
    done: bool = False
    dom0_failed: bool = True
    scenario: dict | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def parse(log: str, expected_steps: list[str]) -> Verdict:
    v = Verdict()
    # Only line ends are removed: a JSON chunk may end with a meaningful space.
    lines = log.replace("\r", "").split("\n")
    for line in lines:
        if m := STEP.match(line.rstrip()):
            v.steps[m.group(1)] = m.group(2) + m.group(3)
        elif m := STEP_TIME.match(line.rstrip()):
            v.seconds[m.group(1)] = int(m.group(2))
        elif m := DONE.match(line.rstrip()):
            v.done = True
            v.dom0_failed = m.group(1) != "0"
    try:
        v.scenario = console_json.decode(lines)
    except ValueError as e:
        v.problems.append(str(e))
    for base in ["modules", "xenstored", "xenconsoled"] + expected_steps:
        got = v.steps.get(base)
        if got is None:
            v.problems.append(f"step {base}: no result on the console")
        elif got != "OK":
            v.problems.append(f"step {base}: {got}")
    if not v.done:
        v.problems.append("dom0 never reached REALXEN-DOM0-DONE (crash, hang or timeout)")
    elif v.dom0_failed:
        v.problems.append("dom0 reported a failed step")
    if "scenario" in expected_steps:
        if v.scenario is None:
            v.problems.append("no scenario result JSON on the console")
        else:
            failed = [c for c in v.scenario.get("checks", []) if not c.get("ok")]
            for c in failed:
                v.problems.append(f"scenario check {c.get('name')}: {c.get('detail')}")
    return v
