import Foundation
import PatchbayHub
import Testing
import TestSupport
@testable import PatchbayConnectors

/// The `smtp` sink against a real SMTP server: Python's standard-library `smtpd` run as a child
/// process on a loopback port (a small `socketserver` one where `smtpd` is gone, Python 3.12 on, or
/// with `PATCHBAY_TEST_SMTP_SOCKETSERVER=1`).
/// Each received message is parsed by Python's own `email` package, so the headers, RFC 2047
/// words and quoted-printable body are read by an implementation that is not ours.
@Suite("SMTP channel against a real SMTP server", .serialized)
struct SMTPChannelTests {
    /// `python3 - MODE DIR`: prints `PORT n`, then serves; each message lands in DIR as JSON.
    /// MODE `reject` answers 550 to RCPT for nobody@…; `busy` answers 451 to every RCPT.
    static let server = #"""
        import json, os, signal, sys, warnings
        signal.pthread_sigmask(signal.SIG_UNBLOCK, set(signal.Signals))
        warnings.filterwarnings("ignore")
        import email, email.policy
        mode, outdir = sys.argv[1], sys.argv[2]

        def rcpt_refusal(arg):
            if mode == "reject" and "nobody@" in arg:
                return "550 5.1.1 <nobody@example.com>: Recipient address rejected"
            if mode == "busy":
                return "451 4.3.0 Mailbox temporarily unavailable, try again later"
            return None

        def save(mailfrom, rcpttos, data):
            msg = email.message_from_bytes(data, policy=email.policy.default)
            record = {"mailfrom": mailfrom, "rcpttos": rcpttos,
                      "headers": [[k, str(v)] for k, v in msg.items()],
                      "subject": str(msg["subject"]), "body": msg.get_content(),
                      "defects": [str(d) for d in msg.defects], "raw": data.decode("utf-8", "replace")}
            n = len([f for f in os.listdir(outdir) if f.endswith(".json")])
            path = os.path.join(outdir, "%d.json" % n)
            with open(path + ".tmp", "w") as f:
                json.dump(record, f)
            os.rename(path + ".tmp", path)

        try:
            if os.environ.get("PATCHBAY_TEST_SMTP_SOCKETSERVER"):
                raise ImportError("the fallback server, asked for")
            import smtpd, asyncore

            class Channel(smtpd.SMTPChannel):
                def smtp_RCPT(self, arg):
                    refusal = rcpt_refusal(arg or "")
                    if refusal:
                        self.push(refusal)
                    else:
                        super().smtp_RCPT(arg)

            class Server(smtpd.SMTPServer):
                channel_class = Channel
                def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
                    save(mailfrom, rcpttos, data)

            server = Server(("127.0.0.1", 0), None)
            print("PORT %d smtpd" % server.socket.getsockname()[1], flush=True)
            asyncore.loop(timeout=0.2)
        except ImportError:
            import socketserver

            class Handler(socketserver.StreamRequestHandler):
                def handle(self):
                    def w(line):
                        self.wfile.write((line + "\r\n").encode()); self.wfile.flush()
                    w("220 localhost test SMTP")
                    mailfrom, rcpts = None, []
                    while True:
                        raw = self.rfile.readline()
                        if not raw:
                            return
                        cmd = raw.decode("utf-8", "replace").rstrip("\r\n")
                        verb = cmd[:4].upper()
                        if verb == "EHLO":
                            w("250-localhost"); w("250 8BITMIME")
                        elif verb == "HELO":
                            w("250 localhost")
                        elif verb == "MAIL":
                            mailfrom, rcpts = cmd[10:].strip().strip("<>"), []; w("250 OK")
                        elif verb == "RCPT":
                            refusal = rcpt_refusal(cmd)
                            if refusal:
                                w(refusal)
                            else:
                                rcpts.append(cmd[8:].strip().strip("<>")); w("250 OK")
                        elif verb == "RSET":
                            w("250 OK")
                        elif verb == "DATA":
                            w("354 End data with <CR><LF>.<CR><LF>")
                            lines = []
                            while True:
                                line = self.rfile.readline()
                                if not line or line == b".\r\n":
                                    break
                                line = line[:-2] if line.endswith(b"\r\n") else line
                                lines.append(line[1:] if line.startswith(b".") else line)
                            save(mailfrom, rcpts, b"\n".join(lines) + b"\n"); w("250 OK queued")
                        elif verb == "QUIT":
                            w("221 Bye"); return
                        else:
                            w("500 unknown command")

            server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
            print("PORT %d socketserver" % server.server_address[1], flush=True)
            server.serve_forever()
        """#

    /// A running server and the directory its messages land in.
    final class SMTPServer: @unchecked Sendable {
        let process = Process()
        let directory: TemporaryDirectory
        let port: Int

        /// `script` is run as `python3 SCRIPT MODE DIR ARGUMENTS…` and prints `PORT n` first.
        init(mode: String = "accept", script text: String = SMTPChannelTests.server, arguments: [String] = []) async throws {
            directory = try TemporaryDirectory()
            let script = directory.url.appendingPathComponent("server.py")
            try Data(text.utf8).write(to: script)
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", script.path, mode, directory.url.path] + arguments
            let stdout = Pipe()
            process.standardOutput = stdout
            process.standardError = FileHandle.nullDevice
            try process.run()
            let handle = stdout.fileHandleForReading
            // The first line is the port; reading blocks, so it happens off the cooperative pool.
            let line = await onOwnThread { () -> String in
                var bytes: [UInt8] = []
                while !bytes.contains(10) {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    bytes += chunk
                }
                return String(decoding: bytes, as: UTF8.self)
            }
            let words = line.split(separator: " ")
            guard words.count >= 2, words[0] == "PORT", let port = Int(words[1]) else {
                kill(process.processIdentifier, SIGKILL)
                throw Failure("the Python SMTP server did not start (python3 missing?): '\(line)'")
            }
            self.port = port
        }

        /// The messages received so far, in order, as Python's `email` package read them.
        func messages() throws -> [[String: Any]] {
            let files = try FileManager.default.contentsOfDirectory(atPath: directory.url.path)
                .filter { $0.hasSuffix(".json") }.sorted { Int($0.dropLast(5))! < Int($1.dropLast(5))! }
            return try files.map {
                try JSONSerialization.jsonObject(with: Data(contentsOf: directory.url.appendingPathComponent($0))) as! [String: Any]
            }
        }

        func stop() async {
            // SIGKILL: the child inherits the test thread's blocked signals, so SIGTERM may wait forever.
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            let process = self.process
            await onOwnThread { process.waitUntilExit() }
            directory.remove()
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static func sink(port: Int, extra: String = "", env: [String: String] = [:], timeout: String = "20s") throws -> SMTPSink {
        let config = try HubConfig.parse(yaml: """
            connectors:
              ops-mail:
                module: smtp
                host: 127.0.0.1
                port: \(port)
                mail_from: "Patchbay Alerts <alerts@hub.example>"
                to: [ops@example.com, finance@example.com]
                helo: hub.example
                timeout: \(timeout)
                subscribe: [alert]
            \(extra)
            """, file: "patchbay.yaml",
            context: ModuleContext(environment: env, baseDirectory: URL(fileURLWithPath: "/tmp"), transport: nil))
        let definition = try #require(config.connectors.first { $0.name == "ops-mail" })
        guard case .sink(let sink) = definition.built, let smtp = sink as? SMTPSink else { throw Failure("not an smtp sink") }
        return smtp
    }

    static func delivery(_ payload: String, key: String = "patchbay-delivery-5") -> OutboundDelivery {
        OutboundDelivery(deliveryId: 5, eventId: 9, topic: "alert", payload: payload, idempotencyKey: key, attempt: 1)
    }

    static func headers(_ message: [String: Any]) -> [(String, String)] {
        (message["headers"] as? [[String]] ?? []).map { ($0[0], $0[1]) }
    }

    @Test("an alert arrives as mail: envelope, From, To, Subject, Message-ID and the details in the body")
    func alertArrives() async throws {
        let server = try await SMTPServer()
        defer { Task { await server.stop() } }
        let sink = try Self.sink(port: server.port)
        let result = await sink.deliver(Self.delivery(AlertChannelTests.firing))
        #expect(FailureClassifier.classify(result) == .delivered, "\(result)")

        let message = try #require(try server.messages().first)
        #expect(message["mailfrom"] as? String == "alerts@hub.example")
        #expect(message["rcpttos"] as? [String] == ["ops@example.com", "finance@example.com"])
        #expect(message["subject"] as? String == "[patchbay] FIRING erp-failing: erp has been failing for 12m: HTTP 503 Service Unavailable")
        let headers = Self.headers(message)
        #expect(headers.first { $0.0 == "From" }?.1 == "Patchbay Alerts <alerts@hub.example>")
        #expect(headers.first { $0.0 == "To" }?.1 == "ops@example.com, finance@example.com")
        #expect(headers.first { $0.0 == "Message-ID" }?.1 == "<patchbay.patchbay-delivery-5@hub.example>")
        #expect(headers.contains { $0.0 == "Date" })
        #expect((message["defects"] as? [String])?.isEmpty == true, "\(message["defects"] ?? "")")
        let body = try #require(message["body"] as? String)
        #expect(body.contains("erp has been failing for 12m: HTTP 503 Service Unavailable"))
        #expect(body.contains("Value:") && body.contains("12m (threshold 10m)"))
        #expect(body.contains("EUR 12480.00") && body.contains("USD 300.00") && !body.contains("12780"))
        #expect(body.contains("Next step: patchbay failed --connector erp"))
        await server.stop()
    }

    @Test("dot-stuffing: body lines that start with a dot, or are one, arrive whole and end nothing early")
    func dotStuffing() async throws {
        let server = try await SMTPServer()
        defer { Task { await server.stop() } }
        let sink = try Self.sink(port: server.port)
        let payload = #"{"type":"alert","rule":"dots","state":"firing","summary":"first\n.hidden line\n.\n..two dots\nlast line"}"#
        let result = await sink.deliver(Self.delivery(payload))
        #expect(FailureClassifier.classify(result) == .delivered, "\(result)")
        let message = try #require(try server.messages().first)
        let body = try #require(message["body"] as? String)
        #expect(body.contains("first\n.hidden line\n.\n..two dots\nlast line\n"), "\(body)")
        #expect(body.contains("Sent by patchbay"))
    }

    @Test("CR/LF in alert text cannot add a header; a non-ASCII subject is RFC 2047 encoded and reads back exactly")
    func headerInjectionAndEncoding() async throws {
        let server = try await SMTPServer()
        defer { Task { await server.stop() } }
        let sink = try Self.sink(port: server.port)
        let injected = #"{"type":"alert","rule":"erp\r\nBcc: thief@evil.example","state":"firing","summary":"down\r\nX-Injected: yes\n\nfake body"}"#
        #expect(FailureClassifier.classify(await sink.deliver(Self.delivery(injected, key: "k1"))) == .delivered)
        let accented = #"{"type":"alert","rule":"lager-münchen","state":"firing","summary":"Überfällige Rechnungen: 3 — 4.200,00 € offen, 日本語も"}"#
        #expect(FailureClassifier.classify(await sink.deliver(Self.delivery(accented, key: "k2"))) == .delivered)

        let messages = try server.messages()
        try #require(messages.count == 2)
        let headers = Self.headers(messages[0])
        #expect(!headers.contains { ["bcc", "x-injected"].contains($0.0.lowercased()) }, "\(headers)")
        #expect(messages[0]["rcpttos"] as? [String] == ["ops@example.com", "finance@example.com"])
        #expect(messages[0]["subject"] as? String == "[patchbay] FIRING erp Bcc: thief@evil.example: down X-Injected: yes fake body")

        #expect(messages[1]["subject"] as? String
            == "[patchbay] FIRING lager-münchen: Überfällige Rechnungen: 3 — 4.200,00 € offen, 日本語も")
        let raw = try #require(messages[1]["raw"] as? String)
        #expect(raw.contains("Subject: =?UTF-8?B?"))
        #expect(raw.utf8.allSatisfy { $0 < 0x80 }, "the message on the wire is 7-bit")
        #expect((messages[1]["body"] as? String)?.contains("Überfällige Rechnungen: 3 — 4.200,00 € offen, 日本語も") == true)
    }

    @Test("a 550 to RCPT is dead at once; a 451 is retried; neither sends the mail to anyone")
    func refusalsAreClassified() async throws {
        let rejecting = try await SMTPServer(mode: "reject")
        defer { Task { await rejecting.stop() } }
        let sink = try Self.sink(port: rejecting.port).with(to: ["ops@example.com", "nobody@example.com"])
        let refused = await sink.deliver(Self.delivery(AlertChannelTests.firing))
        #expect(FailureClassifier.classify(refused) == .permanent(pauseConnector: false), "\(refused)")
        #expect(refused.errorMessage?.contains("RCPT TO:<nobody@example.com>") == true, "\(refused)")
        #expect(refused.errorMessage?.contains("550 5.1.1") == true)
        #expect(try rejecting.messages().isEmpty)

        let busy = try await SMTPServer(mode: "busy")
        defer { Task { await busy.stop() } }
        let later = await (try Self.sink(port: busy.port)).deliver(Self.delivery(AlertChannelTests.firing))
        #expect(FailureClassifier.classify(later) == .retryable(retryAfter: nil), "\(later)")
        #expect(later.errorMessage?.contains("451 4.3.0") == true, "\(later)")
        #expect(try busy.messages().isEmpty)
        await rejecting.stop()
        await busy.stop()
    }

    @Test("no server listening is a connection error, retried; credentials without AUTH on offer are dead and never leak")
    func connectionAndAuthentication() async throws {
        // A port that was free a moment ago: nothing listens there.
        let closed = try await SMTPServer()
        let port = closed.port
        await closed.stop()
        let refused = await (try Self.sink(port: port)).deliver(Self.delivery(AlertChannelTests.firing))
        guard case .connectionError = refused else {
            Issue.record("expected a connection error, got \(refused)")
            return
        }
        #expect(FailureClassifier.classify(refused) == .retryable(retryAfter: nil))

        let server = try await SMTPServer()
        defer { Task { await server.stop() } }
        let password = "hunter2-smtp-password"
        let sink = try Self.sink(port: server.port, extra: "    username: alerts\n    password: \"${SMTP_PASSWORD}\"",
                                 env: ["SMTP_PASSWORD": password])
        #expect(sink.secrets.contains(password))
        let result = await sink.deliver(Self.delivery(AlertChannelTests.firing))
        #expect(FailureClassifier.classify(result) == .permanent(pauseConnector: false), "\(result)")
        #expect(result.errorMessage?.contains("AUTH PLAIN") == true, "\(result)")
        #expect(!"\(result)".contains(password))
        #expect(try server.messages().isEmpty)
    }

    @Test("the smtp configuration refuses bad addresses, inline passwords and header tricks in its own values")
    func configuration() throws {
        func problems(_ keys: String, env: [String: String] = [:]) -> [ConfigProblem] {
            do {
                _ = try HubConfig.parse(yaml: "connectors:\n  m:\n    module: smtp\n    subscribe: [alert]\n" + keys, file: "p.yaml",
                                        context: ModuleContext(environment: env, baseDirectory: URL(fileURLWithPath: "/tmp"), transport: nil))
                return []
            } catch {
                return error.problems
            }
        }
        let good = "    host: localhost\n    mail_from: a@b.example\n    to: [c@d.example]\n"
        #expect(problems(good).isEmpty, "\(problems(good))")
        #expect(problems("    mail_from: a@b.example\n    to: [c@d.example]\n").contains { $0.message.contains("'host'") })
        #expect(problems("    host: localhost\n    mail_from: \"a@b.example\\r\\nBcc: x@y\"\n    to: [c@d.example]\n").contains { $0.path == "connectors.m.mail_from" })
        #expect(problems("    host: localhost\n    mail_from: a@b.example\n    to: [\"c@d.example>\\r\\nRCPT TO:<x@y\"]\n").contains { $0.path == "connectors.m.to" })
        #expect(problems(good + "    username: u\n    password: plain-text-password\n").contains { $0.path == "connectors.m.password" })
        #expect(problems(good + "    username: u\n").contains { $0.path == "connectors.m.username" })
        #expect(problems(good + "    helo: \"bad name\\r\\nMAIL FROM:<x@y>\"\n").contains { $0.path == "connectors.m.helo" })
        #expect(problems(good + "    port: 0\n").contains { $0.path == "connectors.m.port" })
    }
}

extension SMTPSink {
    func with(to addresses: [String]) -> SMTPSink {
        var copy = self
        copy.to = addresses.compactMap(MailAddress.init)
        return copy
    }
}
