#!/bin/sh
# The hypervisor and the dom0 toolstack work with Xen's own xl, independent of our
# binding: info, create the PV guest, see it boot, pause/unpause, and an orderly
# shutdown that the guest honours.
set -e
. /realxen/lib.sh
xl info | grep -E '^(xen_version|xen_caps|nr_cpus|total_memory|free_memory)'
xl create /realxen/guest/xl.cfg
xl list
wait_console rx-xl REALXEN-GUEST-UP 600
xl pause rx-xl
xl list rx-xl | tail -n 1 | awk '{ if ($5 !~ /p/) { print "not paused: " $0; exit 1 } }'
xl unpause rx-xl
xl shutdown -w rx-xl
# `-w` returns once the guest has shut down; xl's own destroy of the domain may still be
# running: wait for the state instead of racing it.
wait_gone rx-xl 120
wait_console rx-xl REALXEN-GUEST-POWEROFF 30
