#!/usr/bin/env bash
# End-to-end run on a real Xen 4.17 hypervisor booted under QEMU (TCG).
# Prints "REALXEN: PASS" and exits 0 only when every step passed in dom0; anything
# else (a package that cannot be fetched included) prints "REALXEN: FAIL" and exits 1.
#
#   tests/realxen/run.sh [--steps xl,scenario[,xenapi]] [--stall SEC] [--timeout SEC] [--echo]
#                        [--update-expected]
# Environment: REALXEN_WORK (build dir, default tests/realxen/.work),
#              REALXEN_SKIP_VENV=1 (use .venv as it is instead of `make venv`).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
WORK=${REALXEN_WORK:-$HERE/.work}
STEPS=xl,scenario
TIMEOUT=1800   # total bound; the run really ends on STALL s without progress
STALL=600
ECHO=
UPDATE=
HOSTFWD=0
while [ $# -gt 0 ]; do
    case $1 in
        --steps) STEPS=$2; shift 2 ;;
        --timeout) TIMEOUT=$2; shift 2 ;;
        --stall) STALL=$2; shift 2 ;;
        --echo) ECHO=--echo; shift ;;
        --update-expected) UPDATE=1; shift ;;
        --hostfwd) HOSTFWD=$2; shift 2 ;;
        *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

fail() { echo "realxen: $*" >&2; echo "REALXEN: FAIL"; exit 1; }
t0=$(date +%s)
phase() { echo "realxen: [$(( $(date +%s) - t0 )) s] $*"; }

# Host tools. QEMU comes from Debian too; install it when we may, otherwise say what is missing.
need_pkgs=()
command -v qemu-system-x86_64 >/dev/null || need_pkgs+=(qemu-system-x86)
command -v dpkg-deb >/dev/null || fail "dpkg-deb missing: this run needs a Debian host"
dpkg -s libxen-dev >/dev/null 2>&1 || need_pkgs+=(libxen-dev)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || fail "missing host packages: ${need_pkgs[*]} (install them as root)"
    phase "installing ${need_pkgs[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" \
        >/dev/null || fail "apt-get install ${need_pkgs[*]} failed"
fi
xenver=$(dpkg-query -W -f '${Version}' libxen-dev)
case $xenver in 4.17.*) ;; *) fail "libxen-dev is $xenver; the hypervisor and tools are 4.17" ;; esac

mkdir -p "$WORK"
phase "fetching Debian packages"
# Refresh apt's lists unless that happened in the last hour (CI has just done it).
if [ "$(id -u)" = 0 ] && ! find /var/lib/apt/lists -maxdepth 1 -name '*Release' -mmin -60 2>/dev/null | grep -q .; then
    apt-get update -qq || fail "apt-get update failed"
fi
"$HERE/fetch_debs.sh" "$WORK" || fail "could not fetch the Debian packages"

if [ "${REALXEN_SKIP_VENV:-0}" != 1 ]; then
    phase "building the project venv (binding compiled against libxen-dev $xenver)"
    make -C "$REPO" -s venv >"$WORK/venv.log" 2>&1 || { tail -n 30 "$WORK/venv.log" >&2; fail "make venv failed"; }
fi
PY=$REPO/.venv/bin/python
[ -x "$PY" ] || fail "no project venv at $REPO/.venv"

phase "building the dom0 and guest images"
build_flags=()
case ",$STEPS," in *,scenario,*|*,xenapi,*) ;; *) build_flags+=(--without-binding) ;; esac
(cd "$HERE" && "$PY" build_images.py --root "$WORK/root" --out "$WORK/images" --python "$PY" "${build_flags[@]}") \
    || fail "image build failed"

phase "booting Xen under QEMU (steps: $STEPS; ended after ${STALL} s without progress, at ${TIMEOUT} s in all)"
fwd=()
case ",$STEPS," in
    *,xenapi,*)
        if [ "$HOSTFWD" = 0 ]; then  # a free port P with P+1 free as well
            HOSTFWD=$("$PY" -c '
import socket
for _ in range(50):
    with socket.socket() as a:
        a.bind(("127.0.0.1", 0)); p = a.getsockname()[1]
        try:
            with socket.socket() as b:
                b.bind(("127.0.0.1", p + 1))
        except OSError:
            continue
        print(p); break')
        fi
        fwd=(--hostfwd "$HOSTFWD") ;;
esac
(cd "$HERE" && "$PY" boot.py --images "$WORK/images" --serial-log "$WORK/serial.log" \
    --steps "$STEPS" --timeout "$TIMEOUT" --stall "$STALL" $ECHO "${fwd[@]}") || true

phase "reading the results"
"$PY" - "$WORK/serial.log" "$STEPS" "$WORK/realxen_result.json" "$HERE" <<'EOF' || fail "see above; full console log: $WORK/serial.log"
import json, sys
sys.path.insert(0, sys.argv[4])
import verdict
log = open(sys.argv[1], errors="replace").read()
v = verdict.parse(log, sys.argv[2].split(","))
for name, res in v.steps.items():
    took = f" ({v.seconds[name]} s)" if name in v.seconds else ""
    print(f"  step {name}: {res}{took}")
if v.scenario is not None:
    with open(sys.argv[3], "w") as f:
        json.dump(v.scenario, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"  scenario result: {sys.argv[3]}")
for p in v.problems:
    print(f"  PROBLEM: {p}")
if not v.passed:
    print("  --- last console lines ---")
    print("\n".join(log.replace("\r", "").splitlines()[-40:]))
sys.exit(0 if v.passed else 1)
EOF

if [ -n "$UPDATE" ]; then
    [ -f "$WORK/realxen_result.json" ] || fail "--update-expected: the run produced no scenario result"
    cp "$WORK/realxen_result.json" "$HERE/expected_realxen.json"
    phase "updated $HERE/expected_realxen.json"
fi
phase "done"
echo "REALXEN: PASS"
