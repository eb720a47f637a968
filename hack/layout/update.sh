#!/usr/bin/env bash
# update.sh - regenerate hack/layout/hot-text.ld, the linker script that
# packs the functions rrun executes (README.md). Runs hack/build.sh (the
# symbol names must be those of the release build itself), traces
# hack/layout/workload.sh under target/release/rrun.debug
# (trace_functions.py: ptrace, one-shot breakpoints; root), writes the
# script and builds again with it. Run after changes that move much code;
# hack/bench/bench.sh shows the effect.
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ $(uname -m) == x86_64 ]] || { echo "update.sh: x86_64 only" >&2; exit 1; }
hack/build.sh
mkdir -p target/layout
bin=target/release/rrun.debug
python3 hack/layout/trace_functions.py "$bin" target/layout/trace.txt -- hack/layout/workload.sh
python3 hack/layout/gen_linker_script.py target/layout/trace.txt "$bin" hack/layout/hot-text.ld
hack/build.sh
