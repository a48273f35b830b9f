# Shared helpers for the dom0 step scripts.

# wait_console GUEST PATTERN SECONDS: waits until the guest's console log (written
# by xenconsoled) holds PATTERN; prints the matching line.
wait_console() {
    log=/var/log/xen/console/guest-$1.log
    n=0
    while [ $n -lt $3 ]; do
        if grep -q "$2" "$log" 2>/dev/null; then
            grep "$2" "$log" | head -n 1 | tr -d '\r'
            return 0
        fi
        sleep 1
        n=$((n + 1))
        if [ $((n % 30)) -eq 0 ]; then   # a slow boot is progress: say so every 30 s
            echo "REALXEN-PROGRESS waiting for '$2' on the console of $1 ($n s)"
        fi
    done
    echo "no '$2' on the console of $1 after $3 s; log:"
    tail -n 20 "$log" 2>/dev/null | tr -d '\r' | sed 's/^/  | /'
    return 1
}

# wait_listen PORT SECONDS PID: waits until something listens on TCP PORT (from
# /proc/net/tcp, state 0A) while process PID is alive.
wait_listen() {
    hex=$(printf ':%04X ' "$1")
    n=0
    while [ $n -lt $2 ]; do
        kill -0 "$3" 2>/dev/null || return 1
        if grep -q "$hex[0-9A-F:]* 0A" /proc/net/tcp /proc/net/tcp6 2>/dev/null; then
            return 0
        fi
        sleep 1
        n=$((n + 1))
    done
    return 1
}

# wait_gone DOMAIN SECONDS: waits until xl no longer lists DOMAIN.
wait_gone() {
    n=0
    while xl list "$1" >/dev/null 2>&1; do
        if [ $n -ge $2 ]; then
            echo "$1 still exists $2 s after its shutdown:"
            xl list
            return 1
        fi
        sleep 1
        n=$((n + 1))
    done
    echo "$1 is gone after ${n} s"
}
