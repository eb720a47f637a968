#!/usr/bin/env bash
# bundles.sh DIR - the benchmark's bundles, shared by bench.sh, profile.sh,
# ab.sh and hack/layout/workload.sh:
#   DIR/bundle   busybox rootfs and `rrun spec`'s config running /bin/true
#                (no terminal; ociVersion 1.1.0, as crun 1.8.1 refuses newer)
#   DIR/seccomp  the same with hack/docker-like-seccomp.py's profile
#   DIR/sleep    the same running /bin/sleep 100000
# The variants share DIR/bundle/rootfs. RRUN is the rrun whose `spec` makes
# the config (hack/mkbundle.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
dir=${1:?usage: bundles.sh DIR}
"$repo/hack/mkbundle.sh" "$dir/bundle" > /dev/null
mkdir -p "$dir/seccomp" "$dir/sleep"
python3 "$repo/hack/docker-like-seccomp.py" > "$dir/profile.json"
python3 - "$dir" <<'PY'
import json, sys
w = sys.argv[1]
c = json.load(open(f"{w}/bundle/config.json"))
c["ociVersion"] = "1.1.0"
c["process"]["args"] = ["/bin/true"]
c["process"]["terminal"] = False
json.dump(c, open(f"{w}/bundle/config.json", "w"), indent=1)
c["root"]["path"] = f"{w}/bundle/rootfs"
c["linux"]["seccomp"] = json.load(open(f"{w}/profile.json"))
json.dump(c, open(f"{w}/seccomp/config.json", "w"), indent=1)
del c["linux"]["seccomp"]
c["process"]["args"] = ["/bin/sleep", "100000"]
json.dump(c, open(f"{w}/sleep/config.json", "w"), indent=1)
PY
