import Foundation
import PatchbayConnectors
import PatchbayRuntime
import PatchbayStore
import Testing
import TestSupport

/// The `exec` channel in a running hub: a real outage trips a sink's breaker, the rule fires, and
/// the channel's command (a shell script in the test's directory) receives the notification on its
/// standard input with the delivery's `PATCHBAY_*` variables; when the target is back the command
/// receives the resolution. The command's environment is the allow-list plus its own `env:` map:
/// none of the hub's other secrets reach it.
@Suite("Exec alert channel in a running hub", .serialized)
struct ExecAlertChannelTests {
    /// Secrets in the hub's environment that the exec channel does not name.
    static let hubSecrets = [
        "ERP_TOKEN": "erp-token-must-not-leak-to-the-pager",
        "UNUSED_API_KEY": "unused-key-must-not-leak-to-the-pager",
    ]
    /// The one secret the channel names in its `env:`.
    static let pagerToken = "pager-token-named-by-the-channel"

    /// What one run of the command recorded: its environment and what it read on standard input.
    struct Call {
        var environment: [String: String]
        var payload: [String: Any]
        var raw: String
    }

    /// Appends, per run, `=== call`, then `env NAME=value` lines, then `payload <stdin>`.
    static func writeScript(at path: String, log: String) throws {
        let script = """
            #!/bin/sh
            # One record per run: the whole environment, then the payload read from standard input.
            payload=$(cat)
            {
              echo "=== call"
              env | sed 's/^/env /'
              printf 'payload %s\\n' "$payload"
            } >> '\(log)'

            """
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
    }

    static func calls(_ log: String) throws -> [Call] {
        guard FileManager.default.fileExists(atPath: log) else { return [] }
        let text = try String(contentsOfFile: log, encoding: .utf8)
        return try text.components(separatedBy: "=== call\n").filter { !$0.isEmpty }.map { record in
            var environment: [String: String] = [:]
            var payload = ""
            for line in record.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix("env ") {
                    let pair = line.dropFirst(4).split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    environment[String(pair[0])] = pair.count > 1 ? String(pair[1]) : ""
                } else if line.hasPrefix("payload ") {
                    payload = String(line.dropFirst(8))
                }
            }
            let object = try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any] ?? [:]
            return Call(environment: environment, payload: object, raw: record)
        }
    }

    @Test("a fired rule's notification and its resolution reach the exec command; it sees only its own env: and the allow-list")
    func execChannelReceivesFiredAndResolved() async throws {
        let target = try await ScriptedTarget()
        defer { target.stop() }
        let up = Flag()
        target.script("/erp/orders") { _, _ in up.isRaised ? .ok : Reply(status: 503, body: "down") }
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let script = scratch.path("page.sh")
        let log = scratch.path("pager.log")
        try Self.writeScript(at: script, log: log)

        let hub = try await RunningHub(yaml: """
            retry: {max_attempts: 5, base_delay: 50ms, max_delay: 100ms}
            alerts:
              every: 1s
              repeat: off
              notify: [pager]
              rules:
                erp-paused: {kind: connector_paused}
            connectors:
              events: {module: webhook, signature: github, secret: "${GITHUB_SECRET}"}
              erp:
                module: http
                url: "\(target.url)/erp/orders"
                headers: {Authorization: "Bearer ${ERP_TOKEN}"}
                subscribe: [order_created]
                breaker: {after: 4, probe_every: 1s}
              pager:
                module: exec
                command: ["\(script)"]
                env: {PAGER_TOKEN: "${PAGER_TOKEN}", PAGER_ROUTE: ops-primary}
            """, environment: Self.hubSecrets.merging([
                "PAGER_TOKEN": Self.pagerToken, "LANG": "C.UTF-8", "TZ": "UTC", "HOME": scratch.url.path,
            ]) { _, new in new })

        for n in 0..<6 {
            let (status, body) = try await hub.postEvent("order_created", body: #"{"order":"SO-\#(n)"}"#)
            #expect(status == 200, "\(body)")
        }
        try await hub.wait { try Self.calls(log).contains { $0.payload["notification"] as? String == "fired" } }
        var calls = try Self.calls(log)
        let fired = try #require(calls.first, "the exec command never ran")
        #expect(calls.count == 1, "\(calls.map(\.raw))")

        // The payload on standard input: the alert's rule, subject and summary.
        #expect(fired.payload["type"] as? String == "alert")
        #expect(fired.payload["rule"] as? String == "erp-paused")
        #expect(fired.payload["kind"] as? String == "connector_paused")
        #expect(fired.payload["subject"] as? String == "erp")
        #expect(fired.payload["state"] as? String == "firing")
        let summary = try #require(fired.payload["summary"] as? String)
        #expect(summary.hasPrefix("erp is paused: paused by the breaker: the last 4 attempts failed"), "\(summary)")
        #expect(fired.payload["hint"] as? String == "patchbay failed --connector erp")
        let alertId = try #require(fired.payload["alert_id"] as? Int)

        // The delivery's variables, as the exec sink documents them, for the delivery the hub stored.
        let firstDelivery = try #require(try hub.deliveries(to: "pager").first)
        #expect(fired.environment["PATCHBAY_TOPIC"] == "alert")
        #expect(fired.environment["PATCHBAY_EVENT_ID"] == String(firstDelivery.eventId))
        #expect(fired.environment["PATCHBAY_DELIVERY_ID"] == String(firstDelivery.id))
        #expect(fired.environment["PATCHBAY_ATTEMPT"] == "1")
        #expect(fired.environment["PATCHBAY_IDEMPOTENCY_KEY"] == Claim.idempotencyKey(delivery: firstDelivery.id, replays: 0))

        // The target is back: a probe resumes erp, the next pass resolves the alert and says so.
        _ = up.raise()
        try await hub.wait { try Self.calls(log).contains { $0.payload["notification"] as? String == "resolved" } }
        calls = try Self.calls(log)
        #expect(calls.map { $0.payload["notification"] as? String } == ["fired", "resolved"], "\(calls.map(\.raw))")
        let resolved = try #require(calls.last)
        #expect(resolved.payload["alert_id"] as? Int == alertId)
        #expect(resolved.payload["rule"] as? String == "erp-paused" && resolved.payload["subject"] as? String == "erp")
        #expect(resolved.payload["state"] as? String == "resolved")
        #expect(resolved.payload["summary"] as? String == "resolved: \(summary)")
        #expect(resolved.payload["resolved_at"] is String)
        #expect(resolved.environment["PATCHBAY_TOPIC"] == "alert")
        #expect(resolved.environment["PATCHBAY_EVENT_ID"] != fired.environment["PATCHBAY_EVENT_ID"])
        try await hub.wait { try hub.deliveries(to: "pager").count == 2 && hub.deliveries(to: "pager").allSatisfy { $0.state == .delivered } }
        #expect(try hub.deliveries(to: "pager").map(\.state) == [.delivered, .delivered])

        // Each run's environment: the allow-list the hub has, the channel's env: map (its secret
        // included) and the delivery's variables; nothing else of the hub's.
        let expected: Set = ["PATH", "HOME", "LANG", "TZ", "PAGER_TOKEN", "PAGER_ROUTE", "PATCHBAY_EVENT_ID",
                             "PATCHBAY_DELIVERY_ID", "PATCHBAY_TOPIC", "PATCHBAY_ATTEMPT", "PATCHBAY_IDEMPOTENCY_KEY"]
        let hubSecretValues = Array(Self.hubSecrets.values) + Array(RunningHub.environment.values)
        for call in calls {
            // The shell may add its own (PWD, SHLVL, _, OLDPWD).
            #expect(Set(call.environment.keys).subtracting(["PWD", "SHLVL", "_", "OLDPWD"]) == expected,
                    "\(call.environment.keys.sorted())")
            #expect(call.environment["PAGER_TOKEN"] == Self.pagerToken)
            #expect(call.environment["PAGER_ROUTE"] == "ops-primary")
            #expect(call.environment["LANG"] == "C.UTF-8" && call.environment["HOME"] == scratch.url.path)
            for secret in hubSecretValues {
                #expect(!call.raw.contains(secret), "a hub secret reached the exec command")
            }
        }
        await hub.stop()
    }
}
