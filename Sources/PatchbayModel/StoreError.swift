/// A failure a user can act on: what failed, on which file or input, and what to do.
public enum StoreError: Error, Equatable, CustomStringConvertible {
    case missing(path: String)
    case uninitialized(path: String)
    case notADatabase(path: String, detail: String)
    case notPatchbay(path: String)
    case newerSchema(path: String)
    case olderSchema(path: String)
    case corrupt(path: String, detail: String)
    case unreadable(path: String, detail: String)
    case readOnly(path: String)
    /// The file system does not let this process write the database (or create its `-wal` and `-shm`).
    case notWritable(path: String, detail: String)
    case busy(path: String)
    case diskFull(path: String)
    case unknownConnector(String)
    case unknownEvent(EventID)
    case unknownErrorGroup(Int64)
    case invalidInput(String)
    case database(path: String, detail: String)

    public var description: String {
        switch self {
        case .missing(let path):
            return "\(path): no such database. Create it with `patchbay init --db \(path)`."
        case .uninitialized(let path):
            return "\(path): the database is empty. Run `patchbay init --db \(path)` to create the schema."
        case .notADatabase(let path, let detail):
            return "\(path): not a SQLite database (\(detail)). Point --db at a Patchbay database, or choose a new path for `patchbay init`."
        case .notPatchbay(let path):
            return "\(path): a SQLite database, but not a Patchbay one. Choose a new path for `patchbay init`."
        case .newerSchema(let path):
            return "\(path): made by a newer Patchbay (unknown schema migrations). Upgrade patchbay to open it."
        case .olderSchema(let path):
            return "\(path): the schema is older than this patchbay. Run `patchbay init --db \(path)` to migrate it."
        case .corrupt(let path, let detail):
            return "\(path): the database is corrupt (\(detail)). Restore it from a backup; patchbay will not overwrite it."
        case .unreadable(let path, let detail):
            return "\(path): cannot open the database (\(detail)). Check the path and its permissions."
        case .readOnly(let path):
            return "\(path): opened read-only; this action writes. Run without --read-only."
        case .notWritable(let path, let detail):
            return "\(path): cannot write the database: \(detail). Fix the permissions, or run patchbay as a user who may write it."
        case .busy(let path):
            return "\(path): the database stayed locked by another process. Try again; check for a stuck writer."
        case .diskFull(let path):
            return "\(path): the disk is full; nothing was written. Free space and try again."
        case .unknownConnector(let name):
            return "no connector named '\(name)'. `patchbay status` lists them."
        case .unknownEvent(let id):
            return "no event with id \(id)."
        case .unknownErrorGroup(let id):
            return "no error group with id \(id). `patchbay failed --group` lists them."
        case .invalidInput(let message):
            return message
        case .database(let path, let detail):
            return "\(path): \(detail)"
        }
    }
}
