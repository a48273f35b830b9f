#!/bin/sh
# Second phase: the XenAPI server in dom0 on the Xen backend, reached from the host
# through QEMU's port forward (realxen.port=P on the kernel command line; P+1 is the
# control port on which the host sends back the verdict of its client check).
# The host (xenapi_host_check.py) reads the host and runs a PV VM's whole life; what only
# dom0 sees goes to the console: REALXEN-PHYSINFO (xl info) and REALXEN-GUESTLOG lines
# (the REALXEN-GUEST-* lines of the guests' xenconsoled logs).
. /realxen/lib.sh
PORT=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^realxen.port=//p')
[ -n "$PORT" ] || { echo "no realxen.port= on the kernel command line"; exit 1; }
CTL=$((PORT + 1))
DB=/tmp/x.db
VERDICT_WAIT=3600  # above boot.py's total limit: the host always answers first

ip link set lo up
ip link set eth0 up || { echo "no eth0 (e1000 module / QEMU NIC missing)"; exit 1; }
udhcpc -i eth0 -s /realxen/udhcpc.script -q -n -t 5 || { echo "udhcpc got no lease"; exit 1; }

# The host compares the server's host record with what Xen itself says.
xl info >/tmp/xlinfo 2>&1 || { echo "xl info failed:"; cat /tmp/xlinfo; exit 1; }
echo "REALXEN-PHYSINFO nr_cpus=$(sed -n 's/^nr_cpus *: *//p' /tmp/xlinfo)" \
     "total_memory=$(sed -n 's/^total_memory *: *//p' /tmp/xlinfo)"

# The hotplug scripts report why they fail through logger(1).
syslogd -O /tmp/messages 2>/dev/null

python3 -c 'import xenapi_impl.cli' || { echo "xenapi_impl.cli is not importable"; exit 1; }
BASH_ENV=/realxen/hotplug_trace.sh \
python3 -c 'import sys; from xenapi_impl.cli import main; sys.exit(main())' \
    serve --backend xen --db "$DB" --http "0.0.0.0:$PORT" --monitor-interval 1 \
    >/tmp/xenapi.log 2>&1 &
server=$!
if ! wait_listen "$PORT" 600 "$server"; then
    echo "the XenAPI server did not start listening on $PORT; its log:"
    tail -n 40 /tmp/xenapi.log | sed 's/^/  | /'
    kill "$server" 2>/dev/null
    exit 1
fi

# Relay the guests' marker lines to the console, once each.
(
    while :; do
        for log in /var/log/xen/console/guest-*.log; do
            [ -f "$log" ] || continue
            name=${log#/var/log/xen/console/guest-}
            name=${name%.log}
            tr -d '\r' <"$log" | grep -o 'REALXEN-GUEST-[A-Z]*.*' | while read -r line; do
                key=$(echo "$name $line" | md5sum | cut -c1-16)
                [ -e "/tmp/relayed.$key" ] && continue
                : >"/tmp/relayed.$key"
                echo "REALXEN-GUESTLOG $name $line"
            done
        done
        sleep 1
    done
) &
relay=$!

# The downtime of the host check's VM.pool_migrate, as dom0 sees the domains (a
# REALXEN-MIGRATION line when it is over).
python3 /realxen/downtime.py &
downtime=$!

# This dom0 is a throwaway test machine: its generated admin password goes to the host.
pw=$(cat "$DB.root-password" 2>/dev/null)
# Listen for the host's verdict before announcing readiness, so it cannot be lost.
timeout "$VERDICT_WAIT" nc -l -p "$CTL" >/tmp/host-verdict &
listener=$!
wait_listen "$CTL" 10 "$listener" || { echo "cannot listen on $CTL"; kill "$server" "$relay" "$downtime"; exit 1; }
echo "REALXEN-XENAPI-READY port=$PORT ctl=$CTL user=root password=$pw"
wait "$listener"
verdict=$(head -n 1 /tmp/host-verdict)
echo "REALXEN-XENAPI-HOST ${verdict:-no answer from the host}"
kill "$relay" "$downtime" 2>/dev/null
kill "$server" 2>/dev/null
wait "$server" 2>/dev/null
echo "  server log (errors and libxl lines):"
grep -i -E 'error|fail|libxl|traceback' /tmp/xenapi.log | tail -n 40 | cut -c1-400 | sed 's/^/  | /'
echo "  hotplug scripts (syslog) and other output in the server's log:"
grep -i -E 'block|vif|hotplug|xen' /tmp/messages 2>/dev/null | tail -n 20 | cut -c1-400 | sed 's/^/  | /'
echo "  the first failing hotplug script run, traced (bash -x):"
H=/var/log/xen/xen-hotplug.log
[ -f $H ] || echo "  | (no $H)"
[ -f $H ] && grep -v -E '^\+* *(_|local |log |logger )' $H | grep -B 25 -m 1 -E '^\++ sigerr$' | cut -c1-300 | sed 's/^/  | /'
grep -v -E '^[0-9]{4}-[0-9]{2}-[0-9]{2} ' /tmp/xenapi.log | tail -n 20 | cut -c1-400 | sed 's/^/  | /'
echo "  server log (tail):"
tail -n 15 /tmp/xenapi.log | cut -c1-400 | sed 's/^/  | /'
case $verdict in OK*) exit 0 ;; *) exit 1 ;; esac
