import Foundation
import Synchronization

/// The `portier` binary built next to the test bundle (SwiftPM builds it with the tests).
public enum PortierBinary {
    public static var path: String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [bundle, bundle.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("portier").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return bundle.appendingPathComponent("portier").path
    }
}

/// A real child process with its output captured line by line, for tests of what a user runs.
public final class ChildProcess: @unchecked Sendable {
    public let process: SpawnedProcess
    private final class Output: Sendable {
        let state = Mutex<(lines: [String], partial: Data, ended: Bool)>(([], Data(), false))
    }
    private let output = Output()
    private let pipe: Pipe
    private let lifeline: Pipe

    public init(_ arguments: [String], environment: [String: String] = [:]) throws {
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, new in new }
        // The child's stdin is a pipe this process holds open: `portier`'s lifeline stops the child
        // when it reads end-of-file, so a test process that crashes or is killed leaves no servers
        // running to load the machine for the next run.
        env["PORTIER_LIFELINE_FD"] = "0"
        (pipe, lifeline, process) = try ProcessLaunch.locked {
            // Made under the launch lock, so no child started beside this one inherits them.
            let pipe = Pipe()
            let lifeline = Pipe()
            let process = try SpawnedProcess.spawn(
                PortierBinary.path, arguments, environment: env, stdin: lifeline.fileHandleForReading.fileDescriptor,
                stdout: pipe.fileHandleForWriting.fileDescriptor, stderr: pipe.fileHandleForWriting.fileDescriptor
            )
            // The child's ends: only the child may hold them, or end-of-file never comes.
            try? lifeline.fileHandleForReading.close()
            try? pipe.fileHandleForWriting.close()
            return (pipe, lifeline, process)
        }
        pipe.fileHandleForReading.readabilityHandler = { [output] handle in
            let chunk = handle.availableData
            guard !chunk.isEmpty else {
                output.state.withLock { $0.ended = true }
                handle.readabilityHandler = nil
                return
            }
            output.state.withLock { output in
                output.partial.append(chunk)
                while let newline = output.partial.firstIndex(of: UInt8(ascii: "\n")) {
                    output.lines.append(String(decoding: output.partial[output.partial.startIndex..<newline], as: UTF8.self))
                    output.partial.removeSubrange(output.partial.startIndex...newline)
                }
            }
        }
    }

    public var lines: [String] { output.state.withLock { $0.lines } }

    public var pid: Int32 { process.processIdentifier }

    /// Waits (generously) for an output line containing `text`.
    public func waitForLine(containing text: String, timeout: Duration = .seconds(60)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = lines.first(where: { $0.contains(text) }) { return line }
            if !process.isRunning {
                // Its last lines may still be in the pipe.
                await drainOutput()
                if let line = lines.first(where: { $0.contains(text) }) { return line }
                throw ChildProcessError("process exited (\(process.terminationStatus)) before printing \(text): \(lines.suffix(5))")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ChildProcessError("no line containing \(text) within \(timeout): \(lines.suffix(5))")
    }

    /// The port from a JSON log line such as {"msg":"gateway listening","port":43121}.
    public func port(fromLineContaining text: String) async throws -> Int {
        let line = try await waitForLine(containing: text)
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let port = object["port"] as? Int else {
            throw ChildProcessError("no port in \(line)")
        }
        return port
    }

    public func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Stopped by SIGSTOP (state `T` in /proc): it reads nothing more from its sockets.
    public var isStopped: Bool {
        guard let stat = TCPQueues.readProcFile("/proc/\(pid)/stat"), let end = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: end)...].trimmingCharacters(in: .whitespaces).hasPrefix("T")
    }

    /// Waits for the process to exit and returns its status.
    public func waitForExit(timeout: Duration = .seconds(60)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else { throw ChildProcessError("process did not exit within \(timeout)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        await drainOutput()
        return process.terminationStatus
    }

    /// Reads the pipe up to its end, bounded in case a grandchild holds it open.
    private func drainOutput() async {
        let drained = ContinuousClock.now + .seconds(5)
        while !output.state.withLock({ $0.ended }) && ContinuousClock.now < drained {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

public struct ChildProcessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Every child this test process starts goes through one lock, so a child started on one thread
/// never inherits the pipes being set up for another (a stray write end keeps a pipe from ever
/// reaching end-of-file).
public enum ProcessLaunch {
    private static let lock = NSLock()

    public static func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
