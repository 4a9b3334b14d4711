import Foundation
import Hummingbird
import Logging
import NIOCore
import PatchbayConnectors
import PatchbayHub
import PatchbayStore
import PatchbayText
import ServiceLifecycle

/// The request context: Hummingbird's core plus the peer's address, kept with rejections.
struct HubRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

extension HubRuntime {
    func makeServer(onListening: (@Sendable (Int) -> Void)?) -> some Service {
        let router = Router(context: HubRequestContext.self)
        for definition in config.connectors {
            guard case .source(let source) = definition.built, let path = definition.path else { continue }
            let id = self.id(of: definition.name)
            let name = definition.name
            router.post(RouterPath(path)) { request, context in
                await self.receive(request, context: context, source: source, connector: id, name: name, path: path)
            }
        }
        router.get("/healthz") { _, _ in
            do {
                let store = self.store
                _ = try await Blocking.run { try store.connectors().count }
                // The pid says which process answered: after a restart, the new one, not a leftover.
                return Self.json(200, ["status": "ok", "pid": String(ProcessInfo.processInfo.processIdentifier)])
            } catch {
                return Self.json(503, ["status": "unavailable", "error": "\(error)"])
            }
        }
        router.get("/metrics") { _, _ in
            let store = self.store
            let metrics = self.metrics
            let body = (try? await Blocking.run { metrics.render(store: store) }) ?? []
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        let logger = self.logger
        let (headerTimeout, bodyTimeout) = (config.headerTimeout, config.bodyTimeout)
        let maxConnections = ConnectionCap.effective(configured: config.maxConnections)
        let application = Application(
            router: router,
            server: .http1(configuration: .init(
                additionalChannelHandlers: [ConnectionGuard(headerTimeout: headerTimeout, bodyTimeout: bodyTimeout)])),
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "patchbay",
                                 availableConnectionsDelegate: .maximum(maxConnections, logger: logger)),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                self.setPort(port)
                logger.notice("listening", metadata: [
                    "address": "\(self.config.host):\(port)", "max_connections": "\(maxConnections)",
                ])
                onListening?(port)
            },
            logger: logger)
        return ListeningService(application: application, address: "\(config.host):\(config.port)", runtime: self)
    }

    /// One webhook: size, signature and shape checked by the source; stored durably; then answered.
    private func receive(_ request: Request, context: HubRequestContext, source: any WebhookSource,
                         connector: ConnectorID, name: String, path: String) async -> Response {
        let receivedAt = Date()
        let remote = context.remoteAddress?.ipAddress
        var body: [UInt8]
        do {
            // A declared length over the limit is refused before a byte of the body is read.
            if let declared = request.headers[.contentLength].flatMap(Int.init), declared > source.maxBodyBytes {
                throw Rejection.tooLarge("declared")
            }
            var buffer = try await request.body.collect(upTo: source.maxBodyBytes)
            body = buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch {
            let length = request.headers[.contentLength].flatMap(Int.init)
            let size = length.map { "\($0) bytes" } ?? "larger than the limit"
            var response = await reject(Rejection.tooLarge("body is \(size); limit is \(source.maxBodyBytes) bytes"),
                                        connector: connector, name: name, path: path, remote: remote, body: [],
                                        bodyBytes: length ?? source.maxBodyBytes + 1, at: receivedAt)
            // The rest of the body is not read: `ConnectionGuard` closes the connection after this answer.
            response.headers[.connection] = "close"
            return response
        }
        var headers: [(name: String, value: String)] = []
        for field in request.headers { headers.append((field.name.rawName, field.value)) }
        let inbound = InboundRequest(method: request.method.rawValue, path: path, headers: headers, body: body,
                                     remoteAddress: remote)
        let events: [SourceEvent]
        do {
            events = try source.receive(inbound, now: receivedAt)
        } catch {
            return await reject(error, connector: connector, name: name, path: path, remote: remote, body: body,
                                bodyBytes: body.count, at: receivedAt)
        }
        body = []
        var results: [IngestResult] = []
        do {
            for event in events {
                let targets = config.targets(topic: event.topic, from: name).map {
                    DeliveryTarget(connectorId: self.id(of: $0.name), maxAttempts: $0.retry.maxAttempts)
                }
                let result = try await ingest.submit(NewEvent(
                    topic: event.topic, sourceId: connector, idempotencyKey: event.idempotencyKey, payload: event.payload,
                    receivedAt: receivedAt, occurredAt: event.occurredAt, correlationId: event.correlationId,
                    targets: targets, replayGuard: event.replayGuard))
                results.append(result)
                if case .accepted = result {
                    metrics.eventReceived(connector, duplicate: false)
                    for target in targets { await wake(target.connectorId) }
                } else {
                    metrics.eventReceived(connector, duplicate: true)
                }
            }
        } catch {
            // Nothing was acknowledged: the sender keeps the message and retries.
            logger.error("cannot store a webhook", metadata: ["connector": "\(name)", "error": "\(error)"])
            var response = Self.json(503, ["error": "the hub cannot store events right now; retry later"])
            response.headers[.retryAfter] = "5"
            return response
        }
        Faults.check("ingest.after-commit")
        let duplicate = results.allSatisfy { if case .duplicate = $0 { true } else { false } }
        return Self.json(200, [
            "status": duplicate && !results.isEmpty ? "duplicate" : "accepted",
            "event_ids": results.map { String($0.eventId) }.joined(separator: ","),
        ])
    }

    private func reject(_ rejection: Rejection, connector: ConnectorID, name: String, path: String, remote: String?,
                        body: [UInt8], bodyBytes: Int, at date: Date) async -> Response {
        metrics.rejected(connector, status: rejection.status)
        // A flood of refusals is counted, not stored (nor logged) one by one: refused requests must
        // not grow the database, or the log, without bound.
        let keepDetail = rejectionDetail[connector]?.take(upTo: 1).taken == 1
        if keepDetail {
            logger.warning("webhook refused", metadata: [
                "connector": "\(name)", "status": "\(rejection.status)", "reason": "\(SafeText.line(rejection.reason))",
            ])
        }
        let excerpt = body.isEmpty || !keepDetail ? nil : SafeText.line(String(decoding: body.prefix(300), as: UTF8.self))
        do {
            try await rejections.submit(NewRejection(
                connectorId: connector, receivedAt: date, status: rejection.status, reason: rejection.reason,
                remote: remote, path: path, bodyBytes: bodyBytes, bodyExcerpt: excerpt, keepDetail: keepDetail))
        } catch {
            logger.error("cannot record a refused webhook", metadata: ["error": "\(error)"])
        }
        return Self.json(rejection.status, ["error": rejection.reason])
    }

    static func json(_ status: Int, _ fields: [String: String]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(status: .init(code: status), headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// The webhook server as a service: a failure to listen (the port taken, an address not on this
/// machine, no permission) is an error that names the address and ends the hub at once, instead
/// of a debug line while the workers go on claiming deliveries.
struct ListeningService<Inner: Service>: Service, CustomStringConvertible {
    var description: String { "WebhookServer" }
    let application: Inner
    let address: String
    let runtime: HubRuntime

    func run() async throws {
        do {
            try await application.run()
        } catch {
            guard runtime.port == nil else { throw error }
            runtime.logger.error("cannot listen", metadata: ["address": "\(address)", "error": "\(error)"])
            throw HubStartError.cannotListen(address: address, reason: Self.reason(error))
        }
    }

    /// `bind(descriptor:ptr:bytes:): Address already in use (errno: 98)` → `address already in use`.
    static func reason(_ error: any Error) -> String {
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)).lowercased() }
        return "\(error)"
    }
}

/// Why a hub could not start.
public enum HubStartError: Error, CustomStringConvertible {
    case cannotListen(address: String, reason: String)

    public var description: String {
        switch self {
        case .cannotListen(let address, let reason):
            return "cannot listen on \(address): \(reason) (is another hub running? choose another with --listen HOST:PORT)"
        }
    }
}
