"""Explicit message implementations, one module per class (see registry.implements)."""
from __future__ import annotations


def load_all() -> None:
    """Import every implementation module so their @implements decorators run."""
    from . import event, host, pool, session, system, task, user  # noqa: F401
    from . import pbd, sr, vbd, vdi  # noqa: F401
    from . import network, pif, vif  # noqa: F401
    from . import crashdump, message, vm  # noqa: F401
    from . import vm_copy, vm_live, xva  # noqa: F401
    from . import host_logging  # noqa: F401
    from . import host_misc, vm_migrate, vm_misc  # noqa: F401
    from . import pool_join, pool_role  # noqa: F401
