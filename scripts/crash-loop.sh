#!/bin/sh
# Runs the crash-loop proof (Tests/ProofTests/CrashLoopTests.swift) with more crashes than CI does.
#
#   scripts/crash-loop.sh [ROUNDS] [REPEATS]
#
# ROUNDS   crashes per run (default 60; CI runs 10): SIGKILL at random moments and injected crashes
#          at ingest.after-commit and delivery.after-sink, on one database, under load.
# REPEATS  how many runs, each with a fresh random seed (default 1). A failing run prints its seed;
#          replay it with PATCHBAY_CRASH_SEED=<seed> scripts/crash-loop.sh ROUNDS.
#
# Environment: SCRATCH (default .build-proof) is the build directory; PATCHBAY_CRASH_SEED fixes the seed.
# The figures (crashes survived, messages checked, repeats) are the lines starting with [proof].
set -eu

rounds="${1:-60}"
repeats="${2:-1}"
scratch="${SCRATCH:-.build-proof}"
cd "$(dirname "$0")/.."

case "$rounds" in ''|*[!0-9]*) echo "ROUNDS must be a number, got '$rounds'" >&2; exit 2;; esac
case "$repeats" in ''|*[!0-9]*) echo "REPEATS must be a number, got '$repeats'" >&2; exit 2;; esac

swift build --scratch-path "$scratch" --build-tests

failed=0
i=1
while [ "$i" -le "$repeats" ]; do
    echo "== crash loop run $i of $repeats: $rounds crashes"
    log="$(mktemp "${TMPDIR:-/tmp}/patchbay-crash-loop.XXXXXX")"
    if PATCHBAY_CRASH_ROUNDS="$rounds" swift test --scratch-path "$scratch" --skip-build \
        --filter 'CrashLoopTests' >"$log" 2>&1; then
        grep '\[proof\]' "$log" | grep -v 'incarnation' || true
    else
        failed=$((failed + 1))
        cat "$log"
        echo "== run $i FAILED (seed above, in the 'crash loop: seed' line)" >&2
    fi
    rm -f "$log"
    i=$((i + 1))
done

if [ "$failed" -gt 0 ]; then
    echo "== $failed of $repeats runs failed" >&2
    exit 1
fi
echo "== all $repeats runs passed"
