import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from serverproc import ServerProcess  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One real server (HTTP, HTTPS with a generated certificate, Unix socket) per module."""
    work = tmp_path_factory.mktemp("xapi")
    with ServerProcess(str(work), https=True, unix=True) as srv:
        yield srv
