#!/bin/sh
# no-unified.sh CMD [ARG...] - run CMD in a private mount namespace without
# /sys/fs/cgroup/unified: crun refuses a hybrid host whose cgroup2 mount
# holds a controller, so every runtime of the benchmark runs in one of these.
exec unshare --mount --propagation private sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$0" "$@"' "$@"
