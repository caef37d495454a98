#!/usr/bin/env bash
# Smoke test of the benchmark command (not a benchmark: the numbers are not checked).
# Runs scripts/bench on 40 messages, one run per tool, directly and through the latency proxy
# (--rtt-ms 20); fails only when a tool crashes or imapmail reads a wrong number of messages
# (scripts/bench exits 1 then), when the proxy's table is missing, or when the benchmark
# cannot be set up at all.
set -euo pipefail
cd "$(dirname "$0")/../.."
start=$SECONDS
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
rc=0
timeout 600 scripts/bench --messages 40 --runs 1 --rtt-ms 20 >"$out" 2>&1 || rc=$?
cat "$out"
if [ "$rc" != 0 ]; then
    echo "bench_smoke: scripts/bench failed (exit $rc)"
    exit 1
fi
# Every imapmail row must have a time (a crash or a wrong count would show FAILED).
if grep -E '^imapmail' "$out" | grep -q FAILED || ! grep -qE '^imapmail.*read_first/next' "$out"; then
    echo "bench_smoke: imapmail rows missing or failed"
    exit 1
fi
# The latency proxy (bench/latency_proxy.c) ran too: a second table, with imapmail in it.
if [ "$(grep -cE '^imapmail: read_first/next' "$out")" != 2 ] || ! grep -q 'RTT (latency_proxy)' "$out"; then
    echo "bench_smoke: no imapmail row through the latency proxy"
    exit 1
fi
# The raw client's pipelined diagnostic mode ran in both tables (raw_fetch ... batched).
if [ "$(grep -E '^raw C: batches of 50, 4 ahead' "$out" | grep -cE '[0-9]+\.[0-9]{3}')" != 2 ]; then
    echo "bench_smoke: the raw batched diagnostic row is missing or failed"
    exit 1
fi
echo "bench_smoke: ok ($((SECONDS - start)) s)"
