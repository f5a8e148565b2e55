import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Bytes straight onto a TCP connection, for what HTTP clients will not send (pipelining, then
/// hanging up).
public enum RawSocket {
    /// Connects to 127.0.0.1:`port`, writes `bytes`, and closes at once without reading.
    public static func sendAndClose(port: Int, _ text: String) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ChildProcessError("socket failed") }
        defer { close(fd) }
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
    }
}
