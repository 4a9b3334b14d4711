import Foundation
import PatchbayHub
import Testing
import TestSupport
@testable import PatchbayConnectors

/// The `smtp` sink's AUTH and deadline against a real server on loopback: a small line-based SMTP
/// responder in Python (standard library only, `socketserver`), run as a child process, that logs
/// every command it receives and decodes each AUTH PLAIN token it is sent.
@Suite("SMTP AUTH and deadline against a real SMTP server", .serialized)
struct SMTPAuthTests {
    /// `python3 - MODE DIR PASSWORD_HEX`: prints `PORT n`, then serves; appends what it receives to
    /// DIR/session.log, one JSON line each. The user is `alerts`.
    /// MODE `auth`: offers AUTH PLAIN LOGIN, accepts the right PLAIN token (235), refuses a wrong one
    /// (535), and refuses MAIL before AUTH (530). `refuse`: 535 to every AUTH. `echo`: 535 repeating
    /// the AUTH line it got. `login-only`: offers AUTH LOGIN CRAM-MD5 only. `silent`: accepts the
    /// connection and never answers. `stall`: answers everything, then never answers the end of DATA.
    static let server = #"""
        import base64, binascii, json, os, signal, socketserver, sys
        signal.pthread_sigmask(signal.SIG_UNBLOCK, set(signal.Signals))
        mode, outdir = sys.argv[1], sys.argv[2]
        user, password = b"alerts", bytes.fromhex(sys.argv[3]) if len(sys.argv) > 3 else b""

        def record(what, value):
            with open(os.path.join(outdir, "session.log"), "a") as f:
                f.write(json.dumps({"what": what, "value": value}) + "\n")

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                record("connected", mode)
                if mode == "silent":
                    while self.rfile.readline():
                        pass
                    return
                def w(line):
                    self.wfile.write((line + "\r\n").encode()); self.wfile.flush()
                w("220 localhost test SMTP")
                authenticated = False
                while True:
                    raw = self.rfile.readline()
                    if not raw:
                        return
                    cmd = raw.decode("utf-8", "replace").rstrip("\r\n")
                    record("command", cmd)
                    words = cmd.split()
                    verb = words[0].upper() if words else ""
                    if verb == "EHLO":
                        w("250-localhost"); w("250-8BITMIME")
                        w("250 AUTH LOGIN CRAM-MD5" if mode == "login-only" else "250 AUTH PLAIN LOGIN")
                    elif verb == "AUTH":
                        if len(words) != 3 or words[1].upper() != "PLAIN":
                            w("504 5.5.4 Unrecognized authentication type"); continue
                        try:
                            parts = base64.b64decode(words[2], validate=True).split(b"\0")
                        except (binascii.Error, ValueError):
                            w("501 5.5.2 Cannot decode response"); continue
                        record("auth-plain", [p.hex() for p in parts])
                        if mode in ("auth", "stall") and parts == [b"", user, password]:
                            authenticated = True; w("235 2.7.0 Authentication successful")
                        elif mode == "echo":
                            w("535 5.7.8 Authentication credentials invalid: " + cmd)
                        else:
                            w("535 5.7.8 Authentication credentials invalid")
                    elif verb == "MAIL":
                        w("250 OK" if authenticated else "530 5.7.0 Authentication required")
                    elif verb == "RCPT":
                        w("250 OK")
                    elif verb == "RSET":
                        w("250 OK")
                    elif verb == "DATA":
                        w("354 End data with <CR><LF>.<CR><LF>")
                        lines = 0
                        while True:
                            line = self.rfile.readline()
                            if not line or line == b".\r\n":
                                break
                            lines += 1
                        record("data", lines)
                        if mode == "stall":
                            while self.rfile.readline():
                                pass
                            return
                        w("250 2.0.0 OK queued")
                    elif verb == "QUIT":
                        w("221 Bye"); return
                    else:
                        w("500 5.5.1 unknown command")

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        server = Server(("127.0.0.1", 0), Handler)
        print("PORT %d auth" % server.server_address[1], flush=True)
        server.serve_forever()
        """#

    typealias SMTPServer = SMTPChannelTests.SMTPServer

    /// Not ASCII, and with characters base64 and URLs treat specially: the token must carry its UTF-8.
    static let password = "c0rrect horse/€+battery=staple"

    static func hex(_ text: String) -> String { text.utf8.map { String(format: "%02x", $0) }.joined() }

    static func start(_ mode: String) async throws -> SMTPServer {
        try await SMTPServer(mode: mode, script: server, arguments: [hex(password)])
    }

    /// The sink as the configuration builds it, with `username: alerts` and the password from the environment.
    static func sink(port: Int, password: String = password, timeout: String = "20s") throws -> SMTPSink {
        try SMTPChannelTests.sink(port: port, extra: """
                username: alerts
                password: "${SMTP_PASSWORD}"
            """, env: ["SMTP_PASSWORD": password], timeout: timeout)
    }

    /// What the server logged, in order: (what, value).
    static func session(_ server: SMTPServer) throws -> [(what: String, value: Any)] {
        let url = server.directory.url.appendingPathComponent("session.log")
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        return try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            return (object["what"] as? String ?? "", object["value"] ?? NSNull())
        }
    }

    static func commands(_ server: SMTPServer) throws -> [String] {
        try session(server).filter { $0.what == "command" }.compactMap { $0.value as? String }
    }

    /// The AUTH PLAIN tokens the server decoded: [authzid, user, password] each.
    static func plainTokens(_ server: SMTPServer) throws -> [[String]] {
        try session(server).filter { $0.what == "auth-plain" }.map { entry in
            (entry.value as? [String] ?? []).map { hexText in
                var bytes: [UInt8] = []
                var index = hexText.startIndex
                while index < hexText.endIndex {
                    let next = hexText.index(index, offsetBy: 2)
                    bytes.append(UInt8(hexText[index..<next], radix: 16)!)
                    index = next
                }
                return String(decoding: bytes, as: UTF8.self)
            }
        }
    }

    static func delivery() -> OutboundDelivery {
        SMTPChannelTests.delivery(AlertChannelTests.firing)
    }

    @Test("AUTH PLAIN with the right credentials: one token of user and UTF-8 password before MAIL FROM, and the mail is sent")
    func authSucceeds() async throws {
        let server = try await Self.start("auth")
        defer { Task { await server.stop() } }
        let sink = try Self.sink(port: server.port)
        let result = await sink.deliver(Self.delivery())
        #expect(FailureClassifier.classify(result) == .delivered, "\(result)")
        #expect(try Self.plainTokens(server) == [["", "alerts", Self.password]])
        let verbs = try Self.commands(server).map { String($0.prefix(4)) }
        #expect(verbs == ["EHLO", "AUTH", "MAIL", "RCPT", "RCPT", "DATA", "QUIT"], "\(verbs)")
        #expect(try Self.session(server).contains { $0.what == "data" && ($0.value as? Int ?? 0) > 0 })
        await server.stop()
    }

    @Test("a refused AUTH (535) is dead at once with a clear error that holds neither the password nor its token; no mail goes out")
    func authRefused() async throws {
        let server = try await Self.start("refuse")
        defer { Task { await server.stop() } }
        let sink = try Self.sink(port: server.port)
        let token = Data(([0] + Array("alerts".utf8) + [0] + Array(Self.password.utf8))).base64EncodedString()
        #expect(sink.secrets.contains(Self.password) && sink.secrets.contains(token))
        let result = await sink.deliver(Self.delivery())
        #expect(FailureClassifier.classify(result) == .permanent(pauseConnector: false), "\(result)")
        let message = try #require(result.errorMessage)
        #expect(message == "SMTP server refused AUTH PLAIN: 535 5.7.8 Authentication credentials invalid", "\(message)")
        #expect(!"\(result)".contains(Self.password) && !"\(result)".contains(token), "\(result)")
        // The client tried once, then stopped: no MAIL FROM after a refused AUTH.
        #expect(try Self.plainTokens(server).count == 1)
        #expect(try !Self.commands(server).contains { $0.uppercased().hasPrefix("MAIL") })

        // A server that repeats the AUTH line in its refusal: what the hub stores (the result
        // redacted with the sink's secrets, as the delivery worker does) holds no token either.
        let echoing = try await Self.start("echo")
        defer { Task { await echoing.stop() } }
        let echoed = await (try Self.sink(port: echoing.port)).deliver(Self.delivery())
        #expect(FailureClassifier.classify(echoed) == .permanent(pauseConnector: false), "\(echoed)")
        // The client's own error already holds neither, whoever reads it.
        #expect(!"\(echoed)".contains(token) && !"\(echoed)".contains(Self.password), "\(echoed)")
        let stored = try #require(echoed.redacting(Redaction(sink.secrets)).errorMessage)
        #expect(stored.hasPrefix("SMTP server refused AUTH PLAIN: 535 5.7.8"), "\(stored)")
        #expect(!stored.contains(token) && !stored.contains(Self.password), "\(stored)")
        #expect(stored.contains(Redaction.marker), "\(stored)")
        await server.stop()
        await echoing.stop()
    }

    @Test("a server that offers AUTH LOGIN only is refused before any credential is sent, saying what it offers")
    func plainNotOffered() async throws {
        let server = try await Self.start("login-only")
        defer { Task { await server.stop() } }
        let result = await (try Self.sink(port: server.port)).deliver(Self.delivery())
        #expect(FailureClassifier.classify(result) == .permanent(pauseConnector: false), "\(result)")
        let message = try #require(result.errorMessage)
        #expect(message.contains("does not offer AUTH PLAIN") && message.contains("AUTH LOGIN CRAM-MD5"), "\(message)")
        #expect(try Self.commands(server).allSatisfy { !$0.uppercased().hasPrefix("AUTH") && !$0.uppercased().hasPrefix("MAIL") })
        await server.stop()
    }

    /// Starts a server in `mode`, sends through a sink with `timeout`, and checks the send failed
    /// with a timeout (retried). The server is returned, still running, to look at what it got.
    static func sendExpectingTimeout(_ mode: String, timeout: String) async throws -> SMTPServer {
        let server = try await start(mode)
        let result = await (try sink(port: server.port, timeout: timeout)).deliver(delivery())
        if case .timeout = result {} else { Issue.record("expected a timeout, got \(result)") }
        #expect(FailureClassifier.classify(result) == .retryable(retryAfter: nil), "\(result)")
        return server
    }

    @Test("a server that accepts the connection and never answers fails the send with a timeout, retried",
          .timeLimit(.minutes(1)))
    func silentServerTimesOut() async throws {
        let server = try await Self.sendExpectingTimeout("silent", timeout: "1s")
        defer { Task { await server.stop() } }
        // The server did take the connection: this is the client's deadline, not a failed connect.
        #expect(try Self.session(server).contains { $0.what == "connected" })

        // The client itself, without the sink: SMTPError.timeout.
        let client = SMTPClient(host: "127.0.0.1", port: server.port, helo: "hub.example", timeout: .milliseconds(500))
        await #expect(throws: SMTPError.timeout) {
            try await client.send(from: "alerts@hub.example", to: ["ops@example.com"], data: Array("x\r\n.\r\n".utf8))
        }
        await server.stop()
    }

    @Test("one deadline covers the whole exchange: a server that stops answering after DATA fails the send with a timeout",
          .timeLimit(.minutes(1)))
    func stallAfterDataTimesOut() async throws {
        let server = try await Self.sendExpectingTimeout("stall", timeout: "3s")
        defer { Task { await server.stop() } }
        #expect(try Self.session(server).contains { $0.what == "data" }, "the server never got the message")
        await server.stop()
    }
}
