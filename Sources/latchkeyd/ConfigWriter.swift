import LatchkeyClient
import LatchkeyCore

#if canImport(Glibc)
    import Glibc
#endif

/// Replaces the config file whole: a new file beside it, synced, renamed over it (keeping the
/// old file's mode; 0600 for a new one), so a crash leaves the old file or the new, never half.
enum ConfigWriter {
    static func replace(_ path: String, with text: String) throws(LatchkeyError) {
        let folder = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        if !folder.isEmpty { try makeFolders(folder) }
        var mode: mode_t = 0o600
        var info = stat()
        if stat(path, &info) == 0 { mode = info.st_mode & 0o777 }
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode)
        guard fd >= 0 else { throw failure("create", temporary) }
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let error = failure("write", temporary)
                close(fd)
                unlink(temporary)
                throw error
            }
            offset += n
        }
        _ = fchmod(fd, mode)
        guard fsync(fd) == 0, close(fd) == 0 else {
            unlink(temporary)
            throw failure("write", temporary)
        }
        guard rename(temporary, path) == 0 else {
            let error = failure("replace", path)
            unlink(temporary)
            throw error
        }
    }

    static func makeFolders(_ folder: String) throws(LatchkeyError) {
        var prefix = ""
        for part in folder.split(separator: "/", omittingEmptySubsequences: false) {
            prefix +=
                (prefix.isEmpty && part.isEmpty) ? "/" : (prefix.hasSuffix("/") || prefix.isEmpty ? "" : "/") + part
            guard !part.isEmpty else { continue }
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST { throw failure("create the folder", prefix) }
        }
    }

    static func failure(_ what: String, _ path: String) -> LatchkeyError {
        LatchkeyError(.configuration, "Cannot \(what) \(path): \(String(cString: strerror(errno))).")
    }
}

/// Has a running daemon read the config again (SIGHUP, as `systemctl --user reload` sends),
/// then waits until it knows the new account. The daemon's pid comes from the socket itself
/// (SO_PEERCRED), and it must be ours and latchkeyd.
enum DaemonReload {
    static func signal(socketPath: String, account: String) -> Bool {
        guard let pid = daemonPID(socketPath) else { return false }
        guard kill(pid, SIGHUP) == 0 else { return false }
        let client = DaemonClient(socketPath: socketPath)
        for _ in 0..<100 {
            if let response = try? client.request("GET", "/v1/accounts/\(account)"), response.status == 200 {
                return true
            }
            usleep(50_000)
        }
        return false
    }

    static func daemonPID(_ socketPath: String) -> pid_t? {
        guard let connection = try? SocketConnection(path: socketPath), let peer = connection.peer,
            peer.uid == getuid(),
            peer.pid > 0
        else { return nil }
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/\(peer.pid)/exe", &buffer, buffer.count - 1)
        guard n > 0,
            String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self).hasSuffix("/latchkeyd")
        else {
            return nil
        }
        return peer.pid
    }
}
