#!/usr/bin/env bash
# fuzz.sh [SECONDS] - build the config.json fuzz target with libFuzzer
# coverage (stable Rust: the flags cargo-fuzz passes for --sanitizer none)
# and run it for SECONDS (default 60), seeded with valid configs. Fails on
# any crash; crashing inputs are kept in hack/fuzz/artifacts.
set -euo pipefail
cd "$(dirname "$0")/fuzz"
secs=${1:-60}
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"
# --target keeps the coverage flags off build scripts and proc macros.
triple=$(rustc -vV | sed -n "s/^host: //p")
cargo build --release --bin config --target "$triple" --target-dir ../../target/fuzz
corpus=$(mktemp -d /tmp/rrun-fuzz-corpus.XXXXXX)
trap 'rm -rf "$corpus"' EXIT
cp seeds/* "$corpus"/
mkdir -p artifacts
../../target/fuzz/"$triple"/release/config "$corpus" -max_total_time="$secs" -max_len=65536 \
    -artifact_prefix=artifacts/ -print_final_stats=1
