import Foundation

/// What the kernel says about loopback TCP sockets (Linux `/proc/net/tcp`), for tests that must
/// know a request has arrived at a process that is stopped and cannot say so itself.
public enum TCPQueues {
    /// Bytes received but not yet read, summed over the established connections whose local port
    /// is `port` (a listening socket's queue counts connections, not bytes, and is left out).
    public static func bytesWaitingToBeRead(onLocalPort port: Int) -> Int {
        var total = 0
        for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let table = readProcFile(file) else { continue }
            // "sl local_address rem_address st tx_queue:rx_queue ...", addresses as HEXIP:HEXPORT.
            for line in table.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                guard fields.count > 4, fields[3] == "01", let localPort = fields[1].split(separator: ":").last.flatMap({ Int($0, radix: 16) }), localPort == port,
                    let received = fields[4].split(separator: ":").last.flatMap({ Int($0, radix: 16) })
                else { continue }
                total += received
            }
        }
        return total
    }

    /// The whole of a /proc file. (Foundation trusts the size stat reports, 0 for /proc, and
    /// returns only the first page: a busy machine's socket table is longer than that.)
    public static func readProcFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                bytes += chunk[0..<count]
            } else if count == 0 {
                return String(decoding: bytes, as: UTF8.self)
            } else if errno != EINTR {
                return nil
            }
        }
    }
}
