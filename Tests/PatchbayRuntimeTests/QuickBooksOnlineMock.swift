import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PatchbayConnectors
import PatchbayRuntime
import TestSupport

/// The QuickBooks Online Accounting API's query endpoint on 127.0.0.1, shaped as Intuit documents it:
/// `GET /v3/company/{realm}/query?query=select * from Invoice where Balance > '0' ORDERBY Id
/// STARTPOSITION 1 MAXRESULTS 100&minorversion=75`, answered with `{"QueryResponse": {"Invoice": [...],
/// "startPosition": 1, "maxResults": N}, "time": ...}` (no entity key when nothing is left), `select
/// count(*)` with `totalCount`, a lower-case `fault` on a bad token.
final class QuickBooksOnlineMock: @unchecked Sendable {
    struct Query: Sendable, Equatable {
        var entity: String
        var count: Bool
        var start: Int
        var size: Int
    }

    private let lock = NSLock()
    /// Rows by entity (`Invoice`, `CreditMemo`, `Payment`), as JSON objects.
    private var rows: [String: [[String: Any]]]
    private var log: [Query] = []
    private var minorVersions: Set<String> = []
    /// Answers request n (from 1) with this instead, when it returns one.
    private var override: (@Sendable (Int, Query) -> (status: Int, headers: [String: String], body: String)?)?
    let realm = "9130357992225386"
    let token: String
    let port: Int
    private var task: Task<Void, Never>?

    init(token: String) async throws {
        self.token = token
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.local("quickbooks-online/open-items.json")))
        let fixture = object as! [String: Any]
        rows = ["Invoice": fixture["Invoice"] as! [[String: Any]], "CreditMemo": fixture["CreditMemo"] as! [[String: Any]],
                "Payment": fixture["Payment"] as! [[String: Any]]]
        port = try MockSaaS.freePort()
        let router = Router()
        router.get("/v3/company/{realm}/query") { request, context in try self.handle(request, context: context) }
        task = await serveOnLoopback(router, port: port, label: "qbo-mock")
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    var queries: [Query] { lock.withLock { log } }
    var minorVersionsSeen: Set<String> { lock.withLock { minorVersions } }

    func answer(_ override: (@Sendable (Int, Query) -> (status: Int, headers: [String: String], body: String)?)?) {
        lock.withLock { self.override = override }
    }

    /// Changes one row (by `Id`) of an entity, as a payment recorded in QuickBooks would.
    func update(_ entity: String, id: String, _ change: (inout [String: Any]) -> Void) {
        lock.withLock {
            guard let index = rows[entity]?.firstIndex(where: { $0["Id"] as? String == id }) else { return }
            change(&rows[entity]![index])
        }
    }

    func add(_ entity: String, _ row: [String: Any]) { lock.withLock { rows[entity, default: []].append(row) } }

    func stop() { task?.cancel() }

    private func handle(_ request: Request, context: BasicRequestContext) throws -> Response {
        let parameters = request.uri.queryParameters
        let text = parameters["query"].map(String.init) ?? ""
        guard let query = Self.parse(text) else {
            return Self.json(400, #"{"Fault":{"Error":[{"Message":"Error parsing query","Detail":"QueryParserError","code":"4000"}],"type":"ValidationFault"}}"#)
        }
        let (n, override) = lock.withLock { () -> (Int, (@Sendable (Int, Query) -> (status: Int, headers: [String: String], body: String)?)?) in
            log.append(query)
            if let version = parameters["minorversion"] { minorVersions.insert(String(version)) }
            return (log.count, self.override)
        }
        let authorization = request.headers[.authorization] ?? ""
        if authorization != "Bearer \(token)" {
            // Like some gateways, it quotes the credential it refused: the hub must not store it.
            return Self.json(401, #"{"warnings":null,"intuitObject":null,"fault":{"error":[{"message":"message=AuthenticationFailed; errorCode=003200; statusCode=401","detail":"Token rejected: \#(authorization)","code":"3200"}],"type":"AUTHENTICATION"},"time":"2026-11-30T09:00:00.000-08:00"}"#)
        }
        if let (status, headers, body) = override?(n, query) {
            var response = Self.json(status, body)
            for (name, value) in headers { response.headers[HTTPField.Name(name)!] = value }
            return response
        }
        let open = lock.withLock { rows[query.entity] ?? [] }
            .filter { row in
                let key = query.entity == "Payment" ? "UnappliedAmt" : "Balance"
                return ((row[key] as? NSNumber)?.doubleValue ?? 0) > 0
            }
            .sorted { Int($0["Id"] as! String)! < Int($1["Id"] as! String)! }
        var response: [String: Any]
        if query.count {
            response = ["totalCount": open.count]
        } else {
            let page = Array(open.dropFirst(query.start - 1).prefix(query.size))
            response = page.isEmpty ? [:] : [query.entity: page, "startPosition": query.start, "maxResults": page.count]
        }
        let data = try JSONSerialization.data(withJSONObject: ["QueryResponse": response, "time": "2026-11-30T09:00:00.000-08:00"])
        return Self.json(200, String(decoding: data, as: UTF8.self))
    }

    static func json(_ status: Int, _ body: String) -> Response {
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        return Response(status: .init(code: status), headers: fields, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// `select * from E where ... ORDERBY Id STARTPOSITION s MAXRESULTS m` or `select count(*) from E where ...`.
    static func parse(_ text: String) -> Query? {
        let words = text.split(separator: " ").map(String.init)
        guard words.count >= 4, words[0].lowercased() == "select", words[2].lowercased() == "from" else { return nil }
        let entity = words[3]
        guard ["Invoice", "CreditMemo", "Payment"].contains(entity) else { return nil }
        if words[1].lowercased() == "count(*)" { return Query(entity: entity, count: true, start: 0, size: 0) }
        guard let s = words.firstIndex(of: "STARTPOSITION"), let m = words.firstIndex(of: "MAXRESULTS"),
              s + 1 < words.count, m + 1 < words.count, let start = Int(words[s + 1]), let size = Int(words[m + 1]),
              start >= 1, (1...1000).contains(size) else { return nil }
        return Query(entity: entity, count: false, start: start, size: size)
    }
}

/// `HTTPTransport` over AsyncHTTPClient, as the runtime sends (its own type is internal).
struct LoopbackTransport: HTTPTransport {
    func send(_ request: OutboundRequest, timeout: Duration) async throws(TransportError) -> OutboundResponse {
        var outbound = HTTPClientRequest(url: request.url)
        outbound.method = .init(rawValue: request.method)
        for (name, value) in request.headers { outbound.headers.add(name: name, value: value) }
        do {
            let response = try await HTTPClient.shared.execute(outbound, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 1 << 22)
            var headers: [String: String] = [:]
            for header in response.headers { headers[header.name] = header.value }
            return OutboundResponse(status: Int(response.status.code), headers: headers, body: Array(buffer: body))
        } catch {
            throw .connection(String(describing: error))
        }
    }
}
