"""Where the reference material lives: ../shared/reference beside the clone (as in CI)."""
from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REFERENCE_DIR = Path(os.environ.get("XENAPI_REFERENCE_DIR", REPO.parent / "shared" / "reference"))

if not (REFERENCE_DIR / "xenapi.json").exists():
    # Fail loudly: a reference test that silently skips proves nothing.
    raise RuntimeError(f"reference material not found in {REFERENCE_DIR} "
                       "(expected ../shared/reference beside the repository, "
                       "or set XENAPI_REFERENCE_DIR)")
