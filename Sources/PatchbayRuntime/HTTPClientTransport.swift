import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import PatchbayConnectors

/// `HTTPTransport` over AsyncHTTPClient: TLS, pooled connections, a deadline per request, and at
/// most `keepBytes` of each response body kept (the rest is read and dropped).
struct HTTPClientTransport: HTTPTransport {
    let client: HTTPClient
    var keepBytes = 64 * 1024

    /// The configuration of every client that sends deliveries.
    ///
    /// Redirects are never followed: AsyncHTTPClient would otherwise turn a POST into a body-less
    /// GET to whatever origin `Location` names, count that origin's 200 as delivered, and send the
    /// connector's credential headers along. A 3xx reaches the sink as an answer of its own (a
    /// failure that names `Location`), and the operator decides where the URL should point.
    static func configuration() -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(5)), decompression: .disabled)
        configuration.redirectConfiguration = .disallow
        return configuration
    }

    func send(_ request: OutboundRequest, timeout: Duration) async throws(TransportError) -> OutboundResponse {
        var outbound = HTTPClientRequest(url: request.url)
        outbound.method = HTTPMethod(rawValue: request.method)
        for (name, value) in request.headers { outbound.headers.add(name: name, value: value) }
        outbound.headers.replaceOrAdd(name: "User-Agent", value: "patchbay/1")
        outbound.body = .bytes(ByteBuffer(bytes: request.body))
        do {
            let response = try await client.execute(outbound, timeout: .nanoseconds(timeout.nanoseconds))
            var kept: [UInt8] = []
            for try await chunk in response.body {
                if kept.count < keepBytes { kept += chunk.readableBytesView.prefix(keepBytes - kept.count) }
            }
            var headers: [String: String] = [:]
            for header in response.headers { headers[header.name] = header.value }
            return OutboundResponse(status: Int(response.status.code), headers: headers, body: kept)
        } catch let error as HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout:
                throw .timeout
            default:
                throw .connection(String(describing: error))
            }
        } catch {
            if error is CancellationError { throw .connection("cancelled") }
            throw .connection(String(describing: error))
        }
    }
}
