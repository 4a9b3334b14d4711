#!/usr/bin/env bash
# Breaks each promise of docs/GUARANTEES.md on purpose, one at a time, and checks that the tests
# named for it fail; then restores the code. A test that still passes with its promise broken
# proves nothing, and this script says so.
#
#   scripts/break-promises.sh [WORKTREE] [promise ...]
#
# It works in a separate git worktree of HEAD (default ../patchbay-mutants), never in this one, so
# a mutant can't be committed or picked up by another build. The first build there is a full debug
# build (many minutes on 2 cores); each mutant then rebuilds only what it touched.
# Promises: 2 2b 2c 2p 3 4 4p 5 6 6b 6c 6d 7 7b 7c 8 8b 9 9b 9c 10 10b 10c 12b 12c (1, durability, was broken for real once: see GUARANTEES.md).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
tree="${1:-$root/../patchbay-mutants}"
if [[ $# -gt 0 ]]; then shift; fi
wanted=("$@")

if [[ ! -d "$tree/.git" && ! -f "$tree/.git" ]]; then
    git -C "$root" worktree add --detach "$tree" HEAD >/dev/null
fi
git -C "$tree" checkout -q --detach "$(git -C "$root" rev-parse HEAD)"
git -C "$tree" reset -q --hard
# The tests read ../shared/fixtures from the project root.
if [[ ! -e "$tree/../shared" && -d "$root/../shared" ]]; then ln -s "$root/../shared" "$tree/../shared"; fi
cd "$tree"

# mutate FILE OLD NEW: replaces exactly one occurrence of OLD, or fails loudly (the code moved on).
mutate() {
    python3 - "$1" "$2" "$3" <<'EOF'
import sys
path, old, new = sys.argv[1:4]
text = open(path).read()
count = text.count(old)
if count != 1:
    sys.exit(f"break-promises: expected one '{old}' in {path}, found {count}: update this script")
open(path, "w").write(text.replace(old, new))
EOF
}

results=()
failed=0
# run PROMISE WHAT FILTER [ENV=VALUE ...]: builds the mutant already applied, runs the filter, restores.
run() {
    local promise="$1" what="$2" filter="$3"
    shift 3
    echo "== promise $promise broken: $what"
    echo "   building the mutant"
    # SwiftPM's incremental build sometimes keeps a test object compiled against an older signature
    # of a changed function (a link error); one retry with the tests touched settles it.
    if ! swift build --build-tests >"/tmp/break-promises-$promise.build.log" 2>&1 \
        && ! { grep -q "undefined reference" "/tmp/break-promises-$promise.build.log" \
               && find Tests -name '*.swift' -exec touch {} + \
               && swift build --build-tests >"/tmp/break-promises-$promise.build.log" 2>&1; }; then
        echo "   the mutant does not build (see /tmp/break-promises-$promise.build.log)" >&2
        results+=("$promise | $what | mutant did not build")
        failed=1
        git checkout -q -- .
        return
    fi
    local log="/tmp/break-promises-$promise.log"
    set +e
    env "$@" swift test --skip-build --filter "$filter" >"$log" 2>&1
    local status=$?
    set -e
    local names failures crashed=""
    names=$(grep -E '^✘ Test .* (failed|recorded an issue)' "$log" | grep -v '^✘ Test run with' | sed -E 's/^✘ Test //; s/ (failed|recorded an issue).*//' | sort -u || true)
    failures=$(grep -c . <<<"$names" || true)
    if grep -q "exited with unexpected signal" "$log"; then crashed=", and the test process crashed"; fi
    if [[ $status -ne 0 ]]; then
        echo "   caught: swift test exited $status: $failures failing tests$crashed (log: $log)"
        head -8 <<<"$names" | sed 's/^/     /'
        results+=("$promise | $what | caught: $failures failing tests$crashed")
    else
        echo "   NOT CAUGHT: every test in '$filter' passed with the promise broken" >&2
        results+=("$promise | $what | NOT CAUGHT")
        failed=1
    fi
    git checkout -q -- .
}

want() { [[ ${#wanted[@]} -eq 0 ]] || [[ " ${wanted[*]} " == *" $1 "* ]]; }

if want 2; then
    # After a crash, a delivery whose lease expired is marked delivered instead of due again: lost.
    mutate Sources/PatchbayStore/Store+Queue.swift \
        'let newState: DeliveryState = attempts >= maxAttempts ? .dead : .retrying' \
        'let newState: DeliveryState = attempts >= maxAttempts ? .dead : .delivered'
    run 2 "lease recovery marks a delivery that never got an outcome as delivered" \
        'QueueTests|CrashLoopTests|killDuringBurst' PATCHBAY_CRASH_ROUNDS=3
fi

if want 2p; then
    # The same mutant on PostgreSQL: recovery marks a lease that expired without an outcome delivered.
    mutate Sources/PatchbayPostgres/PostgresStore+Queue.swift \
        'let newState: DeliveryState = attempts >= maxAttempts ? .dead : .retrying' \
        'let newState: DeliveryState = attempts >= maxAttempts ? .dead : .delivered'
    run 2p "PostgreSQL: lease recovery marks a delivery that never got an outcome as delivered" \
        'QueueConformanceTests|FailoverTests' PATCHBAY_FAILOVER_ROUNDS=1
fi

if want 2b; then
    # The delivery client follows redirects again: a 302 to another origin counts as delivered there.
    mutate Sources/PatchbayRuntime/HTTPClientTransport.swift \
        'configuration.redirectConfiguration = .disallow' \
        'configuration.redirectConfiguration = .follow(max: 5, allowCycles: false)'
    run 2b "the delivery client follows redirects" 'RedirectTests'
fi

if want 2c; then
    # `run` marks the configured connectors as orphaned instead of the others.
    mutate Sources/PatchbayStore/Store+Orphans.swift \
        'AND c.name NOT IN (SELECT value FROM json_each(?))' \
        'AND c.name IN (SELECT value FROM json_each(?))'
    run 2c "connectors missing from the configuration are not named" 'OrphanTests|OrphanCLITests|OrphanRuntimeTests'
fi

if want 3; then
    mutate Sources/PatchbayStore/Store+Queue.swift \
        'idempotencyKey: "patchbay-delivery-\(id)")' \
        'idempotencyKey: "patchbay-delivery-\(id)-\(row[3] as Int)")'
    run 3 "a repeated attempt carries a new idempotency key" \
        'CrashLoopTests|killDuringBurst' PATCHBAY_CRASH_ROUNDS=3
fi

if want 4; then
    mutate Sources/PatchbayStore/Store+Queue.swift \
        'guard let lease = held[outcome.deliveryId], lease.token == outcome.leaseToken,' \
        'guard let lease = held[outcome.deliveryId],'
    run 4 "an outcome is recorded without checking the lease token" 'QueueTests|StaleWorkerTests'
fi

if want 4p; then
    mutate Sources/PatchbayPostgres/PostgresStore+Queue.swift \
        'guard let lease = held[outcome.deliveryId], lease.token == outcome.leaseToken,' \
        'guard let lease = held[outcome.deliveryId],'
    run 4p "PostgreSQL: an outcome is recorded without checking the lease token" 'QueueConformanceTests'
fi

if want 5; then
    mutate Sources/PatchbayStore/Store+Operator.swift \
        'try forEachMovable(ids, db: db, result: &result, allowed: \.isRequeueable,' \
        'try forEachMovable(ids, db: db, result: &result, allowed: { $0.isRequeueable || $0 == .pending },'
    run 5 "retry requeues a delivery that is already pending" 'OperatorTests|concurrentRetriesRequeueOnce'
fi

if want 6; then
    mutate Sources/PatchbayHub/Import/InvoiceCSV.swift \
        'if let problem = InvoiceInput.firstProblem(in: invoices) {' \
        'if false, let problem = InvoiceInput.firstProblem(in: invoices) {'
    mutate Sources/PatchbayHub/Import/InvoiceCSV.swift \
        'if InvoiceInput.isBlank(text) {' \
        'if false && InvoiceInput.isBlank(text) {'
    run 6 "the CSV reader accepts rows the store refuses (the U+00A0 customer)" 'BadInputCorpusTests|InvoiceCSVTests'
fi

if want 6b; then
    mutate Sources/PatchbayValues/Durations.swift \
        'guard seconds.isFinite, seconds <= maximum else { throw .tooLong(text) }' \
        'guard seconds.isFinite else { throw .tooLong(text) }'
    run 6b "durations have no upper bound (1e12d traps)" 'DurationTests|BadInputTests'
fi

if want 6c; then
    mutate Sources/PatchbayCLI/Commands/Run.swift \
        'let creating = configured != nil && !FileManager.default.fileExists(atPath: path)' \
        'let creating = !FileManager.default.fileExists(atPath: path)'
    run 6c "run creates whatever missing database --db names" 'BadInputTests'
fi

if want 6d; then
    mutate Sources/PatchbayStore/Store.swift \
        'try WriteAccess.createOwnerOnlyFile(at: path)' \
        '_ = path'
    run 6d "new databases take the umask's mode" 'FileModeTests|DatabaseFileTests'
fi

if want 7; then
    mutate Sources/PatchbayText/SafeText.swift \
        'case 0x00...0x08, 0x0A...0x1F, 0x7F: return true' \
        'case 0x00...0x08, 0x0A...0x1A, 0x1C...0x1F, 0x7F: return true'
    run 7 "ESC is no longer escaped" 'SafeTextTests|ScreenTests|hostilePayload'
fi

# The terminal backend replaces any control left in a cell by '?' (defence in depth), so with only
# SafeText broken the real-terminal test still passes: both layers must go for it to fail.
if want 7b; then
    mutate Sources/PatchbayText/SafeText.swift \
        'case 0x00...0x08, 0x0A...0x1F, 0x7F: return true' \
        'case 0x7F: return true'
    mutate Sources/PatchbayText/SafeText.swift \
        'case 0x80...0x9F: return true  // C1' \
        'case 0xFFFFFF: return true  // C1'
    mutate Sources/PatchbayText/SafeText.swift \
        'case 0x00...0x1F:' \
        'case 0xFFFFFE:'
    mutate Sources/TerminalUI/CursesBackend.swift \
        'chars = chars.map { $0 < 0x20 || ($0 >= 0x7F && $0 < 0xA0) ? wchar_t(0x3F) : $0 }' \
        'chars = chars.map { $0 }'
    run 7b "controls reach the terminal: SafeText and the backend's own filter both off" \
        'DashboardEndToEndTests/hostilePayload'
fi

if want 7c; then
    # Errors on stderr carry a file's bytes raw again.
    mutate Sources/PatchbayCLI/Patchbay.swift \
        'SafeText.multiline(message)' \
        'message'
    run 7c "errors reach stderr unsanitised" 'TerminalSafetyTests'
fi

if want 8; then
    # What a target echoes of a connector's credentials is stored as it came.
    mutate Sources/PatchbayRuntime/Services.swift \
        '            .redacting(redaction)' \
        ''
    run 8 "echoed credentials are stored unredacted" 'RedactionTests'
fi

if want 8b; then
    # An exec child inherits the hub's whole environment and its descriptors again.
    mutate Sources/PatchbayConnectors/Exec/ExecSink.swift \
        'let environment = self.environment.merging([' \
        'let environment = ProcessInfo.processInfo.environment.merging(['
    mutate Sources/PatchbayConnectors/Exec/ExecSink.swift \
        'if let closeFrom = Self.addCloseFrom {' \
        'if false, let closeFrom = Self.addCloseFrom {'
    mutate Sources/PatchbayConnectors/Exec/ExecSink.swift \
        'for fd in Self.openDescriptors() where fd > 2 {' \
        'for fd in Self.openDescriptors() where fd > 2 && false {'
    run 8b "exec children inherit the hub's environment and descriptors" 'SecretsTests'
fi

if want 9; then
    # Loops stop only on the stop flag: a hub whose server cannot bind never ends.
    mutate Sources/PatchbayRuntime/HubRuntime.swift \
        'var stopping: Bool { stop.isSet || Task.isShuttingDownGracefully || Task.isCancelled }' \
        'var stopping: Bool { stop.isSet || Task.isShuttingDownGracefully }'
    run 9 "loops ignore cancellation (a hub that cannot listen keeps running)" 'ServerHardeningTests/bindFailureExits'
fi

if want 9b; then
    # No deadlines on slow clients.
    mutate Sources/PatchbayRuntime/WebhookServer.swift \
        'additionalChannelHandlers: [ConnectionGuard(headerTimeout: headerTimeout, bodyTimeout: bodyTimeout)]' \
        'additionalChannelHandlers: []'
    run 9b "slow clients keep their connections" 'ServerHardeningTests'
fi

if want 9c; then
    # A replayed signed body is a new event again.
    mutate Sources/PatchbayConnectors/Webhook/WebhookConnector.swift \
        'let replayGuard = replayWindow > 0 && headersUnsigned' \
        'let replayGuard = replayWindow < 0 && headersUnsigned'
    run 9c "a replayed signed body is stored as a new event" 'ReplayAndFloodTests'
fi

if want 10; then
    # A claim on PostgreSQL ignores the sink's shared concurrency: each node takes its own.
    mutate Sources/PatchbayPostgres/PostgresStore+Queue.swift \
        'wanted = min(wanted, shared.allowed)' \
        'wanted = min(wanted, max(shared.allowed, limit))'
    run 10 "claims ignore the sink's concurrency held in the database" \
        'SharedLimitsTests|FailoverTests' PATCHBAY_FAILOVER_ROUNDS=1
fi

if want 10b; then
    # A worker sends a delivery whose lease ran out while it waited (a stopped node).
    mutate Sources/PatchbayRuntime/Services.swift \
        'if Date().millis >= claim.leaseExpiresAt - 200 {' \
        'if false {'
    run 10b "a worker sends past its lease" 'stoppedBeforeSend'
fi

if want 10c; then
    # Batch jobs ignore the job lock: every node runs the job.
    mutate Sources/PatchbayRuntime/Services.swift \
        'if let locks = store as? any JobLocks {' \
        'if false, let locks = store as? any JobLocks {'
    run 10c "every node runs a batch job, without its lock" 'batchJobMovesToAnotherNode'
fi

if want 12b; then
    # An API pull asks for its token once per page, not before every send: one that expired while a
    # 429 was waited out is sent anyway.
    mutate Sources/PatchbayConnectors/HTTP/APIReader.swift \
        'if oauth != nil {' \
        'if oauth != nil, bearer == nil || rejected != nil {'
    mutate Sources/PatchbayConnectors/HTTP/APIReader.swift \
        '            var bearer: String?
            if oauth' \
        '            if oauth'
    mutate Sources/PatchbayConnectors/HTTP/APIReader.swift \
        '        var waits = 0
        while true {' \
        '        var waits = 0
        var bearer: String?
        while true {'
    run 12b "a pull sends a token that expired during a rate-limit wait" 'PullOAuthTests'
fi

if want 12c; then
    # A quota reading overwrites a newer one (the last write wins instead of the last answer).
    mutate Sources/PatchbayStore/Store+Quotas.swift 'excluded.observed_at >= api_quotas.observed_at' '1 = 1'
    run 12c "an older quota reading overwrites a newer one" 'QuotasConformanceTests'
fi

echo
echo "== summary (each mutant should be caught)"
printf '   %s\n' "${results[@]}"
exit $failed
