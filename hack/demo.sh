#!/usr/bin/env bash
# demo.sh - install what is needed, build rrun, and run a busybox container
# that shows it is isolated: its hostname, its pid 1, its capabilities.
set -euo pipefail
cd "$(dirname "$0")/.."
hack/deps.sh minimal
hack/build.sh
bundle=target/demo-bundle
RRUN=target/release/rrun hack/mkbundle.sh "$bundle" target/release/probe
# Replace the default `sh` with a script that reports what it sees.
sed -i 's|"sh"$|"sh", "-c", "echo \\"hostname: $(hostname)\\"; echo \\"my pid: $$\\"; grep Cap /proc/self/status; echo \\"processes:\\"; ps"|' "$bundle/config.json"
exec target/release/rrun run --bundle "$bundle" "demo-$$"
