import Foundation
import PatchbayHub
import PatchbayStore
import Testing
import TestSupport
@testable import PatchbayConnectors

// MARK: - Helpers

/// An HTTP transport answering from a closure, recording every request it was handed.
private struct FakeTransport: HTTPTransport {
    final class Log: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [(OutboundRequest, Duration)] = []
        func append(_ request: OutboundRequest, _ timeout: Duration) { lock.withLock { items.append((request, timeout)) } }
        var requests: [OutboundRequest] { lock.withLock { items.map(\.0) } }
        var timeouts: [Duration] { lock.withLock { items.map(\.1) } }
    }

    let log = Log()
    let respond: @Sendable (OutboundRequest) -> Result<OutboundResponse, TransportError>

    init(_ respond: @escaping @Sendable (OutboundRequest) -> Result<OutboundResponse, TransportError>) {
        self.respond = respond
    }

    init(status: Int, headers: [String: String] = [:], body: String = "") {
        self.init { _ in .success(OutboundResponse(status: status, headers: headers, body: Array(body.utf8))) }
    }

    func send(_ request: OutboundRequest, timeout: Duration) async throws(TransportError) -> OutboundResponse {
        log.append(request, timeout)
        return try respond(request).get()
    }
}

/// Wraps the payload, or refuses it when it holds "refuse".
private struct WrapTransform: PayloadTransform {
    func apply(topic: String, payload: String) throws(TransformError) -> (topic: String, payload: String) {
        if payload.contains("refuse") { throw TransformError(path: "$.total", message: "is not a number") }
        return (topic, "{\"wrapped\":\(payload),\"topic\":\"\(topic)\"}")
    }
}

private func delivery(payload: String = #"{"id":"A-1","total":"12.50"}"#, topic: String = "order_created",
                      key: String = "evt-42", eventId: EventID = 7, deliveryId: DeliveryID = 11, attempt: Int = 3,
                      correlation: String? = nil) -> OutboundDelivery {
    OutboundDelivery(deliveryId: deliveryId, eventId: eventId, topic: topic, payload: payload, idempotencyKey: key,
                     attempt: attempt, correlationId: correlation)
}

private func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("patchbay-sink-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

private func text(of url: URL) throws -> String {
    String(decoding: try Data(contentsOf: url), as: UTF8.self)
}

// MARK: - HTTP

@Suite("HTTP sink")
struct HTTPSinkTests {
    @Test func requestCarriesTheDeliveryHeadersAndPayload() async throws {
        let transport = FakeTransport(status: 200, body: "ok")
        let sink = HTTPSink(url: "https://api.example.com/orders", headers: ["X-Tenant": "acme"],
                            timeout: .seconds(7), transport: transport)
        let result = await sink.deliver(delivery(correlation: "corr-1"))
        #expect(result == .success(status: 200, excerpt: "ok"))

        let request = try #require(transport.log.requests.first)
        #expect(transport.log.requests.count == 1)
        #expect(transport.log.timeouts == [.seconds(7)])
        #expect(request.method == "POST")
        #expect(request.url == "https://api.example.com/orders")
        #expect(request.body == Array(#"{"id":"A-1","total":"12.50"}"#.utf8))
        #expect(request.headers["Idempotency-Key"] == "evt-42")
        #expect(request.headers["X-Patchbay-Event-Id"] == "7")
        #expect(request.headers["X-Patchbay-Topic"] == "order_created")
        #expect(request.headers["X-Patchbay-Attempt"] == "3")
        #expect(request.headers["X-Correlation-Id"] == "corr-1")
        #expect(request.headers["Content-Type"] == "application/json")
        #expect(request.headers["Accept"] == "application/json")
        #expect(request.headers["X-Tenant"] == "acme")
    }

    @Test func methodIdempotencyHeaderAndTransform() async throws {
        let transport = FakeTransport(status: 201)
        let sink = HTTPSink(url: "https://api.example.com/orders/1", method: "PUT",
                            headers: ["Content-Type": "application/vnd.api+json"], transform: WrapTransform(),
                            idempotencyHeader: "X-Request-Id", transport: transport)
        let result = await sink.deliver(delivery(payload: #"{"n":1}"#, correlation: nil))
        #expect(result == .success(status: 201, excerpt: nil))
        let request = try #require(transport.log.requests.first)
        #expect(request.method == "PUT")
        #expect(request.headers["X-Request-Id"] == "evt-42")
        #expect(request.headers["Idempotency-Key"] == nil)
        #expect(request.headers["X-Correlation-Id"] == nil)
        // A configured Content-Type is kept.
        #expect(request.headers["Content-Type"] == "application/vnd.api+json")
        #expect(String(decoding: request.body, as: UTF8.self) == #"{"wrapped":{"n":1},"topic":"order_created"}"#)
    }

    @Test func sameKeyOnEveryAttempt() async throws {
        let transport = FakeTransport(status: 500)
        let sink = HTTPSink(url: "https://api.example.com/x", transport: transport)
        _ = await sink.deliver(delivery(attempt: 1))
        _ = await sink.deliver(delivery(attempt: 2))
        let requests = transport.log.requests
        #expect(requests.map { $0.headers["Idempotency-Key"] } == ["evt-42", "evt-42"])
        #expect(requests.map { $0.headers["X-Patchbay-Attempt"] } == ["1", "2"])
    }

    @Test func anyTwoHundredIsDelivered() async {
        for status in [200, 201, 202, 204, 299] {
            let sink = HTTPSink(url: "https://x.example/", transport: FakeTransport(status: status, body: #"{"id":1}"#))
            let result = await sink.deliver(delivery())
            #expect(result == .success(status: status, excerpt: #"{"id":1}"#))
            #expect(FailureClassifier.classify(result) == .delivered)
        }
    }

    @Test func tooManyRequestsWithRetryAfter() async {
        let sink = HTTPSink(url: "https://x.example/",
                            transport: FakeTransport(status: 429, headers: ["retry-after": "30"], body: "slow down"))
        let result = await sink.deliver(delivery())
        #expect(result == .httpError(status: 429, message: "slow down (retry after 30 s)", retryAfter: 30, excerpt: "slow down"))
        #expect(FailureClassifier.classify(result) == .retryable(retryAfter: 30))
    }

    @Test func tooManyRequestsWithEmptyBody() async {
        let sink = HTTPSink(url: "https://x.example/", transport: FakeTransport(status: 429, headers: ["Retry-After": "5"]))
        let result = await sink.deliver(delivery())
        #expect(result == .httpError(status: 429, message: "retry after 5 s", retryAfter: 5, excerpt: nil))
    }

    @Test func rateLimitDescription() async {
        var sink = HTTPSink(url: "https://x.example/",
                            transport: FakeTransport(status: 429, headers: ["Retry-After": "60", "X-Rate-Limit-Problem": "minute"]))
        sink.describeRateLimit = { headers in headers["X-Rate-Limit-Problem"].map { "\($0) limit" } }
        let result = await sink.deliver(delivery())
        #expect(result == .httpError(status: 429, message: "minute limit (retry after 60 s)", retryAfter: 60, excerpt: nil))
    }

    @Test func serviceUnavailable() async {
        let withHeader = HTTPSink(url: "https://x.example/",
                                  transport: FakeTransport(status: 503, headers: ["Retry-After": "120"], body: "maintenance\nback soon"))
        let result = await withHeader.deliver(delivery())
        #expect(result == .httpError(status: 503, message: "maintenance (retry after 120 s)", retryAfter: 120,
                                     excerpt: "maintenance\nback soon"))
        #expect(FailureClassifier.classify(result) == .retryable(retryAfter: 120))

        let without = HTTPSink(url: "https://x.example/", transport: FakeTransport(status: 503, body: "down"))
        let plain = await without.deliver(delivery())
        #expect(plain == .httpError(status: 503, message: "down", retryAfter: nil, excerpt: "down"))
        #expect(FailureClassifier.classify(plain) == .retryable(retryAfter: nil))
    }

    @Test func retryAfterIsOnlyTakenFrom429And503() async {
        let sink = HTTPSink(url: "https://x.example/",
                            transport: FakeTransport(status: 500, headers: ["Retry-After": "10"], body: "boom"))
        let result = await sink.deliver(delivery())
        guard case .httpError(500, let message, _, _) = result else { Issue.record("\(result)"); return }
        #expect(message == "boom")
        #expect(FailureClassifier.classify(result) == .retryable(retryAfter: nil))
    }

    @Test func badRequestWithAJSONError() async {
        let body = #"{"error":"insufficient stock","sku":"X"}"#
        let sink = HTTPSink(url: "https://x.example/", transport: FakeTransport(status: 400, body: body))
        let result = await sink.deliver(delivery())
        #expect(result == .httpError(status: 400, message: "insufficient stock (sku X)", retryAfter: nil, excerpt: body))
        #expect(FailureClassifier.classify(result) == .permanent(pauseConnector: false))
    }

    @Test func errorBodiesOfOtherShapes() {
        func message(_ body: String) -> String? { HTTPSink.problemMessage(Array(body.utf8)) }
        #expect(message(#"{"message":"nope","code":42}"#) == "nope (code 42)")
        #expect(message(#"{"error":{"message":"bad token","type":"auth"}}"#) == "bad token")
        #expect(message(#"{"title":"Invalid","detail":"total must be positive","status":422}"#) == "total must be positive (status 422)")
        #expect(message(#"{"unrelated":"x"}"#) == nil)
        #expect(message("not json") == nil)
        #expect(message("[1,2]") == nil)
    }

    @Test func goneIsPermanentAndPausesTheConnector() async {
        let sink = HTTPSink(url: "https://x.example/", transport: FakeTransport(status: 410, body: "gone"))
        let result = await sink.deliver(delivery())
        #expect(FailureClassifier.classify(result) == .permanent(pauseConnector: true))
    }

    @Test func transportTimeout() async {
        let sink = HTTPSink(url: "https://x.example/", timeout: .milliseconds(2500),
                            transport: FakeTransport { _ in .failure(.timeout) })
        let result = await sink.deliver(delivery())
        #expect(result == .timeout(after: 2.5))
        #expect(FailureClassifier.classify(result) == .retryable(retryAfter: nil))
    }

    @Test func connectionError() async {
        let sink = HTTPSink(url: "https://x.example/",
                            transport: FakeTransport { _ in .failure(.connection("connection refused")) })
        let result = await sink.deliver(delivery())
        #expect(result == .connectionError("connection refused"))
        #expect(FailureClassifier.classify(result) == .retryable(retryAfter: nil))
    }

    @Test func transformErrorIsPermanentAndSendsNothing() async {
        let transport = FakeTransport(status: 200)
        let sink = HTTPSink(url: "https://x.example/", transform: WrapTransform(), transport: transport)
        let result = await sink.deliver(delivery(payload: #"{"refuse":true}"#))
        guard case .permanentError(let message) = result else { Issue.record("\(result)"); return }
        #expect(message.contains("$.total: is not a number"))
        #expect(transport.log.requests.isEmpty)
    }

    @Test func excerptsAreSanitized() async throws {
        let hostile = "\u{1B}[2J\u{1B}]0;owned\u{07}error: \u{1B}[31mred\u{1B}[0m"
        let sink = HTTPSink(url: "https://x.example/", transport: FakeTransport(status: 500, body: hostile))
        let result = await sink.deliver(delivery())
        guard case .httpError(500, let message, nil, let excerpt) = result else { Issue.record("\(result)"); return }
        let shown = try #require(excerpt)
        #expect(!shown.contains("\u{1B}"))
        #expect(!shown.contains("\u{07}"))
        #expect(shown.contains("error: "))
        #expect(!message.contains("\u{1B}"))

        // Also on success, and in a message read from JSON.
        let ok = HTTPSink(url: "https://x.example/", transport: FakeTransport(status: 200, body: "done\u{1B}[1A"))
        guard case .success(_, let okExcerpt) = await ok.deliver(delivery()) else { Issue.record("not delivered"); return }
        #expect(okExcerpt?.contains("\u{1B}") == false)
        let json = HTTPSink(url: "https://x.example/",
                            transport: FakeTransport(status: 422, body: #"{"error":"bad\u001b[31m value"}"#))
        guard case .httpError(_, let jsonMessage, _, _) = await json.deliver(delivery()) else { Issue.record("no error"); return }
        #expect(!jsonMessage.contains("\u{1B}"))
        #expect(jsonMessage.contains("bad"))
    }

    @Test func excerptIsBoundedAndNotValidUTF8IsReplaced() {
        let long = Array(repeating: UInt8(ascii: "a"), count: 1000)
        let excerpt = HTTPSink.excerpt(long, limit: 512)
        #expect(excerpt?.hasSuffix("…") == true)
        #expect(excerpt?.count == 513)
        #expect(HTTPSink.excerpt([], limit: 10) == nil)
        let invalid = HTTPSink.excerpt([0x66, 0xFF, 0x6F], limit: 10)
        #expect(invalid?.hasPrefix("f") == true)
        #expect(invalid?.hasSuffix("o") == true)
    }

    @Test func builtFromConfigurationUsesTheGivenTransport() async throws {
        let transport = FakeTransport(status: 202)
        let context = ModuleContext(environment: ["TOKEN": "abc"], baseDirectory: URL(fileURLWithPath: "/tmp"),
                                    transport: transport)
        let config = try HubConfig.parse(yaml: """
            connectors:
              target:
                module: http
                url: https://api.example.com/in
                headers: {Authorization: "Bearer ${TOKEN}"}
                idempotency_header: X-Idempotency
                subscribe: ["*"]
            """, file: "t.yaml", context: context)
        guard case .sink(let sink) = try #require(config.connector(named: "target")).built else {
            Issue.record("not a sink"); return
        }
        #expect(await sink.deliver(delivery()) == .success(status: 202, excerpt: nil))
        let request = try #require(transport.log.requests.first)
        #expect(request.headers["Authorization"] == "Bearer abc")
        #expect(request.headers["X-Idempotency"] == "evt-42")
    }

    @Test func checkedOnlyConfigurationNeverSends() async throws {
        let config = try HubConfig.parse(yaml: """
            connectors:
              target:
                module: http
                url: https://api.example.com/in
                subscribe: ["*"]
            """, file: "t.yaml", context: ModuleContext(environment: [:], baseDirectory: URL(fileURLWithPath: "/tmp"),
                                                         transport: nil))
        guard case .sink(let sink) = try #require(config.connector(named: "target")).built else {
            Issue.record("not a sink"); return
        }
        guard case .connectionError = await sink.deliver(delivery()) else { Issue.record("sent"); return }
    }
}

// MARK: - File

@Suite("File sink")
struct FileSinkTests {
    @Test func jsonLinesRecords() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sink = FileSink(directory: directory.appendingPathComponent("out"), prefix: "warehouse", format: .jsonl)
        let url = sink.fileURL(for: Date())
        #expect(url.lastPathComponent == "warehouse-\(Date().isoDay).jsonl")

        let first = await sink.deliver(delivery(payload: #"{"id":"A-1","total":12.5}"#))
        #expect(first == .success(status: nil, excerpt: url.lastPathComponent))
        let second = await sink.deliver(delivery(payload: #"{"id":"A-2","lines":[1,2]}"#, key: "evt-43", eventId: 8, deliveryId: 12))
        #expect(second == .success(status: nil, excerpt: url.lastPathComponent))

        let lines = try text(of: url).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 3)
        #expect(lines.last == "")
        let record = try #require(JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(record["delivery_id"] as? Int == 11)
        #expect(record["event_id"] as? Int == 7)
        #expect(record["topic"] as? String == "order_created")
        #expect(record["idempotency_key"] as? String == "evt-42")
        let payload = try #require(record["payload"] as? [String: Any])
        #expect(payload["id"] as? String == "A-1")
        #expect(payload["total"] as? Double == 12.5)
        let record2 = try #require(JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
        #expect(record2["idempotency_key"] as? String == "evt-43")
    }

    @Test func csvHeaderOnceQuotingAndDottedColumns() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sink = FileSink(directory: directory, prefix: "orders", format: .csv,
                            columns: ["id", "customer.name", "total", "note", "lines.1.sku", "missing", "tags"])
        let a = #"{"id":"A-1","customer":{"name":"Delacroix & Fils, SA"},"total":-12.5,"note":"says \"hi\"\nbye","lines":[{"sku":"X"},{"sku":"Y"}],"tags":["a","b"]}"#
        let b = #"{"id":"=HYPERLINK(\"http://evil\")","customer":{"name":"@SUM(A1)"},"total":"+1-2","note":"-rm","lines":[]}"#
        #expect(await sink.deliver(delivery(payload: a)) == .success(status: nil, excerpt: sink.fileURL(for: Date()).lastPathComponent))
        #expect(await sink.deliver(delivery(payload: b, key: "evt-43", eventId: 8, deliveryId: 12))
                == .success(status: nil, excerpt: sink.fileURL(for: Date()).lastPathComponent))

        let content = try text(of: sink.fileURL(for: Date()))
        let expected = "delivery_id,event_id,topic,idempotency_key,id,customer.name,total,note,lines.1.sku,missing,tags\r\n"
            + "11,7,order_created,evt-42,A-1,\"Delacroix & Fils, SA\",-12.5,\"says \"\"hi\"\"\nbye\",Y,,\"[\"\"a\"\",\"\"b\"\"]\"\r\n"
            + "12,8,order_created,evt-43,\"'=HYPERLINK(\"\"http://evil\"\")\",'@SUM(A1),'+1-2,'-rm,,,\r\n"
        #expect(content == expected)
        // The header is written once.
        #expect(content.components(separatedBy: "delivery_id,").count == 2)
    }

    @Test func csvHeaderIsNotRepeatedByANewSinkOnTheSameFile() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for key in ["k1", "k2"] {
            let sink = FileSink(directory: directory, prefix: "p", format: .csv, columns: ["id"])
            _ = await sink.deliver(delivery(payload: #"{"id":1}"#, key: key))
        }
        let content = try text(of: FileSink(directory: directory, prefix: "p", format: .csv).fileURL(for: Date()))
        #expect(content == "delivery_id,event_id,topic,idempotency_key,id\r\n11,7,order_created,k1,1\r\n11,7,order_created,k2,1\r\n")
    }

    @Test func csvWithoutColumnsKeepsThePayload() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sink = FileSink(directory: directory, prefix: "raw", format: .csv)
        _ = await sink.deliver(delivery(payload: #"{"a":1,"b":"x"}"#))
        let content = try text(of: sink.fileURL(for: Date()))
        #expect(content == "delivery_id,event_id,topic,idempotency_key,payload\r\n11,7,order_created,evt-42,\"{\"\"a\"\":1,\"\"b\"\":\"\"x\"\"}\"\r\n")
    }

    @Test func csvFieldGuard() {
        #expect(FileSink.csvField("plain") == "plain")
        #expect(FileSink.csvField("-12.5") == "-12.5")
        #expect(FileSink.csvField("+3") == "+3")
        #expect(FileSink.csvField("=1+1") == "'=1+1")
        #expect(FileSink.csvField("@x") == "'@x")
        #expect(FileSink.csvField("-x") == "'-x")
        #expect(FileSink.csvField("a,b") == "\"a,b\"")
        #expect(FileSink.csvField("=a,b") == "\"'=a,b\"")
        #expect(FileSink.csvField("line\rbreak") == "\"line\rbreak\"")
        #expect(FileSink.csvField("") == "")
    }

    @Test func nonJSONPayloadIsPermanentAndWritesNothing() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for format in FileSink.Format.allCases {
            let sink = FileSink(directory: directory, prefix: "x", format: format)
            let result = await sink.deliver(delivery(payload: "not json {"))
            #expect(result == .permanentError("the payload is not JSON"))
            #expect(FailureClassifier.classify(result) == .permanent(pauseConnector: false))
            #expect(!FileManager.default.fileExists(atPath: sink.fileURL(for: Date()).path))
        }
    }

    @Test func transformIsAppliedAndItsErrorIsPermanent() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sink = FileSink(directory: directory, prefix: "t", format: .jsonl, transform: WrapTransform())
        _ = await sink.deliver(delivery(payload: #"{"n":1}"#))
        let line = try text(of: sink.fileURL(for: Date()))
        #expect(line.contains(#""payload":{"topic":"order_created","wrapped":{"n":1}}"#))
        guard case .permanentError(let message) = await sink.deliver(delivery(payload: #"{"refuse":1}"#)) else {
            Issue.record("not permanent"); return
        }
        #expect(message.contains("is not a number"))
    }

    @Test func unwritableDirectoryIsTransient() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let blocker = directory.appendingPathComponent("blocker")
        try Data("x".utf8).write(to: blocker)
        let sink = FileSink(directory: blocker.appendingPathComponent("sub"), prefix: "x", format: .jsonl)
        let result = await sink.deliver(delivery())
        guard case .transientError(let message) = result else { Issue.record("\(result)"); return }
        #expect(message.hasPrefix("cannot write"))
    }

    @Test func concurrentDeliveriesNeverInterleave() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sink = FileSink(directory: directory, prefix: "c", format: .csv, columns: ["n", "pad"])
        let pad = String(repeating: "x", count: 5000)
        await withTaskGroup(of: Void.self) { group in
            for n in 0..<40 {
                group.addTask { _ = await sink.deliver(delivery(payload: "{\"n\":\(n),\"pad\":\"\(pad)\"}", key: "k\(n)")) }
            }
        }
        let lines = try text(of: sink.fileURL(for: Date())).components(separatedBy: "\r\n").dropLast()
        #expect(lines.count == 41)
        #expect(lines.dropFirst().allSatisfy { $0.hasSuffix(pad) && $0.hasPrefix("11,7,order_created,k") })
    }
}

// MARK: - Exec

@Suite("Exec sink")
struct ExecSinkTests {
    @Test func payloadOnStdinAndEnvironment() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("stdin.json")
        let sink = ExecSink(command: ["/bin/sh", "-c",
                                      #"cat > "$1"; printf '%s|%s|%s|%s|%s' "$PATCHBAY_EVENT_ID" "$PATCHBAY_TOPIC" "$PATCHBAY_IDEMPOTENCY_KEY" "$PATCHBAY_DELIVERY_ID" "$PATCHBAY_ATTEMPT""#,
                                      "sh", out.path])
        let payload = #"{"id":"A-1","note":"ünïcode"}"#
        let result = await sink.deliver(delivery(payload: payload))
        #expect(result == .success(status: nil, excerpt: "7|order_created|evt-42|11|3"))
        #expect(try text(of: out) == payload)
    }

    @Test func transformedPayloadAndWorkingDirectory() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sink = ExecSink(command: ["/bin/sh", "-c", "cat > got.json"], transform: WrapTransform(),
                            workingDirectory: directory)
        #expect(await sink.deliver(delivery(payload: #"{"n":1}"#)) == .success(status: nil, excerpt: nil))
        #expect(try text(of: directory.appendingPathComponent("got.json")) == #"{"wrapped":{"n":1},"topic":"order_created"}"#)
        guard case .permanentError = await sink.deliver(delivery(payload: #"{"refuse":1}"#)) else {
            Issue.record("a transform error is not permanent"); return
        }
    }

    @Test func dataErrorExitIsPermanent() async {
        let sink = ExecSink(command: ["/bin/sh", "-c", "cat >/dev/null; echo 'bad input' >&2; exit 65"])
        let result = await sink.deliver(delivery())
        #expect(result == .permanentError("sh exited with status 65: bad input"))
    }

    @Test func otherExitIsTransientWithTheLastStderrLine() async {
        let sink = ExecSink(command: ["/bin/sh", "-c", "echo first >&2; echo 'database \u{1B}[31mlocked' >&2; exit 1"])
        let result = await sink.deliver(delivery())
        guard case .transientError(let message) = result else { Issue.record("\(result)"); return }
        #expect(message.hasPrefix("sh exited with status 1: database "))
        #expect(message.hasSuffix("locked"))
        #expect(!message.contains("first"))
        #expect(!message.contains("\u{1B}"))
        #expect(FailureClassifier.classify(result) == .retryable(retryAfter: nil))
    }

    @Test func permanentExitCodesAreConfigurable() async {
        let sink = ExecSink(command: ["/bin/sh", "-c", "exit 3"], permanentExitCodes: [3])
        #expect(await sink.deliver(delivery()) == .permanentError("sh exited with status 3"))
        let default65 = ExecSink(command: ["/bin/sh", "-c", "exit 65"], permanentExitCodes: [3])
        #expect(await default65.deliver(delivery()) == .transientError("sh exited with status 65"))
    }

    @Test func timeoutStopsTheCommand() async {
        let sink = ExecSink(command: ["/bin/sleep", "5"], timeout: .milliseconds(500))
        let clock = ContinuousClock()
        let started = clock.now
        let result = await sink.deliver(delivery())
        let elapsed = started.duration(to: clock.now)
        #expect(result == .transientError("sleep ran past its 500ms timeout and was stopped"))
        #expect(FailureClassifier.classify(result) == .retryable(retryAfter: nil))
        _ = elapsed
        // SIGTERM works (the child gets a clean signal mask): well before the 2 s SIGKILL grace.
        let (_, direct) = timedRun(["/bin/sleep", "5"], timeout: 0.5)
        #expect(direct < .seconds(1.5), "took \(direct)")
    }

    @Test func shellCommandTimeout() async {
        let sink = ExecSink(command: ["/bin/sh", "-c", "sleep 5"], timeout: .milliseconds(500))
        let clock = ContinuousClock()
        let started = clock.now
        let result = await sink.deliver(delivery())
        let elapsed = started.duration(to: clock.now)
        guard case .transientError(let message) = result else { Issue.record("\(result)"); return }
        #expect(message.contains("timeout"))
        #expect(message.contains("500ms"), "\(message)")
        _ = elapsed
        // The whole process group is stopped, `sleep` included: nothing holds the pipes for 5 s.
        let (_, direct) = timedRun(["/bin/sh", "-c", "sleep 5"], timeout: 0.5)
        #expect(direct < .seconds(1.5), "took \(direct)")
    }

    @Test func backgroundGrandchildDoesNotHangTheDelivery() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let pidFile = directory.appendingPathComponent("pid")
        let sink = ExecSink(command: ["/bin/sh", "-c", #"sleep 30 & echo $! > "$1"; wait"#, "sh", pidFile.path],
                            timeout: .milliseconds(300))
        let clock = ContinuousClock()
        let started = clock.now
        let result = await sink.deliver(delivery())
        let elapsed = started.duration(to: clock.now)
        // The grandchild went with the command's process group (a zombie reaped by init at worst).
        if let text = try? String(contentsOf: pidFile, encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            try await Task.sleep(for: .milliseconds(100))
            let state = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?.split(separator: " ").dropFirst(2).first
            #expect(state == nil || state == "Z", "grandchild \(pid) still running: \(state ?? "")")
            kill(pid, SIGKILL)
        }
        guard case .transientError(let message) = result else { Issue.record("\(result)"); return }
        #expect(message.contains("timeout"))
        _ = elapsed
        // The background grandchild is in the command's process group and goes with it.
        let (_, direct) = timedRun(["/bin/sh", "-c", "sleep 30 & wait"], timeout: 0.3)
        #expect(direct < .seconds(1.5), "took \(direct)")
    }

    @Test func commandIgnoringTermIsKilled() async {
        let sink = ExecSink(command: ["/bin/sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"], timeout: .milliseconds(200))
        let clock = ContinuousClock()
        let started = clock.now
        let result = await sink.deliver(delivery())
        let elapsed = started.duration(to: clock.now)
        guard case .transientError(let message) = result else { Issue.record("\(result)"); return }
        #expect(message.contains("timeout"))
        _ = elapsed
        // 0.2 s, then 2 s of grace before SIGKILL.
        let (_, direct) = timedRun(["/bin/sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"], timeout: 0.2)
        #expect(direct < .seconds(4), "took \(direct)")
    }

    @Test func nonexistentProgramIsAnError() async {
        let absolute = ExecSink(command: ["/nonexistent/patchbay-no-such-program"])
        let result = await absolute.deliver(delivery())
        guard case .permanentError(let message) = result else { Issue.record("\(result)"); return }
        #expect(message.hasPrefix("cannot run patchbay-no-such-program"))

        // Looked up in PATH: not found is permanent too, with the name.
        let onPath = ExecSink(command: ["patchbay-no-such-program"])
        let viaPath = await onPath.deliver(delivery())
        #expect(viaPath == .permanentError("cannot run patchbay-no-such-program: patchbay-no-such-program was not found in PATH"))
    }

    @Test func commandThatIgnoresItsInputStillCompletes() async {
        let big = "{\"pad\":\"" + String(repeating: "x", count: 1 << 20) + "\"}"
        let sink = ExecSink(command: ["/bin/true"])
        #expect(await sink.deliver(delivery(payload: big)) == .success(status: nil, excerpt: nil))
    }

    @Test func largeOutputIsCappedAndDoesNotBlock() async {
        let sink = ExecSink(command: ["/bin/sh", "-c", "head -c 300000 /dev/zero | tr '\\0' 'y'; head -c 300000 /dev/zero | tr '\\0' 'z' >&2"])
        let result = await sink.deliver(delivery())
        guard case .success(nil, let excerpt?) = result else { Issue.record("\(result)"); return }
        #expect(excerpt.hasPrefix("yyyy"))
        #expect(excerpt.count == 513)
    }
}

/// How long the child process machinery takes for a command, measured on this thread: the
/// sink-level tests' own clocks also count waiting for a cooperative thread, which a busy parallel
/// test run can hold for a minute.
func timedRun(_ command: [String], timeout: TimeInterval) -> (ChildProcess.Result, Duration) {
    let clock = ContinuousClock()
    let started = clock.now
    let result = ChildProcess.runBlocking(command, input: Array("{}".utf8), environment: ProcessInfo.processInfo.environment,
                                          directory: nil, timeout: timeout)
    return (result, started.duration(to: clock.now))
}
