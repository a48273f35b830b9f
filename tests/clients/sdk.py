"""Helpers for the tests that drive the server with the official XenAPI SDK."""
from __future__ import annotations

from typing import Any, Callable

import pytest
import XenAPI


def details(call: Callable[..., Any], *args: Any) -> list[str]:
    """The ErrorDescription of the XenAPI.Failure that `call(*args)` must raise."""
    with pytest.raises(XenAPI.Failure) as info:
        call(*args)
    return info.value.details
