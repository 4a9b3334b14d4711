import Foundation
import PatchbayModel

/// Where a PostgreSQL database is: `postgres://user[:password]@host[:port]/dbname[?sslmode=…]`.
///
/// The password stays here: `description` (what errors, logs and `status` print) never shows it.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable {
    public enum TLSMode: String, Sendable, Equatable {
        /// Plain TCP: a loopback or private link.
        case disable
        /// TLS with the server's certificate checked against the system's roots.
        case require
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var tls: TLSMode

    /// Whether `text` names a PostgreSQL database rather than a SQLite file.
    public static func isPostgres(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    public init(host: String, port: Int = 5432, user: String, password: String? = nil, database: String,
                tls: TLSMode = .disable) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.tls = tls
    }

    /// Parses a `postgres://` URL, with an error that names what is wrong (and never the password).
    public init(url text: String) throws {
        guard Self.isPostgres(text), let components = URLComponents(string: text) else {
            throw StoreError.invalidInput("'\(Self.redacted(text))' is not a postgres:// URL "
                + "(expected postgres://USER@HOST[:PORT]/DBNAME)")
        }
        let shown = Self.redacted(text)
        guard let host = components.host, !host.isEmpty else {
            throw StoreError.invalidInput("\(shown): the URL names no host (postgres://USER@HOST/DBNAME)")
        }
        guard let user = components.user, !user.isEmpty else {
            throw StoreError.invalidInput("\(shown): the URL names no user (postgres://USER@HOST/DBNAME)")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw StoreError.invalidInput("\(shown): the URL names no database (postgres://USER@HOST/DBNAME)")
        }
        var tls = TLSMode.disable
        for item in components.queryItems ?? [] {
            switch (item.name, item.value ?? "") {
            case ("sslmode", "disable"): tls = .disable
            case ("sslmode", "require"), ("sslmode", "verify-full"): tls = .require
            case ("sslmode", let other):
                throw StoreError.invalidInput("\(shown): sslmode '\(other)' is not supported (disable, require, verify-full)")
            case (let name, _):
                throw StoreError.invalidInput("\(shown): unknown URL parameter '\(name)' (only sslmode is read)")
            }
        }
        self.init(host: host, port: components.port ?? 5432, user: user.removingPercentEncoding ?? user,
                  password: components.password.map { $0.removingPercentEncoding ?? $0 },
                  database: database.removingPercentEncoding ?? database, tls: tls)
        // A password in the URL ends up in shell history and `ps`: $PGPASSWORD is read instead when
        // the URL has none.
        if password == nil, let fromEnvironment = ProcessInfo.processInfo.environment["PGPASSWORD"], !fromEnvironment.isEmpty {
            password = fromEnvironment
        }
    }

    /// `postgres://user@host:port/dbname`: the location without its password.
    public var description: String {
        var text = "postgres://\(user)@\(host):\(port)/\(database)"
        if tls != .disable { text += "?sslmode=\(tls.rawValue)" }
        return text
    }

    /// The same as `description`: `debugPrint`, `String(reflecting:)` and string interpolation in
    /// logs must not show the password either.
    public var debugDescription: String { description }

    /// `dump()` and debuggers see the location without its password.
    public var customMirror: Mirror {
        Mirror(self, children: ["url": description, "password": password == nil ? "none" : "***"])
    }

    /// `text` with any password between `:` and `@` replaced by `***`.
    static func redacted(_ text: String) -> String {
        guard let scheme = text.range(of: "://"), let at = text[scheme.upperBound...].firstIndex(of: "@") else {
            return text
        }
        let userInfo = text[scheme.upperBound..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }
}
