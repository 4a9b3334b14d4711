import Foundation
import NIOCore
import NIOPosix
import PatchbayText
import Synchronization

/// One SMTP reply: its code and the text of each of its lines.
public struct SMTPReply: Sendable, Equatable, CustomStringConvertible {
    public var code: Int
    public var lines: [String]

    public init(code: Int, lines: [String]) {
        self.code = code
        self.lines = lines
    }

    /// `550 5.1.1 <nobody@example.com>: Recipient address rejected`, made safe to store and show.
    public var description: String {
        SafeText.line(String("\(code) \(lines.joined(separator: " "))".prefix(300)))
    }
}

/// Why a mail was not sent.
public enum SMTPError: Error, Sendable, Equatable {
    /// The server answered a step with a 4xx or 5xx.
    case refused(step: String, reply: SMTPReply)
    case connection(String)
    case timeout
    /// The server said something that is not SMTP, answered out of turn, or hung up.
    case protocolViolation(String)
    /// Credentials are configured but the server does not offer AUTH PLAIN.
    case authenticationUnavailable(String)
}

/// A small SMTP client: plain SMTP (no TLS) to one relay, one message per connection.
///
/// EHLO (HELO when the server does not know EHLO), AUTH PLAIN only when configured and offered,
/// MAIL FROM, RCPT TO for each recipient (all must be accepted, or nothing is sent), DATA, QUIT.
/// Commands go one at a time (no pipelining); the whole exchange has one deadline.
public struct SMTPClient: Sendable {
    public var host: String
    public var port: Int
    /// The name this client gives in EHLO/HELO.
    public var helo: String
    public var username: String?
    public var password: String?
    public var timeout: Duration

    public init(host: String, port: Int = 25, helo: String, username: String? = nil, password: String? = nil,
                timeout: Duration = .seconds(30)) {
        self.host = host
        self.port = port
        self.helo = helo
        self.username = username
        self.password = password
        self.timeout = timeout
    }

    /// Sends `data` (already CRLF, dot-stuffed and ending in `CRLF.CRLF`). Returns the server's
    /// answer to the end of DATA: the mail is then the relay's.
    public func send(from: String, to recipients: [String], data: [UInt8]) async throws(SMTPError) -> SMTPReply {
        let slot = ChannelSlot()
        do {
            return try await withThrowingTaskGroup(of: SMTPReply?.self) { group in
                group.addTask { try await self.converse(from: from, to: recipients, data: data, slot: slot) }
                group.addTask {
                    try await Task.sleep(for: self.timeout)
                    return nil
                }
                let first = try await group.next() ?? nil
                // Whoever finished first, the other is done with: a late conversation is cut off
                // by closing its connection (a read on it then ends at once).
                slot.close()
                group.cancelAll()
                guard let first else { throw SMTPError.timeout }
                return first
            }
        } catch let error as SMTPError {
            throw error
        } catch let error as ChannelError {
            if case .connectTimeout = error { throw .timeout }
            throw .connection(Self.describe(error))
        } catch is CancellationError {
            throw .connection("cancelled")
        } catch {
            throw .connection(Self.describe(error))
        }
    }

    private func converse(from: String, to recipients: [String], data: [UInt8], slot: ChannelSlot) async throws -> SMTPReply {
        let milliseconds = max(1, timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.milliseconds(milliseconds))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        slot.set(channel.channel)
        return try await channel.executeThenClose { inbound, outbound in
            var reader = SMTPReplyReader(inbound.makeAsyncIterator())
            func command(_ line: String) async throws -> SMTPReply {
                try await outbound.write(ByteBuffer(string: line + "\r\n"))
                return try await reader.reply()
            }
            func expect(_ reply: SMTPReply, _ step: String, _ codes: Set<Int>) throws {
                guard !codes.contains(reply.code) else { return }
                if reply.code >= 400 { throw SMTPError.refused(step: step, reply: reply) }
                throw SMTPError.protocolViolation("expected \(codes.sorted().map(String.init).joined(separator: " or ")) after \(step), got \(reply)")
            }

            try expect(try await reader.reply(), "the greeting", [220])
            var extensions: [String] = []
            let ehlo = try await command("EHLO \(helo)")
            if ehlo.code == 250 {
                extensions = ehlo.lines.dropFirst().map { $0.uppercased() }
            } else if (500...504).contains(ehlo.code) {
                try expect(try await command("HELO \(helo)"), "HELO", [250])
            } else {
                try expect(ehlo, "EHLO", [250])
            }
            if let username, let password {
                let offersPlain = extensions.contains { line in
                    let words = line.split(whereSeparator: { $0 == " " || $0 == "=" })
                    return words.first == "AUTH" && words.contains("PLAIN")
                }
                guard offersPlain else {
                    let offered = extensions.first { $0.hasPrefix("AUTH") }.map { "it offers \($0)" } ?? "it offers no AUTH"
                    throw SMTPError.authenticationUnavailable("\(host):\(port) does not offer AUTH PLAIN (\(offered)); this sink speaks plain SMTP, without STARTTLS")
                }
                let token = Data(([0] + Array(username.utf8) + [0] + Array(password.utf8))).base64EncodedString()
                // A server may repeat the command in its refusal: the credentials never leave in an error.
                var answer = try await command("AUTH PLAIN \(token)")
                answer.lines = answer.lines.map { line in
                    [token, password].filter { !$0.isEmpty }.reduce(line) { $0.replacingOccurrences(of: $1, with: "[redacted]") }
                }
                try expect(answer, "AUTH PLAIN", [235])
            }
            try expect(try await command("MAIL FROM:<\(from)>"), "MAIL FROM:<\(from)>", [250])
            var refusals: [(step: String, reply: SMTPReply)] = []
            for recipient in recipients {
                let reply = try await command("RCPT TO:<\(recipient)>")
                if reply.code != 250, reply.code != 251 { refusals.append(("RCPT TO:<\(recipient)>", reply)) }
            }
            if !refusals.isEmpty {
                // Nobody gets it unless everybody can: a retry then reaches each recipient once.
                _ = try? await command("RSET")
                _ = try? await command("QUIT")
                let worst = refusals.first { $0.reply.code >= 500 } ?? refusals[0]
                try expect(worst.reply, worst.step, [250, 251])
            }
            try expect(try await command("DATA"), "DATA", [354])
            try await outbound.write(ByteBuffer(bytes: data))
            let accepted = try await reader.reply()
            try expect(accepted, "the end of DATA", [250])
            // The relay has the mail now; a failed goodbye changes nothing.
            _ = try? await command("QUIT")
            return accepted
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? NIOConnectionError {
            let reasons = error.connectionErrors.map { "\($0.error)" }
            let reason = reasons.first ?? error.dnsAAAAError.map { "\($0)" } ?? error.dnsAError.map { "\($0)" } ?? "no address"
            return SafeText.line(String("cannot connect to \(error.host):\(error.port): \(reason)".prefix(300)))
        }
        return SafeText.line(String("\(error)".prefix(300)))
    }
}

/// The connection of a running exchange, so a deadline can close it.
private final class ChannelSlot: Sendable {
    private let state = Mutex<(channel: (any Channel)?, closed: Bool)>((nil, false))

    func set(_ channel: any Channel) {
        let closeNow = state.withLock { value -> Bool in
            value.channel = channel
            return value.closed
        }
        if closeNow { channel.close(promise: nil) }
    }

    func close() {
        let channel = state.withLock { value -> (any Channel)? in
            value.closed = true
            return value.channel
        }
        channel?.close(promise: nil)
    }
}

/// Reads CRLF-terminated reply lines and gathers multi-line replies (`250-…` up to `250 …`).
struct SMTPReplyReader {
    var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    var buffer: [UInt8] = []

    init(_ iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator) {
        self.iterator = iterator
    }

    mutating func reply() async throws -> SMTPReply {
        var lines: [String] = []
        while lines.count < 200 {
            let line = try await self.line()
            let bytes = Array(line.utf8)
            guard bytes.count >= 3, let code = Int(String(decoding: bytes[0..<3], as: UTF8.self)), (200...599).contains(code),
                  bytes.count == 3 || bytes[3] == UInt8(ascii: " ") || bytes[3] == UInt8(ascii: "-")
            else {
                throw SMTPError.protocolViolation("not an SMTP reply: \(SafeText.line(String(line.prefix(80))))")
            }
            lines.append(bytes.count > 4 ? String(decoding: bytes[4...], as: UTF8.self) : "")
            if bytes.count == 3 || bytes[3] == UInt8(ascii: " ") { return SMTPReply(code: code, lines: lines) }
        }
        throw SMTPError.protocolViolation("a reply of more than 200 lines")
    }

    mutating func line() async throws -> String {
        while true {
            if let newline = buffer.firstIndex(of: 10) {
                var line = Array(buffer[..<newline])
                buffer.removeFirst(newline + 1)
                if line.last == 13 { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            guard buffer.count <= 8192 else { throw SMTPError.protocolViolation("a reply line longer than 8 KiB") }
            guard var chunk = try await iterator.next() else {
                throw SMTPError.protocolViolation("the server closed the connection")
            }
            buffer += chunk.readBytes(length: chunk.readableBytes) ?? []
        }
    }
}
