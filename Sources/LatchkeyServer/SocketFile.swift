#if canImport(Glibc)
    import Glibc
#endif

/// The socket file a daemon bound, known by its device and inode. The daemon removes its path
/// only while the path still names that file: never a socket that another daemon bound on the
/// same path since (a path removed under a running daemon leaves it unreachable, and the next
/// client would start a second daemon on the same store).
struct SocketFile: Equatable {
    let device: UInt64
    let inode: UInt64

    /// The socket file at `path` now (lstat: a link is not followed); nil when there is none
    /// or it is not a socket.
    init?(at path: String) {
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFSOCK else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }

    /// Removes `path` when it still names this socket file; true when it did.
    @discardableResult
    func remove(path: String) -> Bool {
        guard SocketFile(at: path) == self else { return false }
        return unlink(path) == 0
    }
}
