#!/usr/bin/env bash
# Measures acknowledged durable PUTs/s and p50/p99 latency of the example
# service (a primary with two async replicas on loopback), with group commit
# and with one fsync per write, at 1, 16 and 64 concurrent connections.
#
#   bash runtime/bench/run.sh [SECONDS]      (needs wrk: apt-get install wrk)
#   BIN=path/to/service bash runtime/bench/run.sh [SECONDS]
#
# BIN: the service binary to measure, e.g. one built by `cargo build
# --release` in a project written by `nines gen` (default: the runtime's
# example `kv`, which is what `nines gen` writes for bigtable-a of
# specs/appengine.nines). The one-fsync-per-write baseline is the same
# binary with --no-group-commit (the replicas too). The example is built
# with the release profile `nines gen` writes into a generated project
# (fat LTO, one codegen unit, panic = abort), through CARGO_PROFILE_RELEASE_*
# since a profile in this crate's own Cargo.toml would be ignored.
# CLIENTS: the connection counts to measure (default "1 16 64").
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}
if [ -z "${BIN:-}" ]; then
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
  CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
    CARGO_PROFILE_RELEASE_PANIC=abort cargo build --release --bin kv >&2
  BIN=$CARGO_TARGET_DIR/release/kv
fi
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
export NINES_PEER_TOKEN=bench-token
echo OL > "$WORK/ups.status"

wait_up() { for _ in $(seq 100); do curl -sf "http://127.0.0.1:$1/healthz" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "port $1 not up" >&2; return 1; }

run_mode() { # $1 = label, $2 = extra flag
  local label=$1 flag=$2 base=$3
  local pp=$base r1=$((base+1)) r2=$((base+2))
  rm -rf "$WORK/$label"; mkdir -p "$WORK/$label"
  "$BIN" --role replica --listen 127.0.0.1:$r1 --data-dir "$WORK/$label/r1" --power none $flag 2>"$WORK/$label/r1.log" & PIDS+=($!)
  "$BIN" --role replica --listen 127.0.0.1:$r2 --data-dir "$WORK/$label/r2" --power none $flag 2>"$WORK/$label/r2.log" & PIDS+=($!)
  wait_up $r1; wait_up $r2
  "$BIN" --listen 127.0.0.1:$pp --data-dir "$WORK/$label/p" --power "file:$WORK/ups.status" \
    --peer http://127.0.0.1:$r1 --peer http://127.0.0.1:$r2 $flag 2>"$WORK/$label/p.log" & PIDS+=($!)
  wait_up $pp
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$pp/readyz" >/dev/null && break; sleep 0.1; done
  for c in ${CLIENTS:-1 16 64}; do
    local t=1  # one wrk thread: it shares the 2 cores with the 3 servers
    local out; out=$(wrk -t$t -c$c -d${DUR}s --latency -s bench/put.lua "http://127.0.0.1:$pp/")
    local rps p50 p99 non2xx
    rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1=="50%" {print $2}' <<<"$out")
    p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out"); non2xx=${non2xx:-0}
    printf '| %-22s | %3s | %10s | %9s | %9s | %7s |\n' "$label" "$c" "$rps" "$p50" "$p99" "$non2xx"
  done
  local m; m=$(curl -s "http://127.0.0.1:$pp/metrics")
  echo "  $label: $(grep -E '^nines_log_(fsyncs_total|appends_total|group_commit_max_batch) ' <<<"$m" | tr '\n' ' ')" >&2
  kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true; PIDS=()
}

echo "| mode                   |   c |  PUTs/s    |   p50     |   p99     | non-2xx |"
echo "|------------------------|-----|------------|-----------|-----------|---------|"
run_mode "group commit" "" 19400
run_mode "one fsync per write" "--no-group-commit" 19500
