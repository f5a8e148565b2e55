import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Bytes straight onto a TCP connection, for what HTTP clients will not send (pipelining, then
/// hanging up; a body that stops short).
public enum RawSocket {
    /// Connects to 127.0.0.1:`port`, writes `bytes`, and closes at once without reading.
    public static func sendAndClose(port: Int, _ text: String) throws {
        let fd = try connected(port: port, text)
        close(fd)
    }

    /// Connects, writes `text`, then reads until the server closes the connection (a blocking
    /// read on its own thread; gives up after `timeout` without a byte).
    public static func sendAndReadUntilClosed(port: Int, _ text: String, timeout: Int = 60) async throws -> String {
        let fd = try connected(port: port, text)
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                defer { close(fd) }
                var limit = timeval(tv_sec: timeout, tv_usec: 0)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
                var received: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 4096)
                while true {
                    let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                    if count > 0 {
                        received += buffer[0..<count]
                    } else if count == 0 || errno == ECONNRESET {
                        return continuation.resume(returning: String(decoding: received, as: UTF8.self))
                    } else if errno != EINTR {
                        return continuation.resume(throwing: ChildProcessError("no close within \(timeout) s; got \(received.count) bytes"))
                    }
                }
            }
        }
    }

    /// Connects to 127.0.0.1:`port` and keeps the connection for a conversation.
    public static func open(port: Int) throws -> RawConnection {
        RawConnection(fd: try connected(port: port, ""))
    }

    fileprivate static func connected(port: Int, _ text: String) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ChildProcessError("socket failed") }
        var keep = false
        defer { if !keep { close(fd) } }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw ChildProcessError("connect failed") }
        let bytes = Array(text.utf8)
        guard bytes.isEmpty || bytes.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == bytes.count else {
            throw ChildProcessError("send failed")
        }
        keep = true
        return fd
    }
}

/// A client connection driven byte by byte: send some, read until a marker, send more. Reads
/// block on a thread of their own (never on the test's), each with a time limit.
public final class RawConnection: @unchecked Sendable {
    private let fd: Int32
    /// Bytes read past the last marker, kept for the next read.
    private var pending: [UInt8] = []

    fileprivate init(fd: Int32) {
        self.fd = fd
    }

    deinit {
        close(fd)
    }

    public func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ Glibc.send(fd, $0.baseAddress, $0.count, 0) }) == bytes.count else { throw ChildProcessError("send failed") }
    }

    /// Everything up to and including the first `marker`; throws if the peer closes or goes quiet
    /// for `timeout` seconds first.
    public func read(through marker: String, timeout: Int = 30) async throws -> String {
        let wanted = Array(marker.utf8)
        let (received, end) = try await receive(timeout: timeout) { bytes in
            Self.firstRange(of: wanted, in: bytes).map { $0.upperBound }
        }
        guard let end else { throw ChildProcessError("closed before \(marker.debugDescription); got \(String(decoding: received, as: UTF8.self).debugDescription)") }
        pending = Array(received[end...])
        return String(decoding: received[..<end], as: UTF8.self)
    }

    /// Exactly `count` more bytes (a body whose length the head gave).
    public func read(bytes count: Int, timeout: Int = 30) async throws -> String {
        let (received, end) = try await receive(timeout: timeout) { bytes in bytes.count >= count ? count : nil }
        guard let end else { throw ChildProcessError("closed after \(received.count) of \(count) bytes") }
        pending = Array(received[end...])
        return String(decoding: received[..<end], as: UTF8.self)
    }

    /// Everything until the peer closes the connection.
    public func readUntilClosed(timeout: Int = 30) async throws -> String {
        let (received, _) = try await receive(timeout: timeout) { _ in nil }
        pending = []
        return String(decoding: received, as: UTF8.self)
    }

    /// Reads until `done` finds an end in what arrived (returned with it) or the peer closes (nil).
    private func receive(timeout: Int, done: @escaping @Sendable ([UInt8]) -> Int?) async throws -> ([UInt8], Int?) {
        let fd = self.fd
        let start = pending
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                var limit = timeval(tv_sec: timeout, tv_usec: 0)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
                var received = start
                var buffer = [UInt8](repeating: 0, count: 4096)
                while true {
                    if let end = done(received) { return continuation.resume(returning: (received, end)) }
                    let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                    if count > 0 {
                        received += buffer[0..<count]
                    } else if count == 0 || errno == ECONNRESET {
                        return continuation.resume(returning: (received, nil))
                    } else if errno != EINTR {
                        return continuation.resume(throwing: ChildProcessError("nothing within \(timeout) s; got \(received.count) bytes"))
                    }
                }
            }
        }
    }

    private static func firstRange(of wanted: [UInt8], in bytes: [UInt8]) -> Range<Int>? {
        guard !wanted.isEmpty, bytes.count >= wanted.count else { return nil }
        for start in 0...(bytes.count - wanted.count) where bytes[start..<(start + wanted.count)].elementsEqual(wanted) {
            return start..<(start + wanted.count)
        }
        return nil
    }
}
