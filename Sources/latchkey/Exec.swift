import LatchkeyClient
import LatchkeyCore

#if canImport(Glibc)
    import Glibc
#endif

/// Replaces this process with the daemon executable (`serve`; later `setup` and `diagnose`).
func execDaemon(_ arguments: [String]) -> Never {
    let path = Autostart.daemonPath()
    var argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
    execv(path, &argv)
    fail(
        LatchkeyError(
            .internalError, "Cannot run \(path): \(String(cString: strerror(errno))).",
            hint: "Install latchkeyd beside latchkey."), exit: ExitStatus.unreachable)
}
