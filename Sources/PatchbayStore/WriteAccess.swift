import Foundation

/// Why this process may not write a database, as the file system tells it: which file or
/// directory, whose it is, its mode, and who patchbay runs as.
///
/// SQLite opens a file it cannot write read-only without saying so, and fails later with
/// `SQLITE_READONLY` ("attempt to write a readonly database"); a WAL database also needs its
/// `-wal` and `-shm` beside it, created in its directory. This turns those into a reason a person
/// can act on: `permission denied (the file is owned by alice, mode 0444; patchbay runs as bob)`.
enum WriteAccess {
    /// What stands in the way of using the database at `path`, or nil when nothing does.
    ///
    /// A reader needs no write access to the file itself, but still the `-shm` (and `-wal`), or
    /// a directory where SQLite may create them.
    static func problem(at path: String, writing: Bool = true) -> String? {
        let fileManager = FileManager.default
        let name = (path as NSString).lastPathComponent
        var missing: [String] = []
        if !fileManager.fileExists(atPath: path) {
            missing.append(name)
        } else if writing, let problem = blocker(path, subject: "the file", access: W_OK) {
            return problem
        }
        for suffix in ["-wal", "-shm"] {
            if !fileManager.fileExists(atPath: path + suffix) {
                missing.append(name + suffix)
            } else if let problem = blocker(path + suffix, subject: name + suffix, access: R_OK | W_OK) {
                return problem
            }
        }
        guard !missing.isEmpty else { return nil }
        var directory = (path as NSString).deletingLastPathComponent
        if directory.isEmpty { directory = "." }
        let files = missing.count == 1 ? missing[0] : missing.dropLast().joined(separator: ", ") + " and " + missing.last!
        return blocker(directory, subject: "the directory \(directory), where \(files) must be created,", access: W_OK | X_OK)
    }

    /// The reason `path` cannot be accessed as `access` by the effective user, or nil.
    private static func blocker(_ path: String, subject: String, access: Int32) -> String? {
        if faccessat(AT_FDCWD, path, access, AT_EACCESS) == 0 { return nil }
        let error = errno
        var info = stat()
        guard stat(path, &info) == 0 else { return reason(errno: error) }
        return reason(errno: error) + " (" + explanation(subject: subject, ownerUID: info.st_uid, mode: info.st_mode,
                                                        effectiveUID: geteuid(), userName: userName) + ")"
    }

    /// `permission denied`, `read-only file system`, or the system's words for `errno`.
    static func reason(errno: Int32) -> String {
        switch errno {
        case EACCES, EPERM: return "permission denied"
        case EROFS: return "the file system is mounted read-only"
        default: return String(cString: strerror(errno)).lowercased()
        }
    }

    /// `the file is owned by alice, mode 0444; patchbay runs as bob`.
    static func explanation(subject: String, ownerUID: uid_t, mode: mode_t, effectiveUID: uid_t,
                            userName: (uid_t) -> String?) -> String {
        func who(_ uid: uid_t) -> String { userName(uid).map { "\($0) (uid \(uid))" } ?? "uid \(uid)" }
        let permissions = String(mode & 0o7777, radix: 8)
        let padded = String(repeating: "0", count: max(0, 4 - permissions.count)) + permissions
        return "\(subject) is owned by \(who(ownerUID)), mode \(padded); patchbay runs as \(who(effectiveUID))"
    }

    /// The login name of `uid` from the password database, or nil.
    static func userName(_ uid: uid_t) -> String? {
        guard let entry = getpwuid(uid), let name = entry.pointee.pw_name else { return nil }
        return String(cString: name)
    }

    /// Creates the empty file of a new database readable and writable by its owner only (0600,
    /// whatever the umask): it holds payloads and invoices. SQLite gives the `-wal` and `-shm` it
    /// creates later the database file's mode. An existing file's mode is never changed.
    static func createOwnerOnlyFile(at path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if descriptor < 0 {
            let error = errno
            if error == EEXIST { return }  // created meanwhile by another process: theirs to set
            if error == ENOENT || error == ENOTDIR {
                let directory = (path as NSString).deletingLastPathComponent
                throw StoreError.unreadable(path: path, detail: "there is no directory \(directory)")
            }
            throw StoreError.notWritable(path: path, detail: problem(at: path) ?? reason(errno: error))
        }
        defer { close(descriptor) }
        // The umask can only have taken bits away; make it exactly 0600.
        if fchmod(descriptor, 0o600) != 0 {
            throw StoreError.notWritable(path: path, detail: WriteAccess.reason(errno: errno))
        }
    }
}
