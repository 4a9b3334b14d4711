import AsyncHTTPClient
import Crypto
import Foundation
import Hummingbird
import Logging
import NIOCore
import PatchbayRuntime

/// What the hub benchmarks share: a loopback sink that answers 200, the load generator of signed
/// webhooks, and running an async benchmark from the synchronous `Bench`.
enum HubLoad {
    /// The secret the benchmark hubs' `orders` source checks signatures with.
    static let secret = "bench-secret"

    /// A loopback HTTP target on a free port that reads each body and answers 200, until cancelled.
    static func startSink() throws -> (port: Int, task: Task<Void, Never>) {
        let port = try MockSaaS.freePort()
        let router = Router()
        router.post("/sink") { request, _ -> Response in
            _ = try await request.body.collect(upTo: 1 << 20)
            return Response(status: .ok)
        }
        let task = Task<Void, Never> {
            try? await Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
                                   logger: quietLogger).runService()
        }
        return (port, task)
    }

    static var quietLogger: Logger {
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        return logger
    }

    /// An HTTP client that keeps up to `connections` connections to one host.
    static func client(connections: Int) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = connections
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// `total` GitHub-signed `order_created` webhooks over `lanes` concurrent lanes, webhook `n` to
    /// `urls[n % urls.count]`; each must be answered 200. - Returns: every acknowledgement's latency.
    static func send(total: Int, lanes: Int, urls: [String], client: HTTPClient) async throws -> Samples {
        let key = SymmetricKey(data: Data(secret.utf8))
        return try await withThrowingTaskGroup(of: [Double].self) { group in
            for lane in 0..<lanes {
                group.addTask {
                    var samples: [Double] = []
                    for n in stride(from: lane, to: total, by: lanes) {
                        let body = Array(#"{"order":\#(n),"sku":"MUG-BLU-350","quantity":2,"price":"18.50"}"#.utf8)
                        let mac = HMAC<SHA256>.authenticationCode(for: body, using: key)
                            .map { String(format: "%02x", $0) }.joined()
                        var request = HTTPClientRequest(url: urls[n % urls.count])
                        request.method = .POST
                        request.headers.add(name: "X-GitHub-Event", value: "order_created")
                        request.headers.add(name: "X-GitHub-Delivery", value: "bench-\(n)")
                        request.headers.add(name: "X-Hub-Signature-256", value: "sha256=\(mac)")
                        request.body = .bytes(ByteBuffer(bytes: body))
                        let t0 = Monotonic.now()
                        let response = try await client.execute(request, timeout: .seconds(30))
                        _ = try await response.body.collect(upTo: 1 << 16)
                        guard response.status.code == 200 else { throw BenchFailure("webhook \(n): HTTP \(response.status.code)") }
                        samples.append(Monotonic.now() - t0)
                    }
                    return samples
                }
            }
            return try await group.reduce(into: Samples()) { all, lane in lane.forEach { all.add($0) } }
        }
    }

    /// Runs an async benchmark to its end from synchronous code, with the report passed through.
    static func runBlocking(_ report: inout Report, _ body: @escaping @Sendable (ReportBox) async throws -> Void) throws {
        let box = ReportBox(report)
        let done = DispatchSemaphore(value: 0)
        let failure = ErrorBox()
        Task {
            do { try await body(box) } catch { failure.error = error }
            done.signal()
        }
        done.wait()
        report = box.report
        if let error = failure.error { throw error }
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ text: String) { description = text }
}

final class ReportBox: @unchecked Sendable {
    var report: Report
    init(_ report: Report) { self.report = report }
}

final class ErrorBox: @unchecked Sendable {
    var error: (any Error)?
}
