import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import PatchbayConnectors
import PatchbayPostgres
import PatchbayStore
import PatchbayText

#if canImport(Glibc)
import Glibc
private let streamSocket = Int32(SOCK_STREAM.rawValue)
private let sendFlags = Int32(MSG_NOSIGNAL)
private func closeDescriptor(_ fd: Int32) { _ = Glibc.close(fd) }
#elseif canImport(Darwin)
import Darwin
private let streamSocket = SOCK_STREAM
private let sendFlags: Int32 = 0
private func closeDescriptor(_ fd: Int32) { _ = Darwin.close(fd) }
#endif

extension Patchbay {
    struct AuthLogin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "login",
            abstract: "Sign a connector in to its OAuth provider (authorization code with PKCE) and store its tokens.",
            discussion: """
                Prints the provider's sign-in URL to open in a browser and waits for the provider's
                redirect on http://127.0.0.1:PORT/callback (auth.redirect_port, default 8765; register
                that redirect URI with the app). The code is exchanged at auth.token_url, the tokens are
                stored in the database (replacing any held), and a connector paused by a refused refresh
                is resumed. Xero: the organisations the sign-in may reach are listed from /connections
                (Xero-Tenant-Id goes in the connector's headers). QuickBooks: the realmId is printed.
                No token or secret is ever printed.
                """)

        @Argument(help: "The connector (a sink or an API pull with auth: {type: oauth2}).") var connector: String
        @Option(help: "The configuration file.") var config = "patchbay.yaml"
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The loopback port of the redirect (default: auth.redirect_port, else 8765).") var port: Int?
        @Option(help: "How long to wait for the redirect (e.g. 90s, 5m).", transform: Duration.parse)
        var timeout = Duration(seconds: 300)
        @Option(help: .hidden) var xeroConnectionsURL = "https://api.xero.com/connections"

        func run() async throws {
            let signIn = try AuthCommands.load(connector: connector, config: config)
            let client = signIn.client
            let port = port ?? client.redirectPort
            guard (1...65535).contains(port) else { throw ValidationError("--port must be from 1 to 65535") }
            guard client.authorizeURL != nil else {
                throw CLIError("\(connector): auth.authorize_url is not set and not known for \(client.tokenURL): add it to the configuration")
            }
            let redirectURI = OAuthClient.redirectURI(port: port)
            let verifier = OAuthClient.randomToken()
            let state = OAuthClient.randomToken(bytes: 16)
            let listener = try LoopbackListener(port: port)
            defer { listener.close() }
            let url = client.authorizationURL(redirectURI: redirectURI, state: state,
                                              codeChallenge: OAuthClient.codeChallenge(verifier: verifier))!
            emit("Open this URL in a browser and sign in to \(connector):\n\n  \(url)\n\nwaiting for the redirect to \(redirectURI) …")
            fflush(nil)  // every stream: a pipe (a test, a wrapper) must see the URL now

            let deadline = Date().addingTimeInterval(timeout.seconds)
            guard let callback = await listener.nextCallback(until: deadline) else {
                throw CLIError("no redirect to \(redirectURI) within \(Int(timeout.seconds))s: nothing stored; run auth login again")
            }
            let query = callback.query
            guard query["state"] == state else {
                callback.respond(status: 400, title: "Sign-in refused", text: "This redirect does not belong to the sign-in patchbay is waiting for. Nothing was stored.")
                throw CLIError("the redirect's state did not match this login (an old tab, or a forged redirect): nothing stored; run auth login again")
            }
            if let error = query["error"] {
                let description = query["error_description"].map { ": " + String($0.prefix(200)) } ?? ""
                callback.respond(status: 200, title: "Sign-in not completed", text: "The provider answered \(error). Nothing was stored; you can close this tab.")
                throw CLIError(SafeText.line("the provider did not sign \(connector) in: \(error)\(description); nothing stored"))
            }
            guard let code = query["code"], !code.isEmpty else {
                callback.respond(status: 400, title: "Sign-in not completed", text: "The redirect carried no code. Nothing was stored.")
                throw CLIError("the redirect carried no code: nothing stored; run auth login again")
            }

            let http = HTTPClient.shared
            let requestedAt = Date()
            let exchange = client.codeExchangeRequest(code: code, redirectURI: redirectURI, codeVerifier: verifier)
            let answer: OAuthClient.Answer
            do {
                let response = try await AuthCommands.send(exchange, with: http)
                answer = OAuthClient.read(status: response.status, body: response.body, requestedAt: requestedAt)
            } catch {
                answer = .failed("token endpoint: \(error.description)")
            }
            let grant: OAuthTokenGrant
            switch answer {
            case .granted(let granted):
                grant = granted
            case .refused(let summary), .failed(let summary):
                callback.respond(status: 502, title: "Sign-in not completed",
                                 text: "patchbay could not exchange the code for tokens. Nothing was stored; see the terminal.")
                throw CLIError(signIn.redact("the code exchange failed: \(summary); nothing stored"))
            }
            callback.respond(status: 200, title: "Signed in", text: "patchbay stored the tokens of \(connector). You can close this tab.")

            let store = try AuthCommands.openStore(database: database, hub: signIn.hub, config: config)
            let id = try store.saveConnector(signIn.definition.spec).id
            let resumed = try store.storeSignIn(connector: id, grant: grant, now: Date())
            let expiry = grant.accessExpiresAt.map { " (the access token is valid for \(max(0, ($0 - Date().millis) / 1000)) s)" } ?? ""
            emit("Signed in: stored the tokens of \(connector)\(expiry)"
                 + (grant.refreshToken == nil ? "; the provider sent no refresh token (is offline_access among the scopes?)" : "") + ".")
            if resumed { emit("Resumed \(connector), paused after its refresh token was refused.") }

            if let realm = query["realmId"], !realm.isEmpty {
                emit(SafeText.line("QuickBooks company (realmId): \(realm): it goes in the connector's URL, "
                                   + "like https://quickbooks.api.intuit.com/v3/company/\(realm)/invoice"))
            }
            if signIn.isXero {
                try await xeroTenants(access: grant.accessToken, headers: signIn.headers, http: http, redact: signIn.redact)
            }
        }

        /// The organisations this sign-in reaches (`GET /connections`), against the configured tenant.
        func xeroTenants(access: String, headers: [String: String], http: HTTPClient, redact: (String) -> String) async throws {
            let request = OutboundRequest(method: "GET", url: xeroConnectionsURL, headers: [
                "Authorization": "Bearer \(access)", "Accept": "application/json",
            ], body: [])
            let response: OutboundResponse
            do {
                response = try await AuthCommands.send(request, with: http)
            } catch {
                throw CLIError("signed in, but the Xero organisations could not be listed: \(error.description)")
            }
            guard (200..<300).contains(response.status),
                  let list = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [[String: Any]] else {
                throw CLIError(redact("signed in, but Xero's /connections answered HTTP \(response.status)"))
            }
            let tenants = list.compactMap { entry -> (id: String, name: String)? in
                guard let id = entry["tenantId"] as? String else { return nil }
                return (id, (entry["tenantName"] as? String) ?? "")
            }
            let configured = headers.first { $0.key.lowercased() == "xero-tenant-id" }?.value
            if let configured, !configured.isEmpty {
                guard tenants.contains(where: { $0.id == configured }) else {
                    let known = tenants.map { "\($0.id) (\($0.name))" }.joined(separator: ", ")
                    throw CLIError(SafeText.line("signed in, but this sign-in cannot reach the configured Xero-Tenant-Id "
                        + "\(configured); it reaches: \(known.isEmpty ? "no organisation" : known). Sign in again choosing that organisation, or fix the header"))
                }
                let name = tenants.first { $0.id == configured }?.name ?? ""
                emit(SafeText.line("Xero organisation: \(name) (\(configured)), as configured."))
            } else if tenants.count == 1 {
                emit(SafeText.line("Xero organisation: \(tenants[0].name) (\(tenants[0].id)): put it in the connector's "
                                   + "headers: {Xero-Tenant-Id: \(tenants[0].id)}"))
            } else if tenants.isEmpty {
                emit("This sign-in reaches no Xero organisation: sign in again and choose one.")
            } else {
                emit("This sign-in reaches several Xero organisations; put the one to use in the connector's headers "
                     + "(Xero-Tenant-Id: ID):")
                for tenant in tenants { emit(SafeText.line("  \(tenant.id)  \(tenant.name)")) }
            }
        }
    }

    struct AuthLogout: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "logout",
            abstract: "Revoke a connector's refresh token at its provider and delete its tokens from the database.",
            discussion: """
                The refresh token is revoked at auth.revoke_url (known for Xero and Intuit). When the
                provider cannot be reached or refuses, the tokens are deleted here anyway and the
                command says so (revoke the app's access at the provider then). Exit status 1 then.
                """)

        @Argument(help: "The connector (a sink or an API pull with auth: {type: oauth2}).") var connector: String
        @Option(help: "The configuration file.") var config = "patchbay.yaml"
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let signIn = try AuthCommands.load(connector: connector, config: config)
            let store = try AuthCommands.openStore(database: database, hub: signIn.hub, config: config)
            guard let id = try store.connector(named: connector)?.id, let record = try store.oauthToken(connector: id) else {
                emit("\(connector) holds no tokens: nothing to revoke.")
                return
            }
            var problem: String?
            if let refresh = record.refreshToken ?? record.accessToken {
                if let request = signIn.client.revokeRequest(token: refresh) {
                    do {
                        let response = try await AuthCommands.send(request, with: HTTPClient.shared)
                        if !(200..<300).contains(response.status) {
                            let excerpt = String(decoding: response.body.prefix(200), as: UTF8.self)
                            problem = signIn.redact("the provider answered HTTP \(response.status) \(excerpt)")
                        }
                    } catch {
                        problem = "the provider could not be reached: \(error.description)"
                    }
                } else {
                    problem = "auth.revoke_url is not set and not known for \(signIn.client.tokenURL)"
                }
            }
            try store.deleteTokens(connector: id)
            if let problem {
                emit(SafeText.line("Deleted the tokens of \(connector) here, but the revocation failed: \(problem). "
                                   + "Revoke the app's access at the provider."))
                throw ExitCode(1)
            }
            emit(record.refreshToken == nil && record.accessToken == nil
                 ? "Deleted the tokens of \(connector) (none was held to revoke)."
                 : "Revoked the token of \(connector) at the provider and deleted its tokens here.")
        }
    }
}

/// What `auth login` and `auth logout` share: the connector's OAuth client from the configuration,
/// the database, and sending a request.
enum AuthCommands {
    struct SignIn {
        var hub: HubConfig
        var definition: ConnectorDefinition
        var client: OAuthClient
        var headers: [String: String]
        var secrets: [String]

        var isXero: Bool {
            definition.module == "xero" || URL(string: client.tokenURL)?.host?.lowercased() == "identity.xero.com"
                || headers.keys.contains { $0.lowercased() == "xero-tenant-id" }
        }

        func redact(_ text: String) -> String {
            var text = text
            for secret in secrets where secret.count >= 4 { text = text.replacingOccurrences(of: secret, with: "[redacted]") }
            return SafeText.line(text)
        }
    }

    static func load(connector name: String, config: String) throws -> SignIn {
        let hub: HubConfig
        do {
            hub = try HubConfig.load(file: URL(fileURLWithPath: config))
        } catch {
            throw CLIError(error.description)
        }
        guard let definition = hub.connectors.first(where: { $0.name == name }) else {
            throw CLIError("\(config) has no connector named \(name)")
        }
        guard let connection = definition.built.saasConnection, let binding = connection.oauth else {
            throw CLIError("\(name) has no auth: {type: oauth2} in \(config)")
        }
        guard binding.client.grant == .refreshToken else {
            throw CLIError("\(name) uses grant: client_credentials, which needs no sign-in")
        }
        return SignIn(hub: hub, definition: definition, client: binding.client, headers: connection.headers,
                      secrets: connection.secrets + [binding.client.clientSecret])
    }

    /// --db, else the configuration's `database:`, else $PATCHBAY_DB, else ./patchbay.sqlite.
    static func openStore(database: DatabaseOptions, hub: HubConfig, config: String) throws -> any CommandStore {
        if let db = database.db, !db.isEmpty { return try database.openStore() }
        if let configured = hub.database {
            var options = DatabaseOptions()
            options.db = Patchbay.Run.resolve(configured, besideConfig: config)
            return try options.openStore()
        }
        return try database.openStore()
    }

    static func send(_ request: OutboundRequest, with client: HTTPClient) async throws -> OutboundResponse {
        var outbound = HTTPClientRequest(url: request.url)
        outbound.method = .init(rawValue: request.method)
        for (name, value) in request.headers { outbound.headers.add(name: name, value: value) }
        outbound.headers.replaceOrAdd(name: "User-Agent", value: "patchbay/1")
        if !request.body.isEmpty { outbound.body = .bytes(ByteBuffer(bytes: request.body)) }
        let response = try await client.execute(outbound, timeout: .seconds(20))
        var body: [UInt8] = []
        for try await chunk in response.body where body.count < 256 * 1024 {
            body += chunk.readableBytesView
        }
        var headers: [String: String] = [:]
        for header in response.headers { headers[header.name] = header.value }
        return OutboundResponse(status: Int(response.status.code), headers: headers, body: body)
    }
}

extension Error {
    fileprivate var description: String { SafeText.line(String(describing: self)) }
}

/// A one-request-at-a-time HTTP listener on 127.0.0.1 only, for the OAuth redirect (RFC 8252 §7.3).
/// Requests to other paths (a browser's favicon) get a 404 and the wait goes on.
final class LoopbackListener: @unchecked Sendable {
    let fd: Int32
    let port: Int

    init(port: Int) throws {
        let fd = socket(AF_INET, streamSocket, 0)
        guard fd >= 0 else { throw CLIError("cannot open a socket for the redirect") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 8) == 0 else {
            closeDescriptor(fd)
            throw CLIError("cannot listen on 127.0.0.1:\(port) for the redirect (in use?): choose another with --port "
                           + "and register http://127.0.0.1:PORT/callback with the app")
        }
        self.fd = fd
        self.port = port
    }

    func close() { closeDescriptor(fd) }

    /// A request to /callback, its connection open until `respond`.
    struct Callback: Sendable {
        var connection: Int32
        var query: [String: String]

        func respond(status: Int, title: String, text: String) {
            let html = "<!doctype html><html><head><meta charset=\"utf-8\"><title>patchbay: \(Self.escaped(title))</title></head>"
                + "<body><h1>\(Self.escaped(title))</h1><p>\(Self.escaped(text))</p></body></html>"
            LoopbackListener.write(connection, status: status, contentType: "text/html; charset=utf-8", body: html)
            closeDescriptor(connection)
        }

        static func escaped(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
    }

    /// The next request to /callback, or nil at the deadline. Waits on a thread of its own.
    func nextCallback(until deadline: Date) async -> Callback? {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: self.waitForCallback(until: deadline)) }
            thread.start()
        }
    }

    private func waitForCallback(until deadline: Date) -> Callback? {
        while true {
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { return nil }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min(left, 1) * 1000))
            if ready <= 0 { continue }
            let connection = accept(fd, nil, nil)
            guard connection >= 0 else { continue }
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            guard let target = Self.readRequestTarget(connection) else {
                Self.write(connection, status: 400, contentType: "text/plain", body: "bad request\n")
                closeDescriptor(connection)
                continue
            }
            let components = URLComponents(string: "http://127.0.0.1" + target)
            guard components?.path == "/callback" else {
                Self.write(connection, status: 404, contentType: "text/plain", body: "not found\n")
                closeDescriptor(connection)
                continue
            }
            var query: [String: String] = [:]
            for item in components?.queryItems ?? [] where query[item.name] == nil { query[item.name] = item.value ?? "" }
            return Callback(connection: connection, query: query)
        }
    }

    /// The target of a `GET` request line; nil for anything else.
    static func readRequestTarget(_ connection: Int32) -> String? {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 32 * 1024 {
            let n = read(connection, &buffer, buffer.count)
            if n <= 0 { break }
            bytes += buffer[0..<n]
            if bytes.count >= 4, bytes.suffix(4) == [13, 10, 13, 10] { break }
            if let text = String(bytes: bytes, encoding: .utf8), text.contains("\r\n\r\n") { break }
        }
        guard let head = String(bytes: bytes, encoding: .utf8), let line = head.split(separator: "\r\n").first else { return nil }
        let parts = line.split(separator: " ")
        guard parts.count == 3, parts[0] == "GET", parts[1].hasPrefix("/") else { return nil }
        return String(parts[1])
    }

    static func write(_ connection: Int32, status: Int, contentType: String, body: String) {
        let reason = [200: "OK", 400: "Bad Request", 404: "Not Found", 502: "Bad Gateway"][status] ?? "Error"
        let bytes = Array(body.utf8)
        let head = "HTTP/1.1 \(status) \(reason)\r\nContent-Type: \(contentType)\r\nContent-Length: \(bytes.count)\r\n"
            + "Cache-Control: no-store\r\nConnection: close\r\n\r\n"
        let all = Array(head.utf8) + bytes
        var sent = 0
        while sent < all.count {
            let n = all[sent...].withUnsafeBytes { send(connection, $0.baseAddress, $0.count, sendFlags) }
            if n <= 0 { break }
            sent += n
        }
    }
}
