"""`python -m xenapi_impl.hostnet`: print this host's (or this namespace's) network as JSON.

Used to discover inside a network namespace (`ip netns exec NS python -m xenapi_impl.hostnet`
remounts /sys for the namespace)."""
from __future__ import annotations

import json
import sys

from .probe import discover


def main() -> int:
    json.dump(discover().to_json(), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
