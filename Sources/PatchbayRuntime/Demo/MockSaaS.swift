import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// The SaaS systems the demo's hub talks to, served on 127.0.0.1 by the demo itself, each with the
/// habits of the real thing, so every panel of the dashboard has something to show:
///
/// - `/xero/api.xro/2.0/Invoices`: a minute limit (429 with `Retry-After` and `X-Rate-Limit-Problem`),
///   and a `ValidationException` for one customer whose account code is wrong;
/// - `/erp/...`: an outage of 40 s every 4 minutes, the first 3 s after the mocks start (503 with
///   `Retry-After`), long enough for the ERP sink's breaker to open and its alert to fire;
/// - `/slack/services/...`: a Slack incoming webhook that keeps the messages (`ok`, as Slack answers);
/// - `/inventory/reservations`: 409 for a product out of stock (dead at once);
/// - `/shipping/labels`: slow (100–700 ms) with 4 % 500s;
/// - `/warehouse/...`, `/crm/...`, `/accounting/...`: mostly fine, a 502 now and then.
///
/// Every endpoint remembers the `Idempotency-Key`s it has seen, answering a repeat as the first time.
public final class MockSaaS: Sendable {
    let state = MockState()
    public let port: Int
    private let application: Application<RouterResponder<BasicRequestContext>>

    /// Binds now (port 0 picks a free port) so the hub's configuration can name the port.
    public init(port: Int = 0, logger: Logger) throws {
        let chosen = port == 0 ? try Self.freePort() : port
        self.port = chosen
        let router = Router()
        let state = self.state
        router.post("/xero/api.xro/2.0/Invoices") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            return state.xero(body: Array(buffer: body), key: request.headers[HTTPField.Name("Idempotency-Key")!])
        }
        router.post("/inventory/reservations") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            let text = String(buffer: body)
            if text.contains("POT-CER-1L") {
                return Self.json(409, #"{"error":"insufficient stock","sku":"POT-CER-1L","available":0}"#)
            }
            return state.accept("inventory", key: request.headers[HTTPField.Name("Idempotency-Key")!])
        }
        router.post("/shipping/labels") { request, _ in
            _ = try await request.body.collect(upTo: 1 << 20)
            try await Task.sleep(for: .milliseconds(Int.random(in: 100...700)))
            if Double.random(in: 0..<1) < 0.04 { return Self.json(500, #"{"error":"label printer offline"}"#) }
            return state.accept("shipping", key: request.headers[HTTPField.Name("Idempotency-Key")!])
        }
        let started = Date()
        router.post("/erp/{resource}") { request, _ in
            _ = try await request.body.collect(upTo: 1 << 20)
            // 40 s down every 4 minutes, from 3 s after the start.
            if (Int(Date().timeIntervalSince(started)) + 237) % 240 < 40 {
                var response = Self.json(503, #"{"error":"ERP maintenance window","code":"MAINT"}"#)
                response.headers[.retryAfter] = "20"
                return response
            }
            return state.accept("erp", key: request.headers[HTTPField.Name("Idempotency-Key")!])
        }
        for system in ["warehouse", "crm", "accounting"] {
            router.post("/\(system)/{resource}") { request, _ in
                _ = try await request.body.collect(upTo: 1 << 20)
                if Double.random(in: 0..<1) < 0.02 { return Self.json(502, "<html><body>Bad Gateway</body></html>") }
                return state.accept(system, key: request.headers[HTTPField.Name("Idempotency-Key")!])
            }
        }
        router.post("/slack/services/{team}/{bot}/{token}") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            let text = (try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any])?["text"] as? String
            guard let text else { return Response(status: .badRequest, body: .init(byteBuffer: ByteBuffer(string: "invalid_payload"))) }
            state.slack(text)
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ok")))
        }
        router.get("/stats") { _, _ in Self.json(200, state.statsJSON()) }
        var quiet = logger
        quiet.logLevel = .warning
        application = Application(router: router,
                                  configuration: .init(address: .hostname("127.0.0.1", port: chosen), serverName: "mock-saas"),
                                  logger: quiet)
    }

    public var service: some Service { application }

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// What each mock system has accepted (first deliveries, not repeats).
    public func accepted(_ system: String) -> Int { state.count(system) }
    public func repeats(_ system: String) -> Int { state.repeatCount(system) }
    /// The messages the mock Slack received, oldest first.
    public var slackMessages: [String] { state.slackMessages }

    static func json(_ status: Int, _ body: String, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = body.hasPrefix("<") ? "text/html" : "application/json"
        return Response(status: .init(code: status), headers: fields, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// A port the kernel says is free now.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// The mocks' memory: idempotency keys seen, counts, Xero's minute budget.
final class MockState: @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [String: Set<String>] = [:]
    private var counts: [String: Int] = [:]
    private var repeats: [String: Int] = [:]
    private var xeroWindow = 0
    private var xeroUsed = 0
    /// Xero allows 60 calls a minute; the demo's Xero allows 20, so the limit shows.
    let xeroPerMinute = 20

    func accept(_ system: String, key: String?) -> Response {
        let first = record(system, key: key)
        return MockSaaS.json(first ? 201 : 200, #"{"status":"\#(first ? "created" : "already processed")"}"#)
    }

    func xero(body: [UInt8], key: String?) -> Response {
        let minute = Int(Date().timeIntervalSince1970 / 60)
        let limited: Int? = lock.withLock {
            if minute != xeroWindow { xeroWindow = minute; xeroUsed = 0 }
            xeroUsed += 1
            return xeroUsed > xeroPerMinute ? 60 - Int(Date().timeIntervalSince1970) % 60 : nil
        }
        if let wait = limited {
            return MockSaaS.json(429, "", headers: [
                .retryAfter: String(max(1, wait)), HTTPField.Name("X-Rate-Limit-Problem")!: "minute",
                HTTPField.Name("X-MinLimit-Remaining")!: "0",
            ])
        }
        let text = String(decoding: body, as: UTF8.self)
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let invoices = object["Invoices"] as? [[String: Any]], let invoice = invoices.first else {
            return MockSaaS.json(400, #"{"ErrorNumber":14,"Type":"PostDataInvalidException","Message":"The request body is not a valid Invoices document"}"#)
        }
        let number = invoice["InvoiceNumber"] as? String ?? "?"
        if text.contains("Kettle Yard Roasters") {
            return MockSaaS.json(400, #"{"ErrorNumber":10,"Type":"ValidationException","Message":"A validation exception occurred","Elements":[{"Type":"ACCREC","InvoiceNumber":"\#(number)","ValidationErrors":[{"Message":"Account code '2000' is not a valid code for this document."}]}]}"#)
        }
        _ = record("xero", key: key)
        return MockSaaS.json(200, #"{"Status":"OK","Invoices":[{"Type":"ACCREC","InvoiceID":"\#(UUID().uuidString.lowercased())","InvoiceNumber":"\#(number)","Status":"AUTHORISED"}]}"#)
    }

    /// True the first time a key is seen.
    private func record(_ system: String, key: String?) -> Bool {
        lock.withLock {
            if let key, !seen[system, default: []].insert(key).inserted {
                repeats[system, default: 0] += 1
                return false
            }
            counts[system, default: 0] += 1
            return true
        }
    }

    private var slackTexts: [String] = []
    func slack(_ text: String) { lock.withLock { slackTexts.append(text) } }
    var slackMessages: [String] { lock.withLock { slackTexts } }

    func count(_ system: String) -> Int { lock.withLock { counts[system] ?? 0 } }
    func repeatCount(_ system: String) -> Int { lock.withLock { repeats[system] ?? 0 } }

    func statsJSON() -> String {
        lock.withLock {
            let data = try? JSONSerialization.data(withJSONObject: ["accepted": counts, "repeats": repeats], options: [.sortedKeys])
            return data.map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        }
    }
}
