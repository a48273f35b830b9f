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
    done
    echo "no '$2' on the console of $1 after $3 s; log:"
    tail -n 20 "$log" 2>/dev/null | tr -d '\r' | sed 's/^/  | /'
    return 1
}
