#if canImport(Glibc)
    import Glibc
#endif

/// Who may stand between the person and their daemon. The client and the daemon apply the
/// same rules to the socket path, and the daemon to its configuration file:
///
/// - every folder on the path (as written, and after links are resolved) belongs to the user
///   or to root, and is writable by nobody else unless it is sticky (as /tmp is: there others
///   can make entries but cannot remove or rename ours);
/// - the folder that holds the socket belongs to the user and is writable by nobody else;
/// - the process answering on the socket runs as the user (`SO_PEERCRED`, from the kernel).
///
/// In a shared /tmp another user can make `/tmp/latchkey-UID` first and listen there: these
/// rules refuse that folder before a byte is sent, and the peer check refuses whatever else
/// leads to a socket of another user.
public enum SocketTrust {
    /// Why the folders on the way to `path` cannot be trusted by `uid`; nil when they can (or
    /// when one does not exist yet: then nothing listens there, and the daemon makes it).
    public static func problem(path: String, uid: UInt32) -> String? {
        folderProblem(parent(of: path), reaching: "the Latchkey socket \(path)", uid: uid, ownLast: true)
    }

    /// The rules for `folder` (as written, then with links resolved) and each folder above
    /// it; `reaching` names what the folders lead to, for the message. `ownLast`: the last
    /// folder must be the user's own (a socket's), not only the user's or root's (a file's).
    public static func folderProblem(_ folder: String, reaching: String, uid: UInt32, ownLast: Bool) -> String? {
        var sawLink = !folder.hasPrefix("/")
        if folder.hasPrefix("/") {
            if let problem = componentProblem(folder, reaching: reaching, uid: uid, ownLast: ownLast, sawLink: &sawLink)
            {
                return problem
            }
        }
        // Links on the way: the folders they lead to are judged too (a few more system calls,
        // paid only then: the thin client's start-up is measured in microseconds).
        guard sawLink else { return nil }
        var resolved = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard realpath(folder, &resolved) != nil else { return nil }
        let real = String(cString: resolved)
        var again = false
        return real == folder
            ? nil : componentProblem(real, reaching: reaching, uid: uid, ownLast: ownLast, sawLink: &again)
    }

    static func componentProblem(_ folder: String, reaching: String, uid: UInt32, ownLast: Bool, sawLink: inout Bool)
        -> String?
    {
        var prefixes = ["/"]
        for part in folder.split(separator: "/") {
            prefixes.append((prefixes.count == 1 ? "" : prefixes[prefixes.count - 1]) + "/" + part)
        }
        for (index, prefix) in prefixes.enumerated() {
            var info = stat()
            guard lstat(prefix, &info) == 0 else {
                if errno == ENOENT { return nil }
                return
                    "The folder \(prefix) on the way to \(reaching) cannot be read "
                    + "(\(String(cString: strerror(errno))))."
            }
            let type = info.st_mode & S_IFMT
            let last = index == prefixes.count - 1
            // A link is judged where it leads (the resolved pass); the folder holding it is checked
            // here. The socket's own folder may not be a link (the daemon opens it O_NOFOLLOW).
            if type == S_IFLNK && !(last && ownLast) {
                sawLink = true
                continue
            }
            guard type == S_IFDIR else { return "\(prefix) on the way to \(reaching) is not a folder." }
            let owner = info.st_uid
            let writableByOthers = info.st_mode & 0o022 != 0
            if last && ownLast && owner != uid {
                return
                    "The folder \(prefix) that holds \(reaching) belongs to \(userName(owner)), "
                    + "not to you (\(userName(uid)))."
            } else if owner != uid && owner != 0 {
                return
                    "The folder \(prefix) on the way to \(reaching) belongs to \(userName(owner)), "
                    + "not to you (\(userName(uid))) or root."
            } else if writableByOthers && (last || info.st_mode & S_ISVTX == 0) {
                return "Others can write to the folder \(prefix) on the way to \(reaching) (fix: chmod go-w \(prefix))."
            }
        }
        return nil
    }

    /// Why the process answering on `fd` is not the user's own daemon; nil when it is.
    public static func peerProblem(fd: Int32, path: String, uid: UInt32) -> String? {
        guard let peer = peer(of: fd) else {
            return "Cannot tell who answers on the Latchkey socket \(path) (\(String(cString: strerror(errno))))."
        }
        guard peer.uid == uid else {
            return
                "The Latchkey socket \(path) is served by \(userName(peer.uid)) (process \(peer.pid)), "
                + "not by you (\(userName(uid)))."
        }
        return nil
    }

    /// The process at the other end of a connected Unix socket, from the kernel (SO_PEERCRED).
    public static func peer(of fd: Int32) -> (pid: Int32, uid: UInt32)? {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }: Glibc hides it behind _GNU_SOURCE.
        var credentials: (pid: Int32, uid: UInt32, gid: UInt32) = (0, 0, 0)
        var length = socklen_t(MemoryLayout.size(ofValue: credentials))
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0, length == 12 else { return nil }
        return (credentials.pid, credentials.uid)
    }

    /// What the person should do about a refused socket.
    public static let remedy =
        "Latchkey talks only to a daemon of your own. Set XDG_RUNTIME_DIR to a private folder of yours "
        + "(systemd sets /run/user/UID), or remove the folder named above if it is not yours."

    /// Makes the missing folders of `folder`, each 0700; never changes an existing one
    /// (whether it may be used is `problem`'s to say).
    public static func makeFolders(_ folder: String) {
        var prefix = folder.hasPrefix("/") ? "" : "."
        for part in folder.split(separator: "/") {
            prefix += "/" + part
            _ = mkdir(prefix, 0o700)
        }
    }

    /// `uid 1001 (name)`, or `uid 1001` when /etc/passwd has no name for it. Read directly, not
    /// through getpwuid: the shipped client is a static executable, which cannot load NSS modules.
    public static func userName(_ uid: UInt32) -> String {
        let fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "uid \(uid)" }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while bytes.count < 4 << 20 {
            let n = read(fd, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        // name:password:uid:gid:…
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            let fields = line.split(separator: UInt8(ascii: ":"), maxSplits: 3, omittingEmptySubsequences: false)
            guard fields.count == 4, String(decoding: fields[2], as: UTF8.self) == String(uid), !fields[0].isEmpty
            else { continue }
            return "uid \(uid) (\(TerminalText.visible(String(decoding: fields[0], as: UTF8.self))))"
        }
        return "uid \(uid)"
    }

    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let folder = String(path[..<slash])
        return folder.isEmpty ? "/" : folder
    }
}
