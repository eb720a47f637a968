#!/usr/bin/env bash
# build.sh - the one release build: rrun, and the static test probe.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p rrun
cargo rustc --release --locked -p probe --bin probe -- -C target-feature=+crt-static
