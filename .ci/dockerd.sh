#!/usr/bin/env bash
# Start or stop a private Docker engine for builds and tests.
# Usage: .ci/dockerd.sh start|stop [STATE_DIR]   (prints the DOCKER_HOST to export on start)
set -euo pipefail
action="${1:?usage: $0 start|stop [STATE_DIR]}"
state="${2:-${KOLLA_DOCKERD_DIR:-/var/tmp/kolla-dockerd}}"
sock="unix://$state/docker.sock"
case "$action" in
  start)
    mkdir -p "$state"
    if DOCKER_HOST="$sock" docker version >/dev/null 2>&1; then echo "$sock"; exit 0; fi
    command -v dockerd >/dev/null || { echo "dockerd missing: apt-get install -y docker.io" >&2; exit 1; }
    setsid dockerd --data-root "$state/root" --exec-root "$state/exec" -H "$sock" \
      --pidfile "$state/dockerd.pid" >"$state/dockerd.log" 2>&1 < /dev/null &
    for _ in $(seq 1 60); do
      if DOCKER_HOST="$sock" docker version >/dev/null 2>&1; then echo "$sock"; exit 0; fi
      sleep 0.5
    done
    echo "dockerd did not come up; last log lines:" >&2; tail -20 "$state/dockerd.log" >&2; exit 1 ;;
  stop)
    if [ -f "$state/dockerd.pid" ]; then kill "$(cat "$state/dockerd.pid")" 2>/dev/null || true; fi ;;
  *) echo "usage: $0 start|stop [STATE_DIR]" >&2; exit 2 ;;
esac
