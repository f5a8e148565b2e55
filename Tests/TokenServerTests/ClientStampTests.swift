import Foundation
import PortierTestSupport
import Testing
@testable import TokenServer

/// The change stamp that tells the token endpoint's kept client rows apart from committed ones.
@Suite struct ClientStampTests {
    func mtime(_ path: String) throws -> timespec {
        var info = stat()
        guard stat(path, &info) == 0 else { throw ChildProcessError("no stamp at \(path)") }
        return info.st_mtim
    }

    @Test func everyTouchMovesTheStampForward() async throws {
        try await TemporaryDirectory.with("stamp") { dir in
            let path = dir.sub("auth.clients-stamp")
            ClientRowReader.touch(path)
            var previous = try mtime(path)
            for _ in 0..<50 {
                ClientRowReader.touch(path)
                let next = try mtime(path)
                #expect(next.tv_sec > previous.tv_sec || (next.tv_sec == previous.tv_sec && next.tv_nsec > previous.tv_nsec))
                previous = next
            }
        }
    }

    @Test func aStampThatCannotBeWrittenLeavesNoStampBehind() async throws {
        try await TemporaryDirectory.with("stamp") { dir in
            let path = dir.sub("missing-directory/auth.clients-stamp")
            ClientRowReader.touch(path)
            #expect(!FileManager.default.fileExists(atPath: path))
        }
    }
}
