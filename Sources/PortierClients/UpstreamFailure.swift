import PortierHTTP
import AsyncHTTPClient
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// How a call to another service failed: it timed out, it never connected (so nothing was sent),
/// or the connection broke after the request may have arrived.
public enum UpstreamFailure: Sendable {
    case timeout, connect, reset

    public init(_ error: any Error) {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout: self = .timeout
            case .connectTimeout, .socksHandshakeTimeout: self = .connect
            default: self = .reset
            }
        } else if error is NIOConnectionError {
            self = .connect
        } else if let error = error as? ChannelError, case .connectTimeout = error {
            self = .connect
        } else if let error = error as? IOError, error.errnoCode == ECONNREFUSED {
            self = .connect
        } else {
            self = .reset
        }
    }
}
