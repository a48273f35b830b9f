"""The API layer's side of the seam with the host agent: the service functions through which
what the hypervisor reports by itself (domain events, which VMs the monitor must leave to an
operation) reaches the records. Handed to the backend at start (server/app.py)."""
from __future__ import annotations

import functools
from typing import Any

from ..xen.adapter import AgentHooks
from .vm import VmOps, domain_event


def agent_hooks(services: Any) -> AgentHooks:
    ops = VmOps.of(services)
    return AgentHooks(domain_event=functools.partial(domain_event, services),
                      busy_vms=lambda: ops.busy)
