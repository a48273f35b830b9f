import os
import sys

import pytest
import XenAPI

sys.path.insert(0, os.path.dirname(__file__))

from serverproc import ServerProcess  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One real server (HTTP, HTTPS with a generated certificate, Unix socket) per module."""
    work = tmp_path_factory.mktemp("xapi")
    with ServerProcess(str(work), https=True, unix=True) as srv:
        yield srv


@pytest.fixture
def x(server):
    """The official SDK logged in as root on `server`: its `xenapi` (logged out after)."""
    s = XenAPI.Session(server.url)
    s.xenapi.login_with_password("root", server.password, "1.0", "pytest")
    yield s.xenapi
    s.xenapi.session.logout()


@pytest.fixture(scope="module")
def monitored(tmp_path_factory):
    """A server (HTTP only) whose monitor samples every 0.5 s, one per module."""
    work = tmp_path_factory.mktemp("monitored")
    with ServerProcess(str(work), extra=["--monitor-interval", "0.5"]) as srv:
        yield srv
