import Foundation
import NIOCore
import NIOHTTPTypes

/// Deadlines for each request on a webhook connection, so slow clients cannot hold the hub's
/// descriptors: a connection that takes longer than `headerTimeout` to deliver a request's headers
/// (counted from accept, or from the previous response, so it is also the keep-alive idle limit),
/// or longer than `bodyTimeout` to deliver its body, is closed. While the hub works on a request
/// (body in, response not yet out) no deadline runs: the hub's own slowness is not the client's.
///
/// It also closes the connection after a response that says `Connection: close` (the 413 for an
/// oversized body), instead of reading and dropping the rest of a body nobody wants.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let headerTimeout: TimeAmount
    private let bodyTimeout: TimeAmount
    private var deadline: Scheduled<Void>?
    private var closeAfterResponse = false

    init(headerTimeout: TimeInterval, bodyTimeout: TimeInterval) {
        self.headerTimeout = .milliseconds(Int64(headerTimeout * 1000))
        self.bodyTimeout = .milliseconds(Int64(bodyTimeout * 1000))
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context, headerTimeout) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context, headerTimeout)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: arm(context, bodyTimeout)
        case .body: break
        case .end: disarm()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let response):
            if response.headerFields[.connection]?.lowercased() == "close" { closeAfterResponse = true }
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            if closeAfterResponse {
                let written = context.eventLoop.makePromise(of: Void.self)
                written.futureResult.cascade(to: promise)
                context.write(data, promise: written)
                written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            } else {
                context.write(data, promise: promise)
                arm(context, headerTimeout)
            }
        }
    }

    private func arm(_ context: ChannelHandlerContext, _ timeout: TimeAmount) {
        deadline?.cancel()
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            context.close(promise: nil)
        }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }
}

/// The connection cap for this process: the configured one, kept 64 below the descriptor limit.
enum ConnectionCap {
    static func effective(configured: Int) -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < rlim_t(Int32.max) else { return configured }
        return max(1, min(configured, Int(clamping: limit.rlim_cur) - 64))
    }
}
