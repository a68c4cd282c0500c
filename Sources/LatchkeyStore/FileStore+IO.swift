import LatchkeyCore
import LatchkeyCrypto

#if canImport(Glibc)
    import Glibc
#endif

/// The POSIX file calls of the file store. They block: callers run them on the store's
/// private queue, never on Swift's cooperative pool. Every failing call goes through
/// `failure(_:_:errno:)`, which names the file, the system's reason and what to do.
enum FileIO {
    /// The file's whole contents, or nil when it does not exist. Refuses anything larger than
    /// `limit` bytes and anything that is not a regular file.
    static func readIfPresent(_ path: String, limit: Int) throws(StoreError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw failure("read", path, errno: errno)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure("inspect", path, errno: errno) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw StoreError(.io, "\(path) is not a regular file; point store_file at a file in a folder of its own.")
        }
        return try readAll(fd, path: path, limit: limit)
    }

    /// Reads to end of file; a file that grows past `limit` is refused rather than truncated.
    static func readAll(_ fd: Int32, path: String, limit: Int) throws(StoreError) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        defer { Crypto.cleanse(&chunk) }
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure("read", path, errno: errno)
            }
            if count == 0 { return bytes }
            guard bytes.count + count <= limit else {
                Crypto.cleanse(&bytes)
                throw StoreError(
                    .io,
                    "\(path) is larger than \(limit) bytes, far more than Latchkey ever writes; check that it is "
                        + "the right file.")
            }
            bytes += chunk[0..<count]
        }
    }

    /// Replaces `path` with `bytes` so that a reader, or the file after a crash, holds either
    /// the old contents or the new, never a mix: a new file `PATH.tmp-<random>` (0600, created
    /// exclusively), written, synced and closed, renamed over `path`, then the folder synced so
    /// the rename itself survives a power cut. Creates the folder (0700) when missing.
    static func replaceAtomically(_ path: String, with bytes: [UInt8]) throws(StoreError) {
        let folder = parent(of: path)
        try makeDirectories(folder)
        let temporary = path + ".tmp-" + hex(Crypto.randomBytes(8))
        let fd = open(temporary, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("create", temporary, errno: errno) }
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        do throws(StoreError) {
            try writeAll(fd, bytes, path: temporary)
            // The umask may only narrow 0600; set it exactly so the mode is known.
            guard fchmod(fd, 0o600) == 0 else { throw failure("set the mode of", temporary, errno: errno) }
            guard fsync(fd) == 0 else { throw failure("flush", temporary, errno: errno) }
        } catch {
            close(fd)
            throw error
        }
        guard close(fd) == 0 else { throw failure("close", temporary, errno: errno) }
        CrashPoint.hit("store.before_rename")
        guard rename(temporary, path) == 0 else { throw failure("replace", path, errno: errno) }
        renamed = true
        try syncDirectory(folder)
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(StoreError) {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure("write", path, errno: errno)
            }
            offset += count
        }
    }

    private static func syncDirectory(_ folder: String) throws(StoreError) {
        let fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("open the folder", folder, errno: errno) }
        defer { close(fd) }
        // Some file systems cannot sync a directory (EINVAL); the rename has happened regardless.
        if fsync(fd) != 0, errno != EINVAL { throw failure("flush the folder", folder, errno: errno) }
    }

    /// `mkdir -p` with mode 0700 for every folder it creates; existing folders keep their mode.
    static func makeDirectories(_ folder: String) throws(StoreError) {
        var prefix = folder.hasPrefix("/") ? "/" : ""
        for component in folder.split(separator: "/") {
            prefix += prefix.isEmpty || prefix.hasSuffix("/") ? component : "/" + component
            if mkdir(prefix, 0o700) != 0, errno != EEXIST { throw failure("create the folder", prefix, errno: errno) }
        }
    }

    /// Whether something exists at `path` (following symbolic links).
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// Removes `PATH.tmp-*` files that a crash left between writing and renaming (they hold an
    /// encrypted, never-used copy; the file itself is intact). Only files older than a minute:
    /// another process reading the store (`diagnose`) must not take a write in flight away.
    static func removeLeftovers(of path: String) {
        let folder = parent(of: path)
        let prefix = String(path.dropFirst(folder.count).drop { $0 == "/" }) + ".tmp-"
        guard let directory = opendir(folder) else { return }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            var info = stat()
            guard name.hasPrefix(prefix), lstat(folder + "/" + name, &info) == 0 else { continue }
            if time(nil) - info.st_mtim.tv_sec > 60 { unlink(folder + "/" + name) }
        }
    }

    static func parent(of path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        if slash == path.utf8.startIndex { return "/" }
        return String(path[..<slash])
    }

    static func join(_ folder: String, _ name: String) -> String {
        folder.hasSuffix("/") ? folder + name : folder + "/" + name
    }

    /// The funnel for failed system calls: `.io` with the system's reason and a remedy.
    static func failure(_ doing: String, _ path: String, errno code: Int32) -> StoreError {
        let reason = String(cString: strerror(code))
        let remedy: String
        switch code {
        case EACCES, EPERM:
            remedy = "Check that the user running latchkeyd owns it and can write to its folder."
        case ENOSPC, EDQUOT:
            remedy = "Free some disk space, then try again."
        case EROFS:
            remedy = "The file system is read-only; set store_file in [broker] to a writable place."
        case ENOTDIR:
            remedy = "Part of the path is a file, not a folder; check store_file in [broker]."
        default:
            remedy = "Check the file and its folder, then try again."
        }
        return StoreError(.io, "Could not \(doing) \(path): \(reason). \(remedy)")
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out += [digits[Int(b >> 4)], digits[Int(b & 15)]] }
        return String(decoding: out, as: UTF8.self)
    }

    /// The path as a shell word, for commands quoted in messages.
    static func shellQuoted(_ path: String) -> String {
        let safe = path.utf8.allSatisfy { c in
            (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || "/._-+,:@%".utf8.contains(c)
        }
        if safe && !path.isEmpty { return path }
        return "'" + path.replacingEvery("'", with: "'\\''") + "'"
    }
}
