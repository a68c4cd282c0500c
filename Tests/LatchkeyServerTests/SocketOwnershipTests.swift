import LatchkeyCore
import Logging
import Testing

@testable import LatchkeyServer

#if canImport(Glibc)
    import Glibc
#endif

/// One daemon per socket path: a daemon that stops removes only its own socket file, and a
/// daemon that starts meanwhile waits for it (DaemonLock) instead of serving beside it.
@Suite struct SocketOwnershipTests {
    /// A private temporary folder with the socket path inside it; removed after `body`.
    static func withFolder(_ body: (String) async throws -> Void) async throws {
        var template = Array("/tmp/latchkey-own-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.flatMap { mkdtemp($0) }.map { String(cString: $0) }
        }
        let folder = try #require(made)
        let path = folder + "/latchkey/latchkey.sock"
        defer {
            unlink(path)
            unlink(DaemonLock.path(socket: path))
            rmdir(folder + "/latchkey")
            rmdir(folder)
        }
        try await body(path)
    }

    @Test func onlyTheSocketFileItBoundIsRemoved() async throws {
        try await Self.withFolder { path in
            let lock = try await SocketServer.prepare(path: path)
            defer { lock.release() }
            let first = try SocketServer.listeningSocket(path)
            defer { close(first) }
            let own = try #require(SocketFile(at: path))
            // Another daemon replaced the path while this one still ran (the first socket stays
            // open, so its inode cannot be reused by the second).
            #expect(unlink(path) == 0)
            let second = try SocketServer.listeningSocket(path)
            defer { close(second) }
            let other = try #require(SocketFile(at: path))
            #expect(own != other)
            #expect(!own.remove(path: path))
            #expect(SocketFile(at: path) == other)
            #expect(other.remove(path: path))
            #expect(SocketFile(at: path) == nil)
            #expect(!other.remove(path: path))  // gone already: nothing to remove
        }
    }

    @Test func aFileThatIsNotASocketIsNotOneToRemove() async throws {
        try await Self.withFolder { path in
            let lock = try await SocketServer.prepare(path: path)
            defer { lock.release() }
            let fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
            #expect(fd >= 0)
            close(fd)
            #expect(SocketFile(at: path) == nil)
        }
    }

    @Test func aSecondDaemonIsRefusedWhileTheFirstServesAndWaitsWhileItStops() async throws {
        try await Self.withFolder { path in
            let first = try await SocketServer.prepare(path: path)
            let listening = try SocketServer.listeningSocket(path)
            // Serving: refused at once, whatever the wait.
            await #expect(throws: LatchkeyError.self) {
                _ = try await SocketServer.prepare(path: path, wait: .seconds(60))
            }
            // Stopping: no longer listening, still running. The second waits, then gives up.
            close(listening)
            let refusal = await #expect(throws: LatchkeyError.self) {
                _ = try await SocketServer.prepare(path: path, wait: .milliseconds(200))
            }
            #expect(refusal?.message.hasPrefix("The Latchkey daemon that is stopping") == true)
            // Ended: the second takes over and removes the stale socket file.
            first.release()
            let second = try await SocketServer.prepare(path: path, wait: .milliseconds(200))
            defer { second.release() }
            #expect(SocketFile(at: path) == nil)
        }
    }

    /// systemd listens on the socket of a daemon it starts, so the socket answers: that daemon
    /// waits for the lock's holder (a daemon a client started, still stopping) instead of
    /// taking the answer for another daemon serving.
    @Test func aDaemonOnSystemdsSocketWaitsForTheLockInsteadOfGivingUp() async throws {
        try await Self.withFolder { path in
            let holder = try await SocketServer.prepare(path: path)
            let listener = try SocketServer.listeningSocket(path)  // as systemd's socket unit
            defer { close(listener) }
            await #expect(throws: LatchkeyError.self) {
                _ = try await DaemonLock.take(socket: path, wait: .seconds(1), logger: Logger(label: "test"))
            }
            let waiting = Task {
                try await DaemonLock.take(socket: path, wait: .seconds(20), probe: false, logger: Logger(label: "test"))
            }
            try await Task.sleep(for: .milliseconds(300))
            holder.release()
            let taken = try await waiting.value
            taken.release()
        }
    }
}
