import Foundation
import PatchbayStore

/// Where the shared sample data lives: `../shared/fixtures` beside the project root.
public enum Fixtures {
    public static let projectRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        // Sources/TestSupport/TestSupport.swift -> project root
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }()

    public static let shared: URL = projectRoot.deletingLastPathComponent()
        .appendingPathComponent("shared/fixtures", isDirectory: true)

    /// A file under `../shared/fixtures`, e.g. `url("quickbooks/ar-aging-detail.csv")`.
    public static func url(_ relativePath: String) -> URL {
        shared.appendingPathComponent(relativePath)
    }

    public static func data(_ relativePath: String) throws -> Data {
        try Data(contentsOf: url(relativePath))
    }

    /// A file under the project's own `Tests/Fixtures`.
    public static func local(_ relativePath: String) -> URL {
        projectRoot.appendingPathComponent("Tests/Fixtures").appendingPathComponent(relativePath)
    }
}

/// A fresh directory under the system's temporary directory, removed by `remove()`.
public struct TemporaryDirectory: Sendable {
    public let url: URL

    public init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("patchbay-test-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    public func remove() { try? FileManager.default.removeItem(at: url) }
}

/// A new, migrated database in a temporary directory.
public func makeTestStore(homeCurrency: String = "USD") throws -> (Store, TemporaryDirectory) {
    let directory = try TemporaryDirectory()
    let store = try Store.open(at: directory.path("test.sqlite"), mode: .create(homeCurrency: homeCurrency))
    return (store, directory)
}

/// Runs blocking work (poll, waitpid, a child process) on a thread of its own and awaits its
/// result. Blocking inside a task holds one of the cooperative pool's threads (two on a two-core
/// machine), and an in-process server that needs that pool to accept stalls meanwhile: a test
/// that blocks for seconds must not do it on the pool.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: body()) }
        thread.start()
    }
}
