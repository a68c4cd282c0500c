import LatchkeyCore
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// One daemon on a socket path, for the daemon's whole life: an advisory lock (`flock`) on
/// `<socket>.lock` beside the socket, taken before the socket is bound and the store is read,
/// and held until the process ends (the kernel releases it then, after a SIGKILL too).
///
/// A daemon that stops closes its socket first, then drains its requests and stores a rotated
/// refresh token; a client that finds nobody answering meanwhile starts another daemon. That
/// one waits here until the first has ended, and only then binds the socket and reads the
/// store: two daemons never serve (nor refresh from) one store at once. The lock file stays
/// (removing it would let two daemons hold locks on two different files).
public struct DaemonLock: Sendable {
    let descriptor: Int32

    /// The lock file of a socket path.
    public static func path(socket: String) -> String { Paths.daemonLock(socket: socket) }

    /// How often a daemon that waits looks again.
    static let pollInterval = Duration.milliseconds(50)

    /// Takes the lock of `socket`: at once when no daemon holds it. When one holds it and
    /// answers on the socket, another daemon runs: refused. When it no longer answers, it is
    /// stopping: waits for it to end, up to `wait`, then refuses.
    /// - Parameter probe: whether a holder that answers on the socket is refused at once. A
    ///   daemon that systemd handed its socket to waits instead: the socket answers because
    ///   systemd listens on it, not because another daemon serves it.
    public static func take(socket: String, wait: Duration, probe: Bool = true, logger: Logger)
        async throws(LatchkeyError) -> DaemonLock
    {
        let path = Self.path(socket: socket)
        let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw LatchkeyError(
                .configuration, "Cannot open the lock file \(path): \(String(cString: strerror(errno))).",
                hint: "Remove it if it is not a plain file of yours.")
        }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_uid == getuid() else {
            close(fd)
            throw LatchkeyError(
                .configuration, "The lock file \(path) is not a plain file of this user, so Latchkey will not use it.",
                hint: "Remove it.")
        }
        let clock = ContinuousClock()
        let deadline = clock.now + wait
        var told = false
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let failure = errno
            guard failure == EAGAIN || failure == EINTR else {
                close(fd)
                throw LatchkeyError(
                    .configuration, "Cannot lock \(path): \(String(cString: strerror(failure))).")
            }
            if probe && SocketProbe.isLive(socket) {
                close(fd)
                throw alreadyRunning(socket)
            }
            guard clock.now < deadline else {
                close(fd)
                throw LatchkeyError(
                    .configuration,
                    "The Latchkey daemon that is stopping on \(socket) has not ended within \(wait.components.seconds) s.",
                    hint: "Try again once it has ended, or stop it (systemctl --user stop latchkey).")
            }
            if !told {
                logger.info("waiting for the Latchkey daemon that is stopping", metadata: ["socket": "\(socket)"])
                told = true
            }
            try? await Task.sleep(for: pollInterval)
        }
        return DaemonLock(descriptor: fd)
    }

    /// The refusal when a daemon answers on the socket already.
    static func alreadyRunning(_ socket: String) -> LatchkeyError {
        LatchkeyError(
            .configuration, "Another Latchkey daemon is already running on \(socket).",
            hint: "Use it, or stop it first (systemctl --user stop latchkey).")
    }

    /// Lets the next daemon start: the daemon's last step, after everything it stores (its
    /// process's end releases the lock too, however it ends).
    public func release() { close(descriptor) }
}
