#!/usr/bin/env bash
# Builds the libFuzzer targets in Fuzz/ and runs each for N seconds.
#
#   scripts/fuzz.sh [seconds-per-target] [target ...]
#
# Targets (all by default): FuzzWebhookSignature FuzzCSV FuzzSafeText FuzzConfig.
# Seconds default to 30; CI calls it with a small number. Each target starts from its committed
# seeds and regression inputs (Fuzz/Corpus/<target>/, read only) plus what earlier local runs found
# (Fuzz/.work/<target>/, not committed). A crash, an ASan report, a failed check, a timeout (one
# input over FUZZ_TIMEOUT seconds, default 10) or running out of memory saves the input in
# Fuzz/Crashes/<target>/ and makes the script exit 1 once every target has run. To reproduce:
#
#   Fuzz/.build/debug/<target> Fuzz/Crashes/<target>/crash-...
#
# and, once fixed, keep the input as a regression case:
#
#   cp Fuzz/Crashes/<target>/crash-XYZ Fuzz/Corpus/<target>/regression-<what>
#
# Environment: FUZZ_TIMEOUT (seconds per input), FUZZ_ARGS (more libFuzzer flags),
# FUZZ_SKIP_BUILD=1 (use the binaries already built).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

seconds="${1:-30}"
if [[ $# -gt 0 ]]; then shift; fi
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [[ "$seconds" -lt 1 ]]; then
    echo "usage: scripts/fuzz.sh [seconds-per-target] [target ...]" >&2
    exit 2
fi
all_targets=(FuzzWebhookSignature FuzzCSV FuzzSafeText FuzzConfig)
if [[ $# -gt 0 ]]; then targets=("$@"); else targets=("${all_targets[@]}"); fi

# Largest input per target: above the 8 KiB signature header limit for webhooks, enough for a
# real report or config for the others.
max_len() {
    case "$1" in
        FuzzWebhookSignature) echo 20000 ;;
        FuzzCSV) echo 16384 ;;
        FuzzConfig) echo 16384 ;;
        *) echo 4096 ;;
    esac
}

# The same dependency versions as the project (Package.resolved is not committed).
if [[ -f Package.resolved && ! -f Fuzz/Package.resolved ]]; then cp Package.resolved Fuzz/Package.resolved; fi

build_flags=(--package-path Fuzz -c debug -Xswiftc -sanitize=fuzzer,address)
if [[ "${FUZZ_SKIP_BUILD:-0}" != 1 ]]; then
    echo "== building the fuzz targets (debug, -sanitize=fuzzer,address)"
    # ld.gold warns about every ASan helper symbol; only the rest is worth reading.
    set +e
    swift build "${build_flags[@]}" 2>&1 | grep -v "Cannot export local symbol"
    status=${PIPESTATUS[0]}
    set -e
    if [[ $status -ne 0 ]]; then
        echo "fuzz.sh: the build failed" >&2
        exit "$status"
    fi
fi
bin="$(swift build "${build_flags[@]}" --show-bin-path)"

# Swift's runtime keeps caches for the life of the process; LeakSanitizer would call them leaks.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1}"
# Swift's own crash backtracer takes minutes to symbolicate an ASan binary; libFuzzer reports anyway.
export SWIFT_BACKTRACE="${SWIFT_BACKTRACE:-enable=no}"

failed=()
summary=()
for target in "${targets[@]}"; do
    exe="$bin/$target"
    if [[ ! -x "$exe" ]]; then
        echo "fuzz.sh: no fuzz target $target (have: ${all_targets[*]})" >&2
        exit 2
    fi
    seeds="Fuzz/Corpus/$target"
    work="Fuzz/.work/$target"
    crashes="Fuzz/Crashes/$target"
    mkdir -p "$seeds" "$work" "$crashes" Fuzz/.work/logs
    log="Fuzz/.work/logs/$target.log"
    dict=()
    if [[ -f "Fuzz/Dictionaries/$target.dict" ]]; then dict=("-dict=Fuzz/Dictionaries/$target.dict"); fi

    echo "== $target: ${seconds}s (log: $log)"
    before=$(find "$crashes" -type f | wc -l)
    set +e
    # shellcheck disable=SC2086
    "$exe" "$work" "$seeds" \
        -max_total_time="$seconds" -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb=4096 \
        -max_len="$(max_len "$target")" -artifact_prefix="$crashes/" -print_final_stats=1 \
        "${dict[@]}" ${FUZZ_ARGS:-} >"$log" 2>&1
    status=$?
    set -e
    after=$(find "$crashes" -type f | wc -l)

    # The last status line ("#N DONE cov: ... ft: ... corp: ... exec/s: ...") and the final stats.
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' || true)
    rate=$(grep -E '^stat::average_exec_per_sec' "$log" | awk '{print $2}' || true)
    echo "   $last"
    summary+=("$(printf '%-22s runs %-9s exec/s %-6s %s' "$target" "${runs:-?}" "${rate:-?}" \
        "$(sed -E 's/.*(cov: [0-9]+ ft: [0-9]+).*/\1/' <<<"$last")")")
    if [[ $status -ne 0 || $after -gt $before ]]; then
        echo "!! $target failed (exit $status); the report:" >&2
        grep -E -A12 '^(==[0-9]+==( |)ERROR|Fuzz[A-Za-z]+: |.*Fatal error)' "$log" | head -40 >&2 || tail -40 "$log" >&2
        grep -E 'Test unit written to' "$log" >&2 || true
        failed+=("$target")
    fi
done

echo "== summary (${seconds}s per target)"
printf '   %s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "fuzz.sh: crashes in ${failed[*]}; inputs are in Fuzz/Crashes/" >&2
    exit 1
fi
echo "fuzz.sh: no crash"
