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

    private static func connected(port: Int, _ text: String) throws -> Int32 {
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
        guard bytes.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == bytes.count else { throw ChildProcessError("send failed") }
        keep = true
        return fd
    }
}
