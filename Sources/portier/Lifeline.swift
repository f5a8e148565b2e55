import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Ties a child of `portier up` to its parent's life, even when the parent is killed with SIGKILL.
///
/// `portier up` keeps the write end of a pipe and gives each child the read end (as
/// `PORTIER_LIFELINE_FD`). The kernel closes the write end whenever `portier up` dies, however it
/// dies, so the child's blocking read returns end-of-file and the child stops itself gracefully.
/// A pipe rather than `PR_SET_PDEATHSIG`: the death signal follows the *thread* that spawned the
/// child, and a Swift concurrency pool thread may exit while `portier up` is still running.
enum Lifeline {
    /// The environment variable naming the inherited read end.
    static let environmentKey = "PORTIER_LIFELINE_FD"
    /// Where the read end sits in every child.
    static let childDescriptor: Int32 = 3

    /// In a child started by `portier up`: watches the pipe on its own thread; when the parent is
    /// gone, sends this process SIGTERM (a graceful stop), and exits for good 30 s later.
    static func watchParentIfSupervised() {
        guard let value = getenv(environmentKey), let fd = Int32(String(cString: value)), fd >= 0 else { return }
        unsetenv(environmentKey)
        // Only a pipe is a lifeline: anything else (a stray variable) would read as "parent gone".
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFIFO else { return }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        let watcher = Thread {
            var byte: UInt8 = 0
            while true {
                let result = read(fd, &byte, 1)
                if result < 0 && errno == EINTR { continue }
                if result > 0 { continue }
                break
            }
            FileHandle.standardError.write(Data("portier: the supervising `portier up` is gone; stopping\n".utf8))
            kill(getpid(), SIGTERM)
            sleep(30)
            _exit(1)
        }
        watcher.name = "portier-lifeline"
        watcher.start()
    }

    /// In `portier up`: the pipe, both ends close-on-exec and the read end moved above the standard
    /// descriptors (posix_spawn's dup2 onto `childDescriptor` then clears close-on-exec for the child only).
    static func makePipe() throws -> (read: Int32, write: Int32) {
        var ends: [Int32] = [0, 0]
        // pipe2 is not visible from Swift's Glibc; nothing else is spawned while this runs (it is made before any child).
        guard pipe(&ends) == 0 else { throw UpError("cannot create the lifeline pipe: \(String(cString: strerror(errno)))") }
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
        let readEnd = fcntl(ends[0], F_DUPFD_CLOEXEC, 10)
        close(ends[0])
        guard readEnd >= 0 else {
            close(ends[1])
            throw UpError("cannot move the lifeline pipe: \(String(cString: strerror(errno)))")
        }
        return (readEnd, ends[1])
    }
}
