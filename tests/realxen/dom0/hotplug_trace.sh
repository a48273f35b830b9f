# Sourced by bash for every non-interactive script (BASH_ENV), i.e. the Xen hotplug
# scripts libxl runs: traces them (xen-hotplug-common.sh sends their stderr to
# /var/log/xen/xen-hotplug.log), so that "failed; error detected." says which command.
case $0 in
    /etc/xen/scripts/*) set -x ;;
esac
