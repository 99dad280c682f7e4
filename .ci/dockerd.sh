#!/usr/bin/env bash
# Start, stop or empty a private Docker engine for builds and tests.
# Usage: .ci/dockerd.sh start|stop|prune [STATE_DIR]   (prints the DOCKER_HOST to export on start;
# prune removes every image of the engine, running or stopped)
set -euo pipefail
action="${1:?usage: $0 start|stop|prune [STATE_DIR]}"
state="${2:-${KOLLA_DOCKERD_DIR:-/var/tmp/kolla-dockerd}}"
sock="unix://$state/docker.sock"

engine_answers() { DOCKER_HOST="$sock" docker version >/dev/null 2>&1; }

engine_process_runs() {
  local pid
  pid="$(cat "$state/dockerd.pid" 2>/dev/null)" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

stop_and_wait() {
  local pid
  pid="$(cat "$state/dockerd.pid" 2>/dev/null || true)"
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 120); do
    if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.5
  done
  rm -f "$state/dockerd.pid"
}

case "$action" in
  start)
    mkdir -p "$state"
    if engine_answers; then
      # An engine whose default bridge was deleted (e.g. by another dockerd stopping) cannot start
      # bridged containers: restart it, which recreates docker0.
      if ip link show docker0 >/dev/null 2>&1; then echo "$sock"; exit 0; fi
      echo "dockerd at $sock lost its docker0 bridge: restarting it" >&2
      stop_and_wait
    fi
    command -v dockerd >/dev/null || { echo "dockerd missing: apt-get install -y docker.io" >&2; exit 1; }
    setsid dockerd --data-root "$state/root" --exec-root "$state/exec" -H "$sock" \
      --pidfile "$state/dockerd.pid" >"$state/dockerd.log" 2>&1 < /dev/null &
    for _ in $(seq 1 60); do
      if engine_answers; then echo "$sock"; exit 0; fi
      sleep 0.5
    done
    echo "dockerd did not come up; last log lines:" >&2; tail -20 "$state/dockerd.log" | cut -c1-300 >&2; exit 1 ;;
  stop)
    stop_and_wait ;;
  prune)
    if engine_answers; then
      DOCKER_HOST="$sock" docker image prune --all --force >/dev/null
    elif [ -d "$state/root" ] && ! engine_process_runs; then
      rm -rf --one-file-system "$state/root"
    fi ;;
  *) echo "usage: $0 start|stop|prune [STATE_DIR]" >&2; exit 2 ;;
esac
