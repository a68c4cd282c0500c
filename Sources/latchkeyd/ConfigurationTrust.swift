import LatchkeyClient
import LatchkeyCore

#if canImport(Glibc)
    import Glibc
#endif

/// Whoever can change the configuration file can send the refresh token to a server of their
/// choosing (`token_endpoint`, `ca_file`) and run a program as the person (`notify_command`).
/// So, as ssh does for its files, the file and every folder above it must belong to the user
/// or root and be writable by nobody else (a sticky folder such as /tmp above it is fine); the
/// same rules as the socket's folders (SocketTrust). Checked at start and at every reload: a
/// refused file at reload leaves the last good configuration in place.
enum ConfigurationTrust {
    /// Nothing when the file is trustworthy or missing (then there is nothing to read).
    static func check(_ path: String) throws(LatchkeyError) {
        let uid = getuid()
        var info = stat()
        guard stat(path, &info) == 0 else { return }
        let hint = "Latchkey reads configuration only from a file that nobody else can change."
        if info.st_uid != uid && info.st_uid != 0 {
            throw LatchkeyError(
                .configuration,
                "The configuration file \(path) belongs to \(SocketTrust.userName(info.st_uid)), not to you, "
                    + "so Latchkey will not read it (fix: chown \(uid) \(path), after checking its content).",
                hint: hint)
        }
        if info.st_mode & 0o022 != 0 {
            let mode = String(info.st_mode & 0o777, radix: 8)
            throw LatchkeyError(
                .configuration,
                "The configuration file \(path) can be changed by others (mode \(mode)), "
                    + "so Latchkey will not read it (fix: chmod go-w \(path), after checking its content).",
                hint: hint)
        }
        // The folders above the file as named and, when it is a link, above the file it names.
        var folders = [SocketTrust.parent(of: path)]
        var resolved = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        if realpath(path, &resolved) != nil, String(cString: resolved) != path {
            folders.append(SocketTrust.parent(of: String(cString: resolved)))
        }
        for folder in folders {
            if let problem = SocketTrust.folderProblem(
                folder, reaching: "the configuration file \(path)", uid: uid, ownLast: false)
            {
                throw LatchkeyError(.configuration, problem + " Latchkey will not read the configuration.", hint: hint)
            }
        }
    }
}
