#!/usr/bin/env bash
# deps.sh [minimal] - install what rrun's build and tests need from Debian
# packages (skipped when already present). "minimal" is enough for the demo.
set -euo pipefail

minimal=(busybox-static libseccomp-dev pkg-config file)
full=(runc crun busybox-static libseccomp-dev pkg-config file jq iproute2 uidmap bats strace
      hyperfine time criu docker.io containerd podman qemu-system-x86 cpio)

want=("${full[@]}")
[[ ${1:-} == minimal ]] && want=("${minimal[@]}")

missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Never let a package start its daemon: tests start their own.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
    rm -f /usr/sbin/policy-rc.d
fi
command -v cargo > /dev/null || { echo "deps: cargo is required (rustup)" >&2; exit 1; }
