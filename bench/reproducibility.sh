#!/usr/bin/env bash
# Build the selected images twice from scratch (Pants' caches off, so every build runs; the engine's layer
# cache off) and report, per image, whether both builds gave the same image ID (bit-identical config and
# layers). Usage: bench/reproducibility.sh [TARGET...]   (default: an infra subset)
set -euo pipefail
cd "$(dirname "$0")/.."
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(images/cron: images/memcached: images/redis: images/haproxy: images/chrony: images/etcd:)
run_id="repro$(date +%s)"
work="$(mktemp -d)"
for side in a b; do
  ./pants --no-pantsd --no-local-cache --no-remote-cache-read --kolla-tag="$run_id-$side" \
    --no-kolla-engine-layer-cache package "${targets[@]}" \
    > "$work/$side.log" 2>&1 || { tail -30 "$work/$side.log"; exit 1; }
  # `package` prints "<status>: <ref> <image id> (...)" per image.
  grep -E "^(built|cached): " "$work/$side.log" | sed "s/:$run_id-$side / /" | awk '{print $2, $3}' | sort > "$work/$side.ids"
done
join "$work/a.ids" "$work/b.ids" | awk '{same += ($2 == $3); print $1, ($2 == $3 ? "identical" : "DIFFERENT")}
                                       END {print same "/" NR " bit-identical"}'
