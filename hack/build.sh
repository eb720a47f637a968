#!/usr/bin/env bash
# build.sh - the one release build: rrun, and the static test probe.
#
# rrun is one static, non-PIE executable (glibc linked in, and libseccomp:
# LIBSECCOMP_LINK_TYPE=static in .cargo/config.toml). It is executed twice
# per create, run and exec (the re-execution of docs/security.md), and a
# static binary starts in about half the time of a dynamic PIE: no loader,
# no relocations, fewer pages (docs/performance.md).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo rustc --release --locked -p rrun --bin rrun -- \
    -C target-feature=+crt-static -C relocation-model=static
cargo rustc --release --locked -p probe --bin probe -- -C target-feature=+crt-static
