# Sourced by bash for every non-interactive script (BASH_ENV), i.e. the Xen hotplug
# scripts libxl runs: traces them, so that a "failed; error detected." says which command.
case $0 in
    /etc/xen/scripts/*) exec 2>>/tmp/hotplug-trace.log; set -x ;;
esac
