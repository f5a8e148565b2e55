import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawn`, not Foundation's `Process`.
///
/// Foundation's `Process.run()` on Linux lists /proc/self/fd to close inherited descriptors, and
/// copies each directory entry's whole 256-byte name field. A test process with ~1,400
/// descriptors open fills the directory buffer, and that copy can run off its last page:
/// `make test` crashed in `Process.run()` this way. This one reads each name in place.
public final class SpawnedProcess: Sendable {
    public let processIdentifier: Int32
    private let status = Mutex<Int32?>(nil)

    init(processIdentifier: Int32) {
        self.processIdentifier = processIdentifier
    }

    public var isRunning: Bool { status.withLock { $0 } == nil }

    /// The exit code, or the signal that ended it (as Foundation's `terminationStatus`); -1 while
    /// it still runs.
    public var terminationStatus: Int32 { status.withLock { $0 } ?? -1 }

    /// Blocks until the child exits, then records how it ended.
    private func waitForExit() {
        var raw: Int32 = 0
        var result: pid_t
        repeat {
            result = waitpid(processIdentifier, &raw, 0)
        } while result == -1 && errno == EINTR
        let ended: Int32 = result == processIdentifier ? (raw & 0x7f == 0 ? (raw >> 8) & 0xff : raw & 0x7f) : -1
        status.withLock { $0 = ended }
    }

    /// Starts `path` with `arguments`, `environment`, and the given descriptors as its standard
    /// input, output and error. Nothing else this process has open reaches the child, and the
    /// child gets a process group of its own (as `Process` does), so a signal to the tests' group
    /// does not reach it.
    public static func spawn(
        _ path: String, _ arguments: [String], environment: [String: String], stdin: Int32, stdout: Int32, stderr: Int32
    ) throws -> SpawnedProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (from, to) in [(stdin, Int32(0)), (stdout, 1), (stderr, 2)] {
            posix_spawn_file_actions_adddup2(&actions, from, to)
        }
        // Closed after the dup2s; a descriptor another thread closed meanwhile is skipped by glibc.
        for fd in openDescriptors() where fd > 2 {
            posix_spawn_file_actions_addclose(&actions, fd)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        // The spawning thread (a concurrency pool thread) blocks most signals, and a blocked
        // SIGTERM would survive into the child: no blocked signals, default handling.
        var defaults = sigset_t()
        sigfillset(&defaults)
        sigdelset(&defaults, SIGKILL)
        sigdelset(&defaults, SIGSTOP)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        guard result == 0 else { throw ChildProcessError("cannot start \(path): \(String(cString: strerror(result)))") }
        let process = SpawnedProcess(processIdentifier: pid)
        // Reaped by a thread of its own as soon as it exits (as Foundation does), so a killed
        // child never lingers as a zombie.
        Thread { process.waitForExit() }.start()
        return process
    }

    /// Starts `path` with stdin from /dev/null and stdout and stderr into the file at `output`
    /// (appended to, or replaced), inheriting this process's environment.
    public static func start(_ path: String, _ arguments: [String], output: String, append: Bool = false) throws -> SpawnedProcess {
        try ProcessLaunch.locked {
            let input = open("/dev/null", O_RDONLY | O_CLOEXEC)
            let sink = open(output, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0o644)
            defer {
                if input >= 0 { close(input) }
                if sink >= 0 { close(sink) }
            }
            guard input >= 0, sink >= 0 else { throw ChildProcessError("cannot open /dev/null or \(output): \(String(cString: strerror(errno)))") }
            return try spawn(path, arguments, environment: ProcessInfo.processInfo.environment, stdin: input, stdout: sink, stderr: sink)
        }
    }

    /// Blocks until the child has exited (for threads of their own, not the concurrency pool).
    public func waitUntilExit() {
        while isRunning { usleep(5_000) }
    }

    /// The descriptors open in this process, from /proc/self/fd.
    static func openDescriptors() -> [Int32] {
        guard let directory = opendir("/proc/self/fd") else { return Array(3..<1024) }
        defer { closedir(directory) }
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name) ?? 19
        var descriptors: [Int32] = []
        while let entry = readdir(directory) {
            // The name in place, up to its NUL: the record may end right after it.
            let name = String(cString: (UnsafeRawPointer(entry) + nameOffset).assumingMemoryBound(to: CChar.self))
            if let fd = Int32(name) { descriptors.append(fd) }
        }
        return descriptors
    }
}
