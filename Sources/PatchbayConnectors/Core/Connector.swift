import Foundation
import PatchbayHub
import PatchbayStore

// The narrow roles a connector module plays. A module is a small type conforming to one of them,
// registered by name in `ConnectorRegistry`; the runtime only ever sees these protocols, so adding a
// module never touches the runtime. Transports are the runtime's: a webhook source is handed the raw
// request the HTTP server received, an HTTP sink is handed an `HTTPTransport` to send through.

// MARK: - Sources (HTTP in)

/// An HTTP request as the server received it: the raw body bytes, before any parsing, because
/// signatures are computed over exactly those bytes.
public struct InboundRequest: Sendable {
    public var method: String
    public var path: String
    /// Header fields in arrival order; names compare case-insensitively through `header(_:)`.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    public var remoteAddress: String?

    public init(method: String = "POST", path: String, headers: [(name: String, value: String)],
                body: [UInt8], remoteAddress: String? = nil) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
    }

    /// The first value of a header, by case-insensitive name.
    public func header(_ name: String) -> String? {
        headers.first(where: { $0.name.caseInsensitiveCompare(name) == .orderedSame })?.value
    }

    /// Every value of a header, in order.
    public func headers(named name: String) -> [String] {
        headers.filter { $0.name.caseInsensitiveCompare(name) == .orderedSame }.map(\.value)
    }
}

/// One event a source produced from a request, ready for routing and ingest.
public struct SourceEvent: Sendable, Equatable {
    public var topic: String
    /// The sender's delivery id (or a hash of the body when the sender gives none): the dedupe key.
    public var idempotencyKey: String
    /// JSON text: the canonical model when the source has a transform, else the body as received.
    public var payload: String
    public var occurredAt: Date?
    public var correlationId: String?
    /// Set when the signature covers the body but not the headers the key or topic came from.
    public var replayGuard: ReplayGuard?

    public init(topic: String, idempotencyKey: String, payload: String, occurredAt: Date? = nil,
                correlationId: String? = nil, replayGuard: ReplayGuard? = nil) {
        self.topic = topic
        self.idempotencyKey = idempotencyKey
        self.payload = payload
        self.occurredAt = occurredAt
        self.correlationId = correlationId
        self.replayGuard = replayGuard
    }
}

/// Why a request was refused: the HTTP status to answer and a reason an operator can act on.
public struct Rejection: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var reason: String

    public init(status: Int, reason: String) {
        self.status = status
        self.reason = reason
    }

    public static func unauthorized(_ reason: String) -> Rejection { Rejection(status: 401, reason: reason) }
    public static func badRequest(_ reason: String) -> Rejection { Rejection(status: 400, reason: reason) }
    public static func tooLarge(_ reason: String) -> Rejection { Rejection(status: 413, reason: reason) }

    public var description: String { "\(status): \(reason)" }
}

/// A source that receives webhooks: verifies, parses and maps one request into events.
///
/// `receive` is pure (no I/O): it either returns the events to store, or throws a `Rejection`.
/// The runtime stores the events durably and only then answers 2xx.
public protocol WebhookSource: Sendable {
    /// The largest body accepted; larger requests get 413 before they are read in full.
    var maxBodyBytes: Int { get }
    func receive(_ request: InboundRequest, now: Date) throws(Rejection) -> [SourceEvent]
}

// MARK: - Sinks (delivery targets)

/// One delivery handed to a sink: what to send and the key the target uses to drop repeats.
public struct OutboundDelivery: Sendable, Equatable {
    public var deliveryId: DeliveryID
    public var eventId: EventID
    public var topic: String
    /// JSON text as stored in the event log (canonical model for hub routes).
    public var payload: String
    /// Same for every attempt of this delivery: targets use it to absorb a repeat after a crash.
    public var idempotencyKey: String
    public var attempt: Int
    public var correlationId: String?

    public init(deliveryId: DeliveryID, eventId: EventID, topic: String, payload: String,
                idempotencyKey: String, attempt: Int, correlationId: String? = nil) {
        self.deliveryId = deliveryId
        self.eventId = eventId
        self.topic = topic
        self.payload = payload
        self.idempotencyKey = idempotencyKey
        self.attempt = attempt
        self.correlationId = correlationId
    }
}

/// A delivery target. `deliver` never throws: every failure is a `SinkResult` the retry policy
/// classifies (see `FailureClassifier`).
public protocol Sink: Sendable {
    /// The longest one delivery may take; the runtime's lease must be longer.
    var timeout: Duration { get }
    /// The credentials this sink was configured with (header values, referenced secrets): the
    /// runtime removes them from every result before it is stored (`Redaction`).
    var secrets: [String] { get }
    func deliver(_ delivery: OutboundDelivery) async -> SinkResult
}

extension Sink {
    public var secrets: [String] { [] }
}

// MARK: - Transforms

/// Maps a payload from one shape to another: a source's format into the canonical model, or the
/// canonical model into a target's format. Pure.
public protocol PayloadTransform: Sendable {
    /// `topic` is the event's topic; the result's topic may differ (Shopify's `orders/create` becomes
    /// `order_created`).
    func apply(topic: String, payload: String) throws(TransformError) -> (topic: String, payload: String)
}

/// A payload a transform cannot map, with the JSON path of what is wrong.
public struct TransformError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

// MARK: - HTTP out

/// An HTTP request a sink wants sent.
public struct OutboundRequest: Sendable, Equatable {
    public var method: String
    public var url: String
    public var headers: [String: String]
    public var body: [UInt8]

    public init(method: String, url: String, headers: [String: String], body: [UInt8]) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// What came back; `body` holds at most the first bytes the transport was asked to keep.
public struct OutboundResponse: Sendable, Equatable {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]

    public init(status: Int, headers: [String: String], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first(where: { $0.key.caseInsensitiveCompare(name) == .orderedSame })?.value
    }
}

/// Failures below HTTP: the runtime maps its client's errors into these.
public enum TransportError: Error, Sendable, Equatable {
    case timeout
    case connection(String)
}

/// Sends HTTP requests. The runtime implements it with AsyncHTTPClient; tests with a closure.
public protocol HTTPTransport: Sendable {
    func send(_ request: OutboundRequest, timeout: Duration) async throws(TransportError) -> OutboundResponse
}
