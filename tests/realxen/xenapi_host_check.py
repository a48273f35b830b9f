"""From the host: log in to the XenAPI server running in dom0 with the official XenAPI
client and read the host record. Prints one line starting with OK or FAIL."""
from __future__ import annotations

import argparse
import sys


def check(url: str, user: str, password: str) -> str:
    import XenAPI  # the official SDK (test dependency in the venv)

    session = XenAPI.Session(url)
    session.xenapi.login_with_password(user, password, "1.0", "realxen")
    try:
        hosts = session.xenapi.host.get_all()
        if len(hosts) != 1:
            return f"FAIL expected one host, got {len(hosts)}"
        rec = session.xenapi.host.get_record(hosts[0])
        sv = rec.get("software_version", {})
        line = (f"OK host name_label={rec.get('name_label')!r} "
                f"xen={sv.get('xen', '?')} host_CPUs={len(rec.get('host_CPUs', []))}")
        # Informative only (the verdict is login + host record): what the server shows of dom0.
        try:
            vms = session.xenapi.VM.get_all_records()
            ctrl = [v for v in vms.values() if v.get("is_control_domain")]
            line += f" VMs={len(vms)} control_domains={len(ctrl)}"
            if ctrl:
                line += f" dom0_power_state={ctrl[0].get('power_state')}"
        except Exception as e:  # report, do not fail: the VM side is not required yet
            line += f" VM.get_all_records failed: {type(e).__name__}: {e}"
        return line
    finally:
        session.xenapi.session.logout()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--user", default="root")
    ap.add_argument("--password", required=True)
    args = ap.parse_args()
    try:
        line = check(args.url, args.user, args.password)
    except Exception as e:  # any failure is the verdict, reported to dom0 and the log
        line = f"FAIL {type(e).__name__}: {e}"
    print(line.replace("\n", " "))
    return 0 if line.startswith("OK") else 1


if __name__ == "__main__":
    sys.exit(main())
