import Foundation
import PatchbayHub
import Testing
@testable import PatchbayConnectors

/// Secrets stay where they are: an exec child gets only what its connector names and none of the
/// hub's descriptors; credentials written inline are refused (without being echoed back); whatever
/// a target echoes of a connector's secrets is redacted before it is stored.
@Suite("Secrets stay in their place")
struct SecretsTests {
    private static func parse(_ yaml: String, env: [String: String]) throws -> HubConfig {
        try HubConfig.parse(yaml: yaml, file: "patchbay.yaml",
                            context: ModuleContext(environment: env, baseDirectory: URL(fileURLWithPath: "/tmp"), transport: nil))
    }

    private static func problems(_ yaml: String, env: [String: String] = [:]) -> [ConfigProblem] {
        do {
            _ = try parse(yaml, env: env)
            Issue.record("the configuration was accepted")
            return []
        } catch let error as ConfigError {
            return error.problems
        } catch {
            Issue.record("unexpected \(error)")
            return []
        }
    }

    private static func sink(_ config: HubConfig, _ name: String) throws -> any Sink {
        let definition = try #require(config.connectors.first { $0.name == name })
        guard case .sink(let sink) = definition.built else { throw TestFailure("\(name) is not a sink") }
        return sink
    }

    struct TestFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    private static func scratch() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("patchbay-secrets-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    private static func delivery() -> OutboundDelivery {
        OutboundDelivery(deliveryId: 11, eventId: 7, topic: "order_created", payload: #"{"id":"A-1"}"#,
                         idempotencyKey: "patchbay-delivery-11", attempt: 1)
    }

    @Test("an exec child sees only PATH, HOME, LANG, TZ, its own env: map and the delivery's variables")
    func execEnvironmentIsAllowListed() async throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let env = [
            "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/root", "LANG": "C.UTF-8", "TZ": "UTC",
            "XERO_ACCESS_TOKEN": "xero-token-must-not-leak", "SHOPIFY_SECRET": "shopify-secret-must-not-leak",
            "LABEL_TOKEN": "label-token-for-the-printer", "OUT": dir.path,
        ]
        let config = try Self.parse("""
            connectors:
              shop: {module: webhook, signature: shopify, secret: "${SHOPIFY_SECRET}"}
              xero: {module: http, url: "https://api.xero.com/x", headers: {Authorization: "Bearer ${XERO_ACCESS_TOKEN}"}, from: [shop]}
              printer:
                module: exec
                command: 'env > "$OUT/env"'
                env: {LABEL_TOKEN: "${LABEL_TOKEN}", QUEUE: dock-2, OUT: "${OUT}"}
                from: [shop]
            """, env: env)
        let printer = try Self.sink(config, "printer")
        #expect(printer.secrets == ["label-token-for-the-printer"])
        let result = await printer.deliver(Self.delivery())
        #expect(result == .success(status: nil, excerpt: nil), "\(result)")
        let lines = try String(contentsOf: dir.appendingPathComponent("env"), encoding: .utf8).split(separator: "\n")
        let names = Set(lines.compactMap { $0.split(separator: "=", maxSplits: 1).first.map(String.init) })
        let expected: Set = ["PATH", "HOME", "LANG", "TZ", "LABEL_TOKEN", "QUEUE", "OUT", "PATCHBAY_EVENT_ID", "PATCHBAY_DELIVERY_ID",
                             "PATCHBAY_TOPIC", "PATCHBAY_ATTEMPT", "PATCHBAY_IDEMPOTENCY_KEY"]
        // The shell may add its own (PWD, SHLVL, _); nothing else of the hub's may be there.
        #expect(names.subtracting(["PWD", "SHLVL", "_", "OLDPWD"]) == expected)
        #expect(!lines.contains { $0.contains("must-not-leak") })
        #expect(lines.contains("QUEUE=dock-2"))
    }

    @Test("an exec sink built in code inherits nothing of this process's environment but the allow-list")
    func execDefaultEnvironmentIsFiltered() async throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        setenv("PATCHBAY_TEST_HUB_SECRET", "hub-secret-must-not-leak", 1)
        defer { unsetenv("PATCHBAY_TEST_HUB_SECRET") }
        let sink = ExecSink(command: ["/bin/sh", "-c", "env > \"$0\"", dir.appendingPathComponent("env").path])
        #expect(sink.environment.keys.allSatisfy(ExecSink.inheritedVariables.contains))
        _ = await sink.deliver(Self.delivery())
        let text = try String(contentsOf: dir.appendingPathComponent("env"), encoding: .utf8)
        #expect(!text.contains("hub-secret-must-not-leak"))
        #expect(text.contains("PATCHBAY_EVENT_ID=7"))
    }

    @Test("an exec child holds no descriptor of the hub beyond 0, 1 and 2 (no listening socket, no file)")
    func execChildGetsNoDescriptors() async throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Opened the way a library might: no close-on-exec.
        let file = open("/dev/null", O_RDONLY)
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(file > 2 && listener > 2 && bound == 0 && listen(listener, 4) == 0)
        defer { close(file); close(listener) }
        #expect(fcntl(file, F_GETFD) & FD_CLOEXEC == 0 && fcntl(listener, F_GETFD) & FD_CLOEXEC == 0)
        let out = dir.appendingPathComponent("fds").path
        // The shell lists its own descriptors (ls runs as its child, with stdout redirected).
        let sink = ExecSink(command: ["/bin/sh", "-c", "ls /proc/$$/fd > \"$0\"", out])
        let result = await sink.deliver(Self.delivery())
        #expect(result == .success(status: nil, excerpt: nil), "\(result)")
        let fds = Set(try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").map(String.init))
        #expect(fds.isSuperset(of: ["0", "1", "2"]))
        // (dash keeps a descriptor of its own at 10 or above while it redirects.)
        #expect(!fds.contains(String(file)) && !fds.contains(String(listener)), "inherited: \(fds.sorted())")
        #expect(fds.subtracting(["0", "1", "2"]).allSatisfy { (Int($0) ?? 0) >= 10 }, "\(fds.sorted())")
    }

    @Test("credential headers are any header naming a token, secret, key or auth, and must be references")
    func credentialHeadersMustBeReferences() {
        for header in ["Authorization", "X-API-Key", "X-Shopify-Access-Token", "X-Client-Secret", "Proxy-Authorization", "Cookie"] {
            let found = Self.problems("""
                connectors:
                  src: {module: webhook, signature: none}
                  out: {module: http, url: "https://erp.example/x", headers: {\(header): "hunter2-inline-value"}, from: [src]}
                """)
            #expect(found.contains { $0.path == "connectors.out.headers" && $0.message.contains(header) }, "\(header): \(found)")
            #expect(!found.contains { $0.message.contains("hunter2") }, "the inline value is echoed: \(found)")
        }
        #expect(!OptionReader.isCredentialHeader("Xero-Tenant-Id"))
        #expect(!OptionReader.isCredentialHeader("Content-Type"))
    }

    @Test("a URL with an inline password is refused, and the password is not echoed in the problem")
    func inlineURLPasswordIsRefused() throws {
        let found = Self.problems("""
            connectors:
              src: {module: webhook, signature: none}
              out: {module: http, url: "https://sync:hunter2-url-password@erp.example/orders", from: [src]}
            """)
        let problem = try #require(found.first { $0.path == "connectors.out.url" })
        #expect(problem.message.contains("sync:***@"))
        #expect(!found.contains { $0.message.contains("hunter2") })
        // A referenced password is fine, and is redacted like any secret.
        let config = try Self.parse("""
            connectors:
              src: {module: webhook, signature: none}
              out: {module: http, url: "https://sync:${ERP_PASSWORD}@erp.example/orders", from: [src]}
            """, env: ["ERP_PASSWORD": "erp-url-password"])
        #expect(try Self.sink(config, "out").secrets.contains("erp-url-password"))
    }

    @Test("an HTTP sink's secrets are its credential header values and the secret references of its URL")
    func httpSinkKnowsItsSecrets() throws {
        let config = try Self.parse("""
            connectors:
              src: {module: webhook, signature: none}
              out:
                module: http
                url: "https://erp.example/orders?hook_token=${HOOK_TOKEN}&tenant=${TENANT}"
                headers: {Authorization: "Bearer ${ERP_TOKEN}", Xero-Tenant-Id: "${TENANT}"}
                from: [src]
            """, env: ["HOOK_TOKEN": "url-hook-token", "ERP_TOKEN": "erp-bearer-token", "TENANT": "tenant-42"])
        let secrets = Set(try Self.sink(config, "out").secrets)
        #expect(secrets == ["url-hook-token", "Bearer erp-bearer-token", "erp-bearer-token"])
    }

    @Test("redaction removes a secret as is, JSON-escaped and cut short at an excerpt's end")
    func redactionForms() {
        let redaction = Redaction(["Bearer abc/def-123456", "abc/def-123456"])
        #expect(redaction.apply(#"{"echo":"Bearer abc/def-123456"}"#) == #"{"echo":"[redacted]"}"#)
        #expect(redaction.apply(#"{"echo":"abc\/def-123456"}"#) == #"{"echo":"[redacted]"}"#)
        #expect(redaction.apply("…your header was Bearer abc/de…") == "…your header was [redacted]…")
        #expect(redaction.apply("nothing to hide") == "nothing to hide")
        let result = SinkResult.httpError(status: 401, message: "invalid token abc/def-123456", retryAfter: nil,
                                          excerpt: "Authorization: Bearer abc/def-123456")
        #expect(result.redacting(redaction) == .httpError(status: 401, message: "invalid token [redacted]", retryAfter: nil,
                                                          excerpt: "Authorization: [redacted]"))
    }
}
