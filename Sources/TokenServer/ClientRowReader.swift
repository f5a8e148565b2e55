import Foundation
import GRDBSQLite
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Client rows for the token endpoint's fast path, read on the calling thread (an event loop).
///
/// Reading the row from SQLite for every token cost about a tenth of a token's CPU: a WAL read
/// transaction takes file locks and SQLite's process-wide mutexes, which two event loops contend
/// for. So rows are kept in memory and checked against the **change stamp**, a small file whose
/// modification time every client write (``AuthDatabase/writeClients(_:)``, in any process:
/// the server, `portier clients`) moves after it commits. One `stat` per token decides whether
/// the kept row is still the committed one:
///
/// - a write that has returned to its caller has moved the stamp, so a token request that starts
///   after `portier clients rotate-secret` returned reads the new row, never the old secret;
/// - a row is read fresh when the stamp moved or after ``maxAge`` (a writer killed between its
///   commit and the stamp cannot leave a stale row for longer), and when the stamp file is
///   missing or unreadable, nothing is kept at all.
final class ClientRowReader: Sendable {
    /// How long a kept row is trusted without a stamp change.
    static let maxAge: Duration = .seconds(1)
    /// Kept rows; a flood of distinct client ids only ever reaches SQLite (unknown ids are not kept).
    static let maxEntries = 10_000

    private let path: String
    private let stampPath: String
    /// One connection for all threads, used under this lock (opened on first use).
    private let connection = Mutex<Connection?>(nil)
    private let kept = Mutex<[String: Entry]>([:])

    private struct Entry {
        var client: OAuthClient
        var stamp: timespec
        var readAt: ContinuousClock.Instant
    }

    struct ReadError: Error {}

    init(path: String, stampPath: String) {
        self.path = path
        self.stampPath = stampPath
    }

    /// The client's committed row; nil when there is no such client. Throws when SQLite fails.
    func find(id: String) throws(ReadError) -> OAuthClient? {
        let stamp = Self.stamp(stampPath)
        let now = ContinuousClock.now
        if let stamp, let entry = kept.withLock({ $0[id] }), Self.same(entry.stamp, stamp), now - entry.readAt < Self.maxAge {
            return entry.client
        }
        // The stamp was taken before the read: a write committing during the read moves it again,
        // so the row kept here is never trusted past that write.
        let client = try connection.withLock { (connection: inout Connection?) throws(ReadError) -> OAuthClient? in
            if connection == nil { connection = Connection(path: path) }
            guard let connection else { throw ReadError() }
            return try connection.find(id)
        }
        kept.withLock { entries in
            guard let stamp, let client else {
                entries[id] = nil
                return
            }
            if entries.count >= Self.maxEntries { entries.removeAll() }
            entries[id] = Entry(client: client, stamp: stamp, readAt: now)
        }
        return client
    }

    /// Moves the stamp: a modification time later than the current one, to the nanosecond, set
    /// explicitly (not the file system's coarse clock), creating the file when missing.
    ///
    /// When the stamp cannot be moved exactly (set-times refused, or a file system that keeps only
    /// whole seconds), the file is removed: readers then keep nothing and read every row fresh.
    static func touch(_ stampPath: String) {
        let fd = open(stampPath, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            unlink(stampPath)
            return
        }
        defer { close(fd) }
        var current = stat()
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        if fstat(fd, &current) == 0, !later(now, than: current.st_mtim) {
            // The clock did not move past the last stamp (or went back): one nanosecond after it.
            now = current.st_mtim
            if now.tv_nsec < 999_999_999 {
                now.tv_nsec += 1
            } else {
                now.tv_sec += 1
                now.tv_nsec = 0
            }
        }
        let times = [now, now]
        var written = stat()
        guard futimens(fd, times) == 0, fstat(fd, &written) == 0, same(written.st_mtim, now) else {
            unlink(stampPath)
            return
        }
    }

    private static func stamp(_ path: String) -> timespec? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return info.st_mtim
    }

    private static func same(_ a: timespec, _ b: timespec) -> Bool {
        a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec
    }

    private static func later(_ a: timespec, than b: timespec) -> Bool {
        a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec)
    }

    /// A read-only connection with the query prepared once: a lookup is a bind, a step and a reset.
    private final class Connection: @unchecked Sendable {
        let db: OpaquePointer
        let statement: OpaquePointer

        init?(path: String) {
            var db: OpaquePointer?
            guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK, let db else {
                sqlite3_close_v2(db)
                return nil
            }
            sqlite3_busy_timeout(db, 100)
            var statement: OpaquePointer?
            let sql = "SELECT id, secret_hash, scopes, authorities, token_ttl, created_at, not_before FROM clients WHERE id = ?"
            guard sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil) == SQLITE_OK, let statement else {
                sqlite3_close_v2(db)
                return nil
            }
            self.db = db
            self.statement = statement
        }

        deinit {
            sqlite3_finalize(statement)
            sqlite3_close_v2(db)
        }

        /// The row, nil when there is none; throws on any SQLite error.
        func find(_ id: String) throws(ReadError) -> OAuthClient? {
            defer {
                sqlite3_reset(statement)
                sqlite3_clear_bindings(statement)
            }
            // SQLITE_TRANSIENT: SQLite copies the text before the Swift string goes away.
            let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
            guard sqlite3_bind_text(statement, 1, id, -1, transient) == SQLITE_OK else { throw ReadError() }
            switch sqlite3_step(statement) {
            case SQLITE_DONE: return nil
            case SQLITE_ROW: break
            default: throw ReadError()
            }
            guard sqlite3_column_type(statement, 4) == SQLITE_INTEGER, let ttl = Int(exactly: sqlite3_column_int64(statement, 4)) else {
                throw ReadError()
            }
            let notBefore = sqlite3_column_type(statement, 6) == SQLITE_NULL ? nil : sqlite3_column_int64(statement, 6)
            return OAuthClient(
                id: text(0), secretHash: text(1), scopes: text(2).split(separator: " ").map(String.init),
                authorities: text(3).split(separator: " ").map(String.init), tokenTTL: ttl,
                createdAt: Date(timeIntervalSince1970: sqlite3_column_double(statement, 5)), notBefore: notBefore
            )
        }

        private func text(_ column: Int32) -> String {
            guard let pointer = sqlite3_column_text(statement, column) else { return "" }
            let count = Int(sqlite3_column_bytes(statement, column))
            return String(decoding: UnsafeBufferPointer(start: pointer, count: max(0, count)), as: UTF8.self)
        }
    }
}
