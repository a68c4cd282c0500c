import LatchkeyClient

#if canImport(Glibc)
    import Glibc
#endif

/// Opens a URL in the person's browser with `xdg-open`, detached, its output discarded.
enum Browser {
    /// Only an https address, or http to this machine's loopback, is ever opened.
    static func open(_ url: String) -> Bool {
        guard TerminalText.isOpenable(url) else { return false }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in [0, 1, 2] {
            posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0)
        }
        var argv: [UnsafeMutablePointer<CChar>?] = [strdup("xdg-open"), strdup(url), nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        guard posix_spawnp(&pid, "xdg-open", &actions, nil, argv, environ) == 0 else { return false }
        // Reaped at once if it exits quickly; otherwise init adopts it when we exit.
        var status: Int32 = 0
        _ = waitpid(pid, &status, WNOHANG)
        return true
    }
}
