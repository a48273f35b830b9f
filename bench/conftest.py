"""`--bench-short`: the CI's short mode (benchsize.py). Set before the bench modules are
imported, which read their sizes at import time."""
from __future__ import annotations

import os


def pytest_addoption(parser) -> None:        # noqa: ANN001 - pytest's parser
    parser.addoption("--bench-short", action="store_true",
                     help="tiny sizes, one round each: the suite runs, the figures mean nothing")


def pytest_configure(config) -> None:        # noqa: ANN001
    if config.getoption("--bench-short"):
        os.environ["BENCH_SHORT"] = "1"
