import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PatchbayStore
import ServiceLifecycle

/// The SaaS systems the demo's hub talks to, served on 127.0.0.1 by the demo itself, each with the
/// habits of the real thing, so every panel of the dashboard has something to show:
///
/// - `/xero/identity/connect/token`: Xero's token endpoint. Access tokens last `xeroTokenLifetime`
///   (3 minutes, where Xero's last 30, so the hub's refreshes show within a demo); refresh tokens
///   rotate on every use, the previous one good for a grace period; `client_credentials` for the
///   custom connection the pull uses. A missing, unknown or expired access token is a 401;
/// - `/xero/api.xro/2.0/Invoices`: POST creates invoices, with a minute limit (429 with `Retry-After`
///   and `X-Rate-Limit-Problem`) and a `ValidationException` for one customer whose account code is
///   wrong; GET lists them back (`Statuses`, `page`, `pageSize`, `If-Modified-Since`), as
///   `xero-invoices-pull` reads them; `/CreditNotes` lists none. Every answer carries Xero's quota
///   headers (`X-DayLimit-Remaining`, `X-MinLimit-Remaining`, `X-AppMinLimit-Remaining`);
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
        router.post("/xero/identity/connect/token") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 16)
            return state.xeroToken(authorization: request.headers[.authorization], form: String(buffer: body))
        }
        router.post("/xero/api.xro/2.0/Invoices") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            return state.xeroAPI(authorization: request.headers[.authorization]) {
                state.xero(body: Array(buffer: body), key: request.headers[HTTPField.Name("Idempotency-Key")!])
            }
        }
        // One route per list: a parameter beside the constant POST path would never be reached.
        for endpoint in ["Invoices", "CreditNotes"] {
            router.get("/xero/api.xro/2.0/\(endpoint)") { request, _ in
                let query = request.uri.queryParameters
                return state.xeroAPI(authorization: request.headers[.authorization]) {
                    state.xeroList(endpoint: endpoint, statuses: query["Statuses"].map(String.init) ?? "AUTHORISED",
                                   page: query["page"].flatMap { Int(String($0)) } ?? 1,
                                   pageSize: query["pageSize"].flatMap { Int(String($0)) } ?? 100,
                                   modifiedSince: request.headers[HTTPField.Name("If-Modified-Since")!])
                }
            }
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
        let text = String(decoding: body, as: UTF8.self)
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let invoices = object["Invoices"] as? [[String: Any]], let invoice = invoices.first else {
            return MockSaaS.json(400, #"{"ErrorNumber":14,"Type":"PostDataInvalidException","Message":"The request body is not a valid Invoices document"}"#)
        }
        let number = invoice["InvoiceNumber"] as? String ?? "?"
        if text.contains("Kettle Yard Roasters") {
            return MockSaaS.json(400, #"{"ErrorNumber":10,"Type":"ValidationException","Message":"A validation exception occurred","Elements":[{"Type":"ACCREC","InvoiceNumber":"\#(number)","ValidationErrors":[{"Message":"Account code '2000' is not a valid code for this document."}]}]}"#)
        }
        let id = UUID().uuidString.lowercased()
        if record("xero", key: key) { keep(invoice, id: id) }
        return MockSaaS.json(200, #"{"Status":"OK","Invoices":[{"Type":"ACCREC","InvoiceID":"\#(id)","InvoiceNumber":"\#(number)","Status":"AUTHORISED"}]}"#)
    }

    // MARK: Xero's OAuth 2.0 and limits

    /// How long the demo Xero's access tokens last (Xero's last 30 minutes).
    static let xeroTokenLifetime: TimeInterval = 180
    /// How long a rotated refresh token is still accepted (Xero documents 30 minutes).
    static let xeroRefreshGrace: TimeInterval = 1800
    private var xeroAccess: [String: Date] = [:]
    private var xeroRefresh: [String: Date] = [DemoConfig.secrets["DEMO_XERO_REFRESH_TOKEN"]!: .distantFuture]
    private var xeroIssued = 0
    private var xeroDay = 0
    private var xeroUsedToday = 0
    /// What the organisation already holds when the demo starts, then every invoice the hub creates.
    private var xeroInvoices: [(modified: Date, row: [String: Any])] = MockState.xeroOpeningBook(now: Date())

    /// The demo organisation's open receivables at the start: a dozen invoices and a credit-free
    /// spread of due dates from current to over 90 days late, in three currencies, so the pulled
    /// aging has something in every bucket. Fixed amounts: the same every run.
    static func xeroOpeningBook(now: Date) -> [(modified: Date, row: [String: Any])] {
        let book: [(String, String, Int, String)] = [
            ("Harbour Lights Bistro", "GBP", -12, "1840.50"), ("Harbour Lights Bistro", "GBP", 25, "612.00"),
            ("Northgate Deli Ltd", "GBP", 48, "2304.75"), ("Northgate Deli Ltd", "GBP", 97, "455.20"),
            ("Pine & Pestle Inc.", "USD", -5, "3120.00"), ("Pine & Pestle Inc.", "USD", 15, "987.40"),
            ("Lakeshore Pantry", "USD", 66, "1450.00"), ("Lakeshore Pantry", "USD", 130, "299.99"),
            ("Brasserie Lumière", "EUR", -20, "2760.00"), ("Brasserie Lumière", "EUR", 33, "1185.60"),
            ("Weingut Sonnenhang", "EUR", 72, "3399.00"), ("Weingut Sonnenhang", "EUR", 101, "720.35"),
        ]
        let day = 86_400.0
        return book.enumerated().map { index, entry in
            let (customer, currency, daysLate, amount) = entry
            let due = now.addingTimeInterval(-Double(daysLate) * day)
            let issued = due.addingTimeInterval(-30 * day)
            let total = NSDecimalNumber(string: amount)
            return (now.addingTimeInterval(-Double(daysLate + 30) * day), [
                "Type": "ACCREC", "InvoiceID": UUID().uuidString.lowercased(), "InvoiceNumber": "INV-\(7001 + index)",
                "Contact": ["Name": customer], "DateString": issued.isoDay + "T00:00:00", "DueDateString": due.isoDay + "T00:00:00",
                "Status": "AUTHORISED", "CurrencyCode": currency, "Total": total, "AmountDue": total, "AmountPaid": 0,
            ] as [String: Any])
        }
    }

    /// The token endpoint: the client by HTTP Basic, `refresh_token` (rotated) or `client_credentials`.
    func xeroToken(authorization: String?, form: String) -> Response {
        let client = "Basic " + Data("\(DemoConfig.secrets["DEMO_XERO_CLIENT_ID"]!):\(DemoConfig.secrets["DEMO_XERO_CLIENT_SECRET"]!)".utf8)
            .base64EncodedString()
        guard authorization == client else { return MockSaaS.json(401, #"{"error":"invalid_client"}"#) }
        let fields = Dictionary(form.split(separator: "&").compactMap { pair -> (String, String)? in
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
            return parts.count == 2 ? (parts[0], parts[1]) : nil
        }, uniquingKeysWith: { _, last in last })
        let now = Date()
        return lock.withLock {
            var refresh: String?
            switch fields["grant_type"] {
            case "refresh_token":
                guard let presented = fields["refresh_token"], let until = xeroRefresh[presented], until > now else {
                    return MockSaaS.json(400, #"{"error":"invalid_grant"}"#)
                }
                // Rotated: the one presented stays good for the grace period, the new one until used.
                xeroRefresh[presented] = min(until, now.addingTimeInterval(Self.xeroRefreshGrace))
                xeroIssued += 1
                refresh = "demo-xero-rt-\(xeroIssued)-\(UUID().uuidString.prefix(8))"
                xeroRefresh[refresh!] = .distantFuture
            case "client_credentials":
                xeroIssued += 1
            default:
                return MockSaaS.json(400, #"{"error":"unsupported_grant_type"}"#)
            }
            let access = "demo-xero-at-\(xeroIssued)-\(UUID().uuidString.prefix(8))"
            xeroAccess[access] = now.addingTimeInterval(Self.xeroTokenLifetime)
            xeroAccess = xeroAccess.filter { $0.value > now.addingTimeInterval(-60) }
            let rotated = refresh.map { #","refresh_token":"\#($0)""# } ?? ""
            return MockSaaS.json(200, #"{"access_token":"\#(access)","expires_in":\#(Int(Self.xeroTokenLifetime)),"token_type":"Bearer","scope":"accounting.transactions offline_access"\#(rotated)}"#)
        }
    }

    /// Xero's API around `answer`: a 401 without a good access token, the minute limit, the quota
    /// headers on every answer.
    func xeroAPI(authorization: String?, _ answer: () -> Response) -> Response {
        let now = Date()
        let bearer = authorization.flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        let minute = Int(now.timeIntervalSince1970 / 60)
        let day = Int(now.timeIntervalSince1970 / 86400)
        let (authorized, limited, headers): (Bool, Int?, HTTPFields) = lock.withLock {
            let authorized = bearer.flatMap { xeroAccess[$0] }.map { $0 > now } ?? false
            if minute != xeroWindow { xeroWindow = minute; xeroUsed = 0 }
            if day != xeroDay { xeroDay = day; xeroUsedToday = 0 }
            xeroUsed += 1
            xeroUsedToday += 1
            let limited = authorized && xeroUsed > xeroPerMinute ? 60 - Int(now.timeIntervalSince1970) % 60 : nil
            let headers: HTTPFields = [
                HTTPField.Name("X-DayLimit-Remaining")!: String(max(0, 5000 - xeroUsedToday)),
                HTTPField.Name("X-MinLimit-Remaining")!: String(max(0, xeroPerMinute - xeroUsed)),
                HTTPField.Name("X-AppMinLimit-Remaining")!: String(max(0, 10000 - xeroUsed)),
            ]
            return (authorized, limited, headers)
        }
        var response: Response
        if !authorized {
            response = MockSaaS.json(401, #"{"Type":null,"Title":"Unauthorized","Status":401,"Detail":"TokenExpired: token expired or unknown"}"#)
            response.headers[.wwwAuthenticate] = #"Bearer error="invalid_token""#
        } else if let wait = limited {
            response = MockSaaS.json(429, "")
            response.headers[.retryAfter] = String(max(1, wait))
            response.headers[HTTPField.Name("X-Rate-Limit-Problem")!] = "minute"
        } else {
            response = answer()
        }
        for field in headers { response.headers[field.name] = field.value }
        return response
    }

    /// Keeps a created invoice to list it back, as Xero does: its total from the lines.
    private func keep(_ invoice: [String: Any], id: String) {
        let lines = invoice["LineItems"] as? [[String: Any]] ?? []
        let cents = lines.reduce(0) { sum, line in
            let quantity = (line["Quantity"] as? NSNumber)?.doubleValue ?? 0
            let unit = (line["UnitAmount"] as? NSNumber)?.doubleValue ?? 0
            return sum + Int((quantity * unit * 100).rounded())
        }
        let total = NSDecimalNumber(value: cents).dividing(by: 100)
        let row: [String: Any] = [
            "Type": "ACCREC", "InvoiceID": id, "InvoiceNumber": invoice["InvoiceNumber"] as? String ?? "",
            "Contact": ["Name": (invoice["Contact"] as? [String: Any])?["Name"] as? String ?? ""],
            "DateString": (invoice["Date"] as? String ?? "") + "T00:00:00",
            "DueDateString": (invoice["DueDate"] as? String ?? "") + "T00:00:00",
            "Status": "AUTHORISED", "CurrencyCode": invoice["CurrencyCode"] as? String ?? "",
            "Total": total, "AmountDue": total, "AmountPaid": 0,
        ]
        lock.withLock { xeroInvoices.append((Date(), row)) }
    }

    /// `GET /Invoices` and `/CreditNotes` (none) a page at a time, `pagination` included.
    func xeroList(endpoint: String, statuses: String, page: Int, pageSize: Int, modifiedSince: String?) -> Response {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        let since = modifiedSince.flatMap { formatter.date(from: $0) }
        let wanted = Set(statuses.split(separator: ",").map(String.init))
        let rows = endpoint == "Invoices" ? lock.withLock { xeroInvoices } : []
        let listed = rows.filter { since == nil || $0.modified >= since! }.map(\.row)
            .filter { wanted.contains($0["Status"] as? String ?? "") }
        let size = max(1, min(pageSize, 1000))
        let slice = Array(listed.dropFirst((max(1, page) - 1) * size).prefix(size))
        let answer: [String: Any] = [
            "Id": UUID().uuidString, "Status": "OK", "ProviderName": "Patchbay demo",
            "pagination": ["page": page, "pageSize": size, "pageCount": (listed.count + size - 1) / size, "itemCount": listed.count],
            endpoint: slice,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: answer)) ?? Data("{}".utf8)
        return MockSaaS.json(200, String(decoding: data, as: UTF8.self))
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
