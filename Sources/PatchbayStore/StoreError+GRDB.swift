import GRDB

extension StoreError {
    static func wrap(_ error: Error, path: String) -> StoreError {
        if let error = error as? StoreError { return error }
        guard let error = error as? DatabaseError else {
            return .database(path: path, detail: String(describing: error))
        }
        let detail = error.message ?? "\(error.resultCode)"
        switch error.resultCode {
        case .SQLITE_NOTADB: return .notADatabase(path: path, detail: detail)
        case .SQLITE_CORRUPT: return .corrupt(path: path, detail: detail)
        case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_AUTH: return .unreadable(path: path, detail: detail)
        case .SQLITE_READONLY: return .readOnly(path: path)
        case .SQLITE_BUSY, .SQLITE_LOCKED: return .busy(path: path)
        case .SQLITE_FULL: return .diskFull(path: path)
        case .SQLITE_IOERR: return .database(path: path, detail: "I/O error: \(detail)")
        default: return .database(path: path, detail: detail)
        }
    }

    /// `wrap`, where the file system may be the cause: SQLite's "readonly" (which this process
    /// did not ask for: `Store.write` refuses a read-only store's writes before SQLite sees them)
    /// and "unable to open" then say whose file or directory is in the way.
    static func wrapCheckingAccess(_ error: Error, path: String, writing: Bool = true) -> StoreError {
        let wrapped = wrap(error, path: path)
        switch wrapped {
        case .readOnly:
            let detail = WriteAccess.problem(at: path, writing: writing)
                ?? (error as? DatabaseError)?.message ?? "SQLite opened it read-only"
            return .notWritable(path: path, detail: detail)
        case .unreadable:
            return WriteAccess.problem(at: path, writing: writing).map { .notWritable(path: path, detail: $0) } ?? wrapped
        default:
            return wrapped
        }
    }
}
