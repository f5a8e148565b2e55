import Foundation
import PortierTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The trust boundary of `portier up` on one machine: secrets only in private files, never in logs
/// or output after the first start; no process outlives `portier up` or is restarted while it stops.
@Suite(.serialized) struct SecretsAndProcessesTests {
    @Test func secretsLiveOnlyInPrivateFilesAndTheSecondStartSaysWhereTheSecretIs() async throws {
        try await TemporaryDirectory.with("up-secrets") { dir in
            let first = try await UpSession.start(in: dir)
            let demo = try #require(first.printedSecret, "the first start shows the demo secret once: \(first.process.lines)")
            let token = try await Self.token(first.gateway, secret: demo)
            #expect(try await Self.book(first.gateway, token: token).status == 201)
            first.process.signal(SIGINT)
            #expect(try await first.process.waitForExit() == 0)

            let second = try await UpSession.start(in: dir)
            let kept = dir.sub("data/demo-client.secret")
            #expect(second.printedSecret == nil, "no secret printed again: \(second.process.lines)")
            #expect(second.process.lines.contains { $0.contains("SECRET=$(cat \(kept))") }, "\(second.process.lines)")
            #expect(second.process.lines.contains { $0.contains("portier clients rotate-secret hotel-client") })
            #expect(!second.process.lines.contains { $0.contains(demo) })
            #expect(try String(contentsOfFile: kept, encoding: .utf8) == demo)
            _ = try await Self.token(second.gateway, secret: demo)
            // While running: the SQLite WAL and SHM files exist too.
            Self.expectPrivate(dir)

            // Rotating the demo secret refreshes the kept copy: it is never stale.
            let rotate = try ChildProcess(["clients", "rotate-secret", "hotel-client", "--data-dir", dir.sub("data")])
            #expect(try await rotate.waitForExit() == 0)
            let rotatedLine = try #require(rotate.lines.first { $0.hasPrefix("client_secret:") })
            let rotated = try #require(rotatedLine.split(separator: " ").last.map(String.init))
            #expect(rotated != demo)
            #expect(try String(contentsOfFile: kept, encoding: .utf8) == rotated)
            #expect(try await Self.book(second.gateway, token: try await Self.token(second.gateway, secret: rotated)).status == 201)
            second.process.signal(SIGTERM)
            #expect(try await second.process.waitForExit() == 0)

            // Every secret this machine knows (the demo one, old and new, the gateway's, any
            // service's) appears in no file but its own 0600 secret file.
            let files = Self.files(under: [dir.sub("data"), dir.sub("keys")])
            var secrets = [demo, rotated]
            for file in files where file.hasSuffix(".secret") {
                secrets.append(try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))
            }
            #expect(secrets.count >= 4, "demo (old, new), its file, the gateway's: \(files)")
            #expect(
                files.contains { $0.hasSuffix("/logs/auth.log") } && files.contains { $0.hasSuffix(".sqlite") || $0.hasSuffix(".db") }, "\(files)")
            for file in files {
                let content = try Data(contentsOf: URL(fileURLWithPath: file))
                for secret in secrets where !secret.isEmpty {
                    if file.hasSuffix(".secret") && String(decoding: content, as: UTF8.self) == secret { continue }
                    #expect(content.range(of: Data(secret.utf8)) == nil, "\(file) contains a client secret")
                }
            }
            Self.expectPrivate(dir)
        }
    }

    @Test func anEarlierVersionsOpenModesAreNarrowedOnStart() async throws {
        try await TemporaryDirectory.with("up-modes") { dir in
            for path in [dir.sub("data"), dir.sub("data/logs"), dir.sub("keys")] {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            }
            for path in [dir.sub("data/logs/auth.log"), dir.sub("data/rooms.sqlite-wal")] {
                #expect(FileManager.default.createFile(atPath: path, contents: Data(), attributes: [.posixPermissions: 0o644]))
            }
            let up = try await UpSession.start(in: dir)
            Self.expectPrivate(dir)
            up.process.signal(SIGTERM)
            #expect(try await up.process.waitForExit() == 0)
        }
    }

    @Test func sigkillOfUpTakesItsChildrenWithIt() async throws {
        try await TemporaryDirectory.with("up-sigkill") { dir in
            let up = try await UpSession.start(in: dir)
            #expect(up.pids.count == UpSession.names.count)
            up.process.signal(SIGKILL)
            _ = try await up.process.waitForExit()
            #expect(
                try await eventually(timeout: .seconds(60)) { up.pids.values.allSatisfy { !Self.isAlive($0) } },
                "still running: \(up.pids.filter { Self.isAlive($0.value) })")
        }
    }

    @Test func ctrlCStopsTheGatewayFirstAndTheTokenServerLast() async throws {
        try await TemporaryDirectory.with("up-order") { dir in
            let up = try await UpSession.start(in: dir)
            up.process.signal(SIGINT)
            // The poll round in which each process was first seen gone.
            var goneAt: [String: Int] = [:]
            let deadline = ContinuousClock.now + .seconds(120)
            var round = 0
            while goneAt.count < up.pids.count && ContinuousClock.now < deadline {
                for (name, pid) in up.pids where goneAt[name] == nil && !Self.isAlive(pid) { goneAt[name] = round }
                round += 1
                try await Task.sleep(for: .milliseconds(2))
            }
            #expect(try await up.process.waitForExit() == 0)
            let gateway = try #require(goneAt["gateway"], "gateway never stopped")
            let auth = try #require(goneAt["auth"], "auth never stopped")
            // A poll round can take long on a busy machine, so two exits may land in one round: the
            // rounds only must not contradict the order; the supervisor's lines below (written after
            // each child's exit, one at a time) show it strictly.
            #expect(gateway <= auth, "the gateway exits before the token server: \(goneAt)")
            for (name, round) in goneAt where name != "gateway" && name != "auth" {
                #expect(gateway <= round && round <= auth, "\(name) stops after the gateway and before the token server: \(goneAt)")
            }
            let lines = up.process.lines
            let stopped = UpSession.names.map { name in lines.firstIndex { $0 == "portier up: \(name) stopped" } }
            #expect(stopped.allSatisfy { $0 != nil }, "\(lines.suffix(12))")
            let gatewayLine = lines.firstIndex { $0 == "portier up: gateway stopped" } ?? Int.max
            let authLine = lines.firstIndex { $0 == "portier up: auth stopped" } ?? Int.min
            #expect(gatewayLine < authLine)
        }
    }

    @Test func aChildThatCrashesWhileUpIsStoppingIsNotRestarted() async throws {
        try await TemporaryDirectory.with("up-crash-stop") { dir in
            let up = try await UpSession.start(in: dir, extra: ["--stop-grace-seconds", "5"])
            let gateway = try #require(up.pids["gateway"])
            let mypages = try #require(up.pids["mypages"])
            // A gateway that does not react holds the stop up for the grace period.
            kill(gateway, SIGSTOP)
            up.process.signal(SIGTERM)
            _ = try await up.process.waitForLine(containing: "portier up: stopping...")
            kill(mypages, SIGKILL)
            // The grace period (5 s, longer than the 1 s restart backoff) has passed...
            _ = try await up.process.waitForLine(containing: "gateway did not stop within")
            #expect(try await up.process.waitForExit() == 0)
            // ...and mypages was not brought back: no restart, nothing listens on its port.
            #expect(!up.process.lines.contains { $0.contains("mypages restarted") || $0.contains("restarting in") }, "\(up.process.lines.suffix(12))")
            await #expect(throws: (any Error).self) {
                _ = try await HTTP.request(.GET, "http://127.0.0.1:\(up.ports["mypages"] ?? 0)/health/live", timeout: .seconds(2))
            }
            #expect(up.pids.values.allSatisfy { !Self.isAlive($0) }, "\(up.pids.filter { Self.isAlive($0.value) })")
        }
    }

    @Test func aSecondCtrlCKillsWhatDoesNotStop() async throws {
        try await TemporaryDirectory.with("up-twice") { dir in
            let up = try await UpSession.start(in: dir)
            // A gateway that does not react would hold the stop for the 15 s grace period.
            let gatewayPID = try #require(up.pids["gateway"])
            try #require(gatewayPID > 1, "never kill(0) or kill(1): that would be this process group or init")
            kill(gatewayPID, SIGSTOP)
            up.process.signal(SIGINT)
            _ = try await up.process.waitForLine(containing: "portier up: stopping...")
            up.process.signal(SIGINT)
            #expect(try await up.process.waitForExit() == 0)
            #expect(up.process.lines.contains { $0.contains("killing what is still running") }, "\(up.process.lines.suffix(10))")
            #expect(!up.process.lines.contains { $0.contains("did not stop within") }, "not waited out: \(up.process.lines.suffix(10))")
            #expect(up.pids.values.allSatisfy { !Self.isAlive($0) }, "\(up.pids.filter { Self.isAlive($0.value) })")
        }
    }

    @Test func ctrlCWhileStartingStopsWhatWasStartedAndExitsZero() async throws {
        try await TemporaryDirectory.with("up-ctrlc-start") { dir in
            let up = try ChildProcess(try UpSession.arguments(in: dir))
            // The token server is up; the others are starting.
            #expect(
                try await eventually(timeout: .seconds(120)) {
                    (try? String(contentsOfFile: dir.sub("data/logs/auth.log"), encoding: .utf8))?.contains("token server listening") == true
                })
            up.signal(SIGINT)
            #expect(try await up.waitForExit() == 0, "\(up.lines.suffix(10))")
            #expect(up.lines.contains("portier up: auth stopped"), "\(up.lines.suffix(10))")
            #expect(!up.lines.contains { $0.contains("Portier is up.") })
            #expect(try await eventually { Self.processes(mentioning: dir.path).isEmpty }, "left running: \(Self.processes(mentioning: dir.path))")
        }
    }

    @Test func stoppingWhileARestartIsPendingStartsNothing() async throws {
        try await TemporaryDirectory.with("up-stop-backoff") { dir in
            let up = try await UpSession.start(in: dir)
            let roomsPID = try #require(up.pids["rooms"])
            try #require(roomsPID > 1, "never kill(0) or kill(1): that would be this process group or init")
            kill(roomsPID, SIGKILL)
            // The restart is scheduled (1 s backoff); stop now.
            _ = try await up.process.waitForLine(containing: "rooms exited with status")
            up.process.signal(SIGTERM)
            #expect(try await up.process.waitForExit() == 0)
            let lines = up.process.lines
            let stopping = try #require(lines.firstIndex(of: "portier up: stopping..."))
            #expect(!lines[stopping...].contains { $0.contains("restarted") }, "\(lines.suffix(12))")
            #expect(try await eventually { Self.processes(mentioning: dir.path).isEmpty }, "left running: \(Self.processes(mentioning: dir.path))")
        }
    }

    // MARK: Helpers

    /// Live processes whose command line mentions `text` (the test's directory: only its `portier`s do).
    static func processes(mentioning text: String) -> [Int32] {
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap(Int32.init) ?? []
        return pids.filter { pid in
            guard let commandLine = TCPQueues.readProcFile("/proc/\(pid)/cmdline") else { return false }
            return commandLine.replacingOccurrences(of: "\0", with: " ").contains(text) && isAlive(pid)
        }
    }

    /// Whether the process runs (a zombie, or a pid that is gone, does not).
    static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = TCPQueues.readProcFile("/proc/\(pid)/stat"), let end = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: end)...].trimmingCharacters(in: .whitespaces).prefix(1)
        return state != "Z" && state != "X"
    }

    static func files(under roots: [String]) -> [String] {
        roots.flatMap { root in
            (FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []).map { root + "/" + $0 }
                .filter { path in
                    var isDirectory: ObjCBool = false
                    return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
                }
        }
    }

    /// data/, keys/ and everything in them: directories 0700, files 0600.
    static func expectPrivate(_ dir: TemporaryDirectory, sourceLocation: SourceLocation = #_sourceLocation) {
        for root in [dir.sub("data"), dir.sub("keys")] {
            let entries = [root] + (FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []).map { root + "/" + $0 }
            for path in entries {
                var info = stat()
                guard lstat(path, &info) == 0 else { continue }  // a WAL file checkpointed away meanwhile
                let isDirectory = info.st_mode & S_IFMT == S_IFDIR
                let mode = info.st_mode & 0o777
                #expect(mode == (isDirectory ? 0o700 : 0o600), "\(path) has mode \(String(mode, radix: 8))", sourceLocation: sourceLocation)
            }
        }
    }

    static func token(_ gateway: String, secret: String) async throws -> String {
        let response = try await HTTP.form(
            gateway + "/oauth/token", [("grant_type", "client_credentials")], headers: [HTTP.basic("hotel-client", secret)])
        guard response.status == 200, let token = response.json["access_token"] as? String else {
            throw ChildProcessError("no token: \(response.text)")
        }
        return token
    }

    /// Registers a room and books it (retrying while books has not seen the room's event yet).
    static func book(_ gateway: String, token: String) async throws -> TestHTTPResponse {
        let room = try await HTTP.json(.POST, gateway + "/rooms", ["name": "Ocean view", "hostId": 1, "price": 120], headers: [HTTP.bearer(token)])
        guard room.status == 201, let id = room.json["id"] as? Int else { throw ChildProcessError("room: \(room.text)") }
        let body: [String: Any] = [
            "roomId": id, "guestId": 10, "startDate": HotelStack.date(daysFromNow: 30), "endDate": HotelStack.date(daysFromNow: 32),
        ]
        var response = try await HTTP.json(.POST, gateway + "/books", body, headers: [HTTP.bearer(token)])
        let deadline = ContinuousClock.now + .seconds(30)
        while response.status == 404 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            response = try await HTTP.json(.POST, gateway + "/books", body, headers: [HTTP.bearer(token)])
        }
        return response
    }
}
