"""This host's real network interfaces (read-only discovery) and MAC address rules.

    from xenapi_impl.hostnet import discover, generate_mac
    net = discover()                     # HostNetwork: interfaces, default routes, resolvers
    net.interfaces["eth0"].kind          # physical / bridge / bond / vlan / veth / virtual

Nothing here changes the host's network configuration.
"""
from __future__ import annotations

from .probe import discover
from .mac import (MacGenerationError, derived_mac, generate_mac, is_locally_administered,
                  is_unicast, is_valid_mac, normalize_mac, random_mac, usable_guest_mac)
from .model import KINDS, Address, HostNetwork, Interface
from .source import DiscoveryError, LocalHost, Netns, NetworkSource, source_for

__all__ = [
    "discover", "MacGenerationError", "derived_mac", "generate_mac", "is_locally_administered",
    "is_unicast", "is_valid_mac", "normalize_mac", "random_mac", "usable_guest_mac", "KINDS",
    "Address", "HostNetwork", "Interface", "DiscoveryError", "LocalHost", "Netns",
    "NetworkSource", "source_for",
]
