import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// An upstream that answers with bytes a test chose, for what no HTTP server would send (a
/// malformed head, conflicting lengths, a body cut short). Each connection gets the answer to its
/// first request head, then is closed; with `keepOpen`, it goes on answering request heads
/// (requests without bodies) until the peer closes. Plain sockets on threads of its own.
public final class ScriptedUpstream: Sendable {
    public let port: Int
    private let fd: Int32
    private let paths = Mutex<[String: Int]>([:])

    /// How many requests for `path` arrived.
    public func hits(_ path: String) -> Int {
        paths.withLock { $0[path] ?? 0 }
    }

    /// `answer` maps a request head to the bytes to send back.
    public init(keepOpen: Bool = false, answer: @escaping @Sendable (String) -> [UInt8]) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ChildProcessError("socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else {
            close(fd)
            throw ChildProcessError("bind failed")
        }
        self.fd = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in
            while true {
                let connection = accept(fd, nil, nil)
                guard connection >= 0 else { return }
                Thread.detachNewThread { self.serve(connection, keepOpen: keepOpen, answer) }
            }
        }
    }

    private func serve(_ connection: Int32, keepOpen: Bool, _ answer: @Sendable (String) -> [UInt8]) {
        defer { close(connection) }
        var limit = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 4096)
        repeat {
            var received: [UInt8] = []
            while !String(decoding: received, as: UTF8.self).contains("\r\n\r\n") {
                let count = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
                guard count > 0 else { return }
                received += buffer[0..<count]
            }
            let head = String(decoding: received, as: UTF8.self)
            let path = head.split(separator: " ").dropFirst().first.map(String.init) ?? ""
            paths.withLock { $0[path, default: 0] += 1 }
            let reply = answer(head)
            guard reply.withUnsafeBytes({ send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == reply.count else { return }
        } while keepOpen
    }

    /// Stops accepting; connections being served finish.
    public func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}
