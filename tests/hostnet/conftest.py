import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from netns_env import NetnsEnv, available  # noqa: E402


@pytest.fixture
def netns():
    reason = available()
    if reason:
        pytest.skip(f"network namespaces: {reason}")
    with NetnsEnv() as env:
        yield env
