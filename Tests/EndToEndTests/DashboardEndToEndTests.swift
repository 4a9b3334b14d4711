import Foundation
import PatchbayStore
import TestSupport
import Testing

@Suite("the dashboard in a real terminal (tmux)", .serialized, .enabled(if: Tmux.available, "needs tmux"))
struct DashboardEndToEndTests {
    func seededDatabase(_ directory: TemporaryDirectory) throws -> String {
        let db = directory.path("e2e.sqlite")
        let seeded = try patchbay(["seed", "--db", db, "--events", "400", "--days", "2"])
        #expect(seeded.status == 0, "\(seeded.output)")
        return db
    }

    func deadIds(_ db: String) throws -> Set<Int> {
        let output = try patchbay(["failed", "--db", db, "--json", "--state", "dead", "--limit", "10000"]).output
        let rows = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]] ?? []
        return Set(rows.compactMap { $0["id"] as? Int })
    }

    @Test("panels appear; r on a dead delivery makes it pending; enter shows attempts; resize redraws; q exits 0 and restores the terminal")
    func operatorSession() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let db = try seededDatabase(directory)
        let before = try deadIds(db)
        #expect(!before.isEmpty)

        let tmux = try Tmux(arguments: ["--db", db], directory: directory)
        let overview = try tmux.waitFor { $0.contains("Invoice aging") && $0.contains("Retry queue") }
        for panel in ["Throughput", "Failed deliveries by error", "Retry queue", "Invoice aging"] {
            #expect(overview.contains(panel), "panel \(panel) missing:\n\(overview)")
        }
        #expect(try tmux.display("#{alternate_on}") == "1")

        // The flat failed list, filtered to dead deliveries; r retries the selected one.
        try tmux.send("3", "v")
        try tmux.waitFor { $0.contains("Failed ·") && $0.contains("STATE") }
        try tmux.send("/")
        try tmux.type("dead")
        try tmux.send("Enter", "g", "r")
        let toast = try tmux.waitFor { $0.contains("Requeued 1 delivery") }
        #expect(toast.contains("Requeued 1 delivery"), "\(toast)")
        let after = try deadIds(db)
        let requeued = before.subtracting(after)
        #expect(requeued.count == 1)
        #expect(after.isSubset(of: before))

        // enter on an event of the history shows its attempts.
        try tmux.send(":")
        try tmux.type("events state=delivered")
        try tmux.send("Enter")
        // Wait for the filtered rows themselves (the list's position, "1/N"), not only the filter in
        // the status line: it shows before the page arrives, and enter on "Loading…" opens nothing.
        try tmux.waitFor(timeout: 90) { $0.contains("Event history") && $0.contains("state=delivered") && $0.contains(" 1/") }
        try tmux.send("Enter")
        // A generous deadline: on a loaded CI machine the detail's read and first frame took over 15 s.
        let detail = try tmux.waitFor(timeout: 90) { $0.contains("#1 ") && $0.contains("Payload") }
        #expect(detail.contains("#1 "), "\(detail)")
        #expect(detail.contains("[worker]"))

        // A resize reflows everything.
        try tmux.tmux(["resize-window", "-t", "e2e", "-x", "80", "-y", "24"])
        let small = try tmux.waitFor { screen in
            let lines = screen.split(separator: "\n")
            return lines.count <= 24 && lines.first?.contains("Patchbay") == true && screen.contains("esc back")
        }
        #expect(small.split(separator: "\n").allSatisfy { $0.count <= 80 })
        try tmux.tmux(["resize-window", "-t", "e2e", "-x", "30", "-y", "8"])
        let tiny = try tmux.waitFor { $0.contains("Terminal too") }
        #expect(tiny.contains("Terminal too"))
        try tmux.tmux(["resize-window", "-t", "e2e", "-x", "100", "-y", "30"])
        try tmux.waitFor { $0.contains("Event") && $0.contains("esc back") }

        try tmux.send("q")
        #expect(tmux.exitStatus() == 0)
        #expect(try tmux.display("#{alternate_on}") == "0")
        #expect(try tmux.display("#{cursor_flag}") == "1")
    }

    @Test("a payload full of escape sequences leaves the pane title, the screen and the clipboard intact")
    func hostilePayload() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let db = directory.path("hostile.sqlite")
        let store = try Store.open(at: db, mode: .create(homeCurrency: "EUR"))
        let source = try store.saveConnector(.init(name: "evil-source", module: "webhook", pattern: .event, system: "X", direction: .source))
        let sink = try store.saveConnector(.init(name: "sink", module: "http", pattern: .event, system: "Y", direction: .sink))
        // JSON-escaped controls: the store keeps the JSON text; its decoded form holds raw escapes.
        let note = #"\u001b]0;PWNED-TITLE\u0007\u001b]2;PWNED2\u001b\\\u001b]52;c;cHduZWQ=\u0007\u001b[2J\u001b[H\u001bP+q\u001b\\\u009b31mRED\u202egnp.exe\u2028\u0000\r\b\b"#
        let payload = #"{"note":"\#(note)","link":"\u001b]8;;http://evil.example\u0007click\u001b]8;;\u0007"}"#
        let event = try store.ingest(NewEvent(topic: "order_created", sourceId: source.id, idempotencyKey: "hostile-1",
                                              payload: payload, targets: [DeliveryTarget(connectorId: sink.id, maxAttempts: 3)]))
        let claims = try store.claimDueDeliveries(limit: 1, lease: 60, owner: "test")
        _ = try store.record(DeliveryOutcome(deliveryId: claims[0].deliveryId, leaseToken: claims[0].leaseToken, result: .dead,
                                             startedAt: Date(), durationMs: 5, statusCode: 400,
                                             error: "HTTP 400: \u{1B}]0;ERR-TITLE\u{07}\u{1B}[31mbad\u{9B}2J", errorSignature: "bad"))

        let tmux = try Tmux(arguments: ["--db", db], directory: directory)
        try tmux.waitFor { $0.contains("Invoice aging") }
        try tmux.send("3", "v")
        try tmux.waitFor { $0.contains("HTTP 400") }
        try tmux.send(":")
        try tmux.type("show \(event.eventId)")
        try tmux.send("Enter")
        let screen = try tmux.waitFor { $0.contains("Payload") && $0.contains("^[") }
        #expect(screen.contains("^["), "escapes should be shown as visible text:\n\(screen)")
        #expect(screen.contains("Event \(event.eventId)"))
        #expect(try tmux.display("#{pane_title}") == "patchbay-e2e-title")
        #expect(try tmux.tmux(["list-buffers"]).trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
        // The header is still where it was: nothing cleared the screen or moved the cursor home.
        #expect(screen.split(separator: "\n").first?.contains("Patchbay") == true)
        try tmux.send("q")
        #expect(tmux.exitStatus() == 0)
        #expect(try tmux.display("#{pane_title}") == "patchbay-e2e-title")
    }
}
