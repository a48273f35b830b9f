#!/bin/sh
# Second phase: the XenAPI server in dom0 on the Xen backend, reached from the host
# through QEMU's port forward (realxen.port=P on the kernel command line; P+1 is the
# control port on which the host sends back the verdict of its client check).
. /realxen/lib.sh
PORT=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^realxen.port=//p')
[ -n "$PORT" ] || { echo "no realxen.port= on the kernel command line"; exit 1; }
CTL=$((PORT + 1))
DB=/tmp/x.db

ip link set lo up
ip link set eth0 up || { echo "no eth0 (e1000 module / QEMU NIC missing)"; exit 1; }
udhcpc -i eth0 -s /realxen/udhcpc.script -q -n -t 5 || { echo "udhcpc got no lease"; exit 1; }

python3 -c 'import xenapi_impl.cli' || { echo "xenapi_impl.cli is not importable"; exit 1; }
python3 -c 'import sys; from xenapi_impl.cli import main; sys.exit(main())' \
    serve --backend xen --db "$DB" --http "0.0.0.0:$PORT" >/tmp/xenapi.log 2>&1 &
server=$!
if ! wait_listen "$PORT" 120 "$server"; then
    echo "the XenAPI server did not start listening on $PORT; its log:"
    tail -n 40 /tmp/xenapi.log | sed 's/^/  | /'
    kill "$server" 2>/dev/null
    exit 1
fi
# This dom0 is a throwaway test machine: its generated admin password goes to the host.
pw=$(cat "$DB.root-password" 2>/dev/null)
# Listen for the host's verdict before announcing readiness, so it cannot be lost.
timeout 180 nc -l -p "$CTL" >/tmp/host-verdict &
listener=$!
wait_listen "$CTL" 10 "$listener" || { echo "cannot listen on $CTL"; kill "$server"; exit 1; }
echo "REALXEN-XENAPI-READY port=$PORT ctl=$CTL user=root password=$pw"
wait "$listener"
verdict=$(head -n 1 /tmp/host-verdict)
echo "REALXEN-XENAPI-HOST ${verdict:-no answer from the host}"
kill "$server" 2>/dev/null
wait "$server" 2>/dev/null
echo "  server log (tail):"
tail -n 15 /tmp/xenapi.log | sed 's/^/  | /'
case $verdict in OK*) exit 0 ;; *) exit 1 ;; esac
