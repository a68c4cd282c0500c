internal import CLinux
import LatchkeyClient

#if canImport(Glibc)
    import Glibc
#endif

/// Process hygiene for a holder of secrets: no core dumps, not ptrace-attachable by other
/// processes of the user, files and sockets created private (umask 077), no memory dump by
/// the Swift runtime on a crash, and room for every connection it accepts.
enum Hygiene {
    static func apply() {
        umask(0o077)
        var none = rlimit(rlim_cur: 0, rlim_max: 0)
        _ = setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &none)
        _ = lk_set_nondumpable()
        raiseOpenFileLimit()
    }

    /// The value of SWIFT_BACKTRACE the daemon runs with.
    static let backtraceOff = "enable=no"

    /// On a fatal signal the Swift runtime's backtracer prints the bytes of memory near each
    /// register into the log (where a token or password may sit) and keeps the process alive
    /// while it does. The daemon runs without it: when SWIFT_BACKTRACE is not `enable=no`,
    /// it sets it and executes itself again (same process, same arguments) before anything
    /// else happens, so a crash simply ends it (no core dump either) and systemd restarts it.
    /// The systemd unit and the client's autostart set the variable, so this costs nothing there.
    static func disableBacktracer() {
        if let current = getenv("SWIFT_BACKTRACE"), String(cString: current) == backtraceOff { return }
        setenv("SWIFT_BACKTRACE", backtraceOff, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Still here: the exec failed (no /proc); go on, and say so.
        printError(
            "latchkeyd: could not turn the Swift backtracer off (\(String(cString: strerror(errno)))); "
                + "set SWIFT_BACKTRACE=enable=no."
        )
    }

    /// The soft limit of open files goes up to the hard limit: each connection costs a
    /// descriptor, and the usual soft limit (1,024) is below what a burst of clients needs.
    static func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max
        else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    }

    /// Connections at once: 4,096, or fewer when the open-file limit leaves less room; 256
    /// descriptors stay free for files, Kerberos, libcurl and the store.
    static func connectionCap() -> Int {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 512 }
        let available = Int(clamping: limit.rlim_cur)  // RLIM_INFINITY clamps to Int.max
        return max(16, min(4096, available - 256))
    }
}
