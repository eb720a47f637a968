#!/usr/bin/env bash
# build.sh - the one release build: rrun, and the static test probe.
#
# rrun is one static, non-PIE executable (glibc linked in, and libseccomp:
# LIBSECCOMP_LINK_TYPE=static in .cargo/config.toml): it starts in about
# half the time of a dynamic PIE (no loader, no relocations, fewer pages).
# On x86_64 the functions rrun executes are packed at the start of the text
# (hack/layout/hot-text.ld): a process maps less of the binary
# (docs/performance.md).
set -euo pipefail
cd "$(dirname "$0")/.."
layout=()
if [[ $(uname -m) == x86_64 && -f hack/layout/hot-text.ld ]]; then
    layout=(-C link-arg=-Wl,-T,"$PWD/hack/layout/hot-text.ld")
fi
cargo rustc --release --locked -p rrun --bin rrun -- \
    -C target-feature=+crt-static -C relocation-model=static "${layout[@]}"
# The symbols stay in rrun.debug (hack/layout/update.sh traces it).
cp target/release/rrun target/release/rrun.debug
strip --strip-all -o target/release/rrun.stripped target/release/rrun
mv target/release/rrun.stripped target/release/rrun
cargo rustc --release --locked -p probe --bin probe -- -C target-feature=+crt-static \
    -C strip=symbols
