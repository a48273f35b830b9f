#!/usr/bin/env bash
# Downloads the Debian packages the real-Xen run is built from (cached by exact file
# name, i.e. by version) and unpacks them into one tree.
#   fetch_debs.sh WORKDIR   ->  WORKDIR/debs/*.deb, WORKDIR/root/ (unpacked)
# Any package that cannot be fetched fails the run: nothing is skipped.
set -euo pipefail
WORK=$1
DEBS=$WORK/debs
ROOT=$WORK/root
mkdir -p "$DEBS"

# linux-image-amd64 is a metapackage: the kernel is in the versioned package it pulls.
# REALXEN_KERNEL_PKG names another (e.g. linux-image-6.1.0-50-amd64) for experiments.
KPKG=${REALXEN_KERNEL_PKG:-$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')}
if [ -z "$KPKG" ]; then
    echo "fetch_debs: cannot resolve linux-image-amd64 (run apt-get update?)" >&2
    exit 1
fi
PKGS=(
    xen-hypervisor-4.17-amd64   # the hypervisor
    xen-utils-4.17              # xl, xenstored, xenconsoled, xen-init-dom0, libxl-save-helper
    xen-utils-common            # /etc/xen/scripts: the block and vif-bridge hotplug scripts
    xenstore-utils              # xenstore-read and friends
    libxenmisc4.17 libxenstore4 libxengnttab1 libxenevtchn1 libxentoolcore1 libxentoollog1
    libxencall1 libxenforeignmemory1 libxendevicemodel1 libxenhypfs1   # the dom0 libraries
    "$KPKG"                     # dom0 and guest kernel, and dom0's modules
    busybox-static              # userland of dom0 and of the guest
)

# The file names apt saves the candidate versions under (one apt call for all).
uris=$(apt-get download --print-uris "${PKGS[@]}" 2>&1) || {
    echo "fetch_debs: apt-get cannot download: $uris" >&2
    exit 1
}
wanted=()
missing=()
for pkg in "${PKGS[@]}"; do
    file=$(echo "$uris" | awk -v p="${pkg}_" 'index($2, p) == 1 {print $2; exit}')
    if [ -z "$file" ]; then
        echo "fetch_debs: apt knows no downloadable candidate for $pkg" >&2
        exit 1
    fi
    wanted+=("$file")
    [ -s "$DEBS/$file" ] || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    (cd "$DEBS" && apt-get download -q "${missing[@]}" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
fi
for f in "${wanted[@]}"; do
    if [ ! -s "$DEBS/$f" ]; then
        echo "fetch_debs: download failed: expected $DEBS/$f" >&2
        exit 1
    fi
done

# Unpack again only when the set of packages changed.
stamp=$(printf '%s\n' "${wanted[@]}" | sort)
if [ ! -f "$ROOT/.stamp" ] || [ "$(cat "$ROOT/.stamp")" != "$stamp" ]; then
    rm -rf "$ROOT"
    mkdir -p "$ROOT"
    for f in "${wanted[@]}"; do
        dpkg-deb -x "$DEBS/$f" "$ROOT"
    done
    echo "$stamp" >"$ROOT/.stamp"
fi
echo "fetch_debs: ${#wanted[@]} packages ready in $ROOT"
