internal import CLinux
import LatchkeyCore

#if canImport(Glibc)
    import Glibc
#endif

/// Starts the daemon in the background when no daemon answers, as gpg-agent does.
public enum Autostart {
    /// The daemon executable beside this one (`latchkeyd`), or from `$LATCHKEY_DAEMON`.
    public static func daemonPath() -> String {
        if let explicit = getenv("LATCHKEY_DAEMON") { return String(cString: explicit) }
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return "latchkeyd" }
        let own = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let folder = own[..<(own.lastIndex(of: "/") ?? own.startIndex)]
        return folder + "/latchkeyd"
    }

    /// Spawns `latchkeyd serve` detached (new session, stdin from /dev/null, output to
    /// `log`), then waits up to `timeout` seconds for the socket to answer.
    public static func start(socketPath: String, log: String, extraArguments: [String] = [], timeout: Double = 10)
        throws(ClientError)
    {
        let daemon = daemonPath()
        let arguments = [daemon, "serve", "--socket", socketPath] + extraArguments
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        let folder = String(log[..<(log.lastIndex(of: "/") ?? log.startIndex)])
        SocketTrust.makeFolders(folder)
        SocketTrust.makeFolders(SocketTrust.parent(of: socketPath))
        // Nothing is started in, or logged to, a folder another user holds.
        for path in [socketPath, log] {
            if let problem = SocketTrust.problem(path: path, uid: getuid()) {
                throw ClientError(kind: .untrusted, message: problem)
            }
        }
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        _ = lk_spawn_close_from(&actions, 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // POSIX_SPAWN_SETSID (0x80) is hidden behind _GNU_SOURCE in glibc's header.
        posix_spawnattr_setflags(&attributes, 0x80)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        // The daemon holds secrets: a crash must end it, not dump memory near its registers
        // into the log (the Swift runtime's backtracer); latchkeyd would re-exec itself to get this.
        var environment: [UnsafeMutablePointer<CChar>?] = [strdup("SWIFT_BACKTRACE=enable=no")]
        var index = 0
        while let entry = environ[index] {
            if strncmp(entry, "SWIFT_BACKTRACE=", 16) != 0 { environment.append(strdup(entry)) }
            index += 1
        }
        environment.append(nil)
        defer { for p in environment { free(p) } }
        let result = posix_spawn(&pid, daemon, &actions, &attributes, &argv, &environment)
        guard result == 0 else {
            throw ClientError(
                kind: .unreachable, message: "cannot start the daemon \(daemon): \(String(cString: strerror(result)))")
        }
        let started = monotonicNow()
        var lastHeld: Double?
        while true {
            do {
                _ = try SocketConnection(path: socketPath)
                return
            } catch {
                if error.kind == .untrusted { throw error }
            }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                throw ClientError(kind: .unreachable, message: "the daemon \(daemon) exited at start-up; see \(log)")
            }
            let waited = monotonicNow() - started
            // Past `timeout`, wait on only while the socket's lock is held (or was, a moment
            // ago: between the stopping daemon's end and the new one's taking it): a daemon that
            // is stopping drains its requests (bounded), and the one just started waits for it.
            // (Looked at from 2 s before `timeout`, so a first look in that gap does not end it.)
            if waited >= timeout - 2, lockHeld(socketPath) { lastHeld = waited }
            if waited >= timeout, waited >= stoppingDaemonWait || lastHeld.map({ waited - $0 > 2 }) ?? true {
                break
            }
            usleep(20_000)
        }
        throw ClientError(
            kind: .unreachable,
            message: "the daemon did not answer within \(Int(clamping: monotonicNow() - started) ?? 0) s; see \(log)")
    }

    /// The longest wait for a daemon that waits for a stopping one: a little over the daemon's
    /// own wait (its drain, `2 × provider_timeout + 5`, one more provider timeout and 10 s,
    /// with the default 30 s timeout).
    static let stoppingDaemonWait: Double = 120

    /// Whether a daemon holds the lock of `socket` (`DaemonLock`): a daemon that is stopping, or
    /// one about to listen.
    static func lockHeld(_ socket: String) -> Bool {
        let fd = open(Paths.daemonLock(socket: socket), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard flock(fd, LOCK_SH | LOCK_NB) != 0 else { return false }
        return errno == EWOULDBLOCK
    }
}
