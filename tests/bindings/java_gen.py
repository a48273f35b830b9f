"""The Java binding's generator (bindings/java/gen.py), a script outside the package, loaded
as a module for the tests."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_PATH = Path(__file__).resolve().parents[2] / "bindings" / "java" / "gen.py"
_spec = importlib.util.spec_from_file_location("java_gen_script", _PATH)
assert _spec is not None and _spec.loader is not None
gen = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = gen
_spec.loader.exec_module(gen)
