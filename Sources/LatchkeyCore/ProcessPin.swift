#if canImport(Glibc)
    import Glibc
#endif

/// A process as it was when it connected: its start time (field 22 of `/proc/PID/stat`, which
/// no later process with a recycled PID shares) and the file it runs (device and inode of
/// `/proc/PID/exe`, which `exec` changes). Taken when the daemon accepts a connection and
/// checked again before a restricted account's credentials are used, so the program judged is
/// the one that connected, not whatever the PID runs at request time.
public struct ProcessPin: Sendable, Equatable {
    public var pid: Int32
    public var startTime: UInt64
    public var device: UInt64
    public var inode: UInt64

    public init(pid: Int32, startTime: UInt64, device: UInt64, inode: UInt64) {
        self.pid = pid
        self.startTime = startTime
        self.device = device
        self.inode = inode
    }

    /// The process `pid` as it is now; nil when it is gone or /proc does not tell.
    public static func read(pid: Int32) -> ProcessPin? {
        guard pid > 0, let startTime = startTime(of: pid) else { return nil }
        var exe = stat()
        guard stat("/proc/\(pid)/exe", &exe) == 0 else { return nil }
        // The start time read again: the PID still names the process whose program was read.
        guard Self.startTime(of: pid) == startTime else { return nil }
        return ProcessPin(pid: pid, startTime: startTime, device: UInt64(exe.st_dev), inode: UInt64(exe.st_ino))
    }

    /// Pins the peer of a connection: `pidfd` (from SO_PEERPIDFD, Linux 6.5+) refers to the
    /// very process that connected, so a PID recycled between connect and accept is noticed:
    /// after reading /proc, the pidfd must still be open to a running process. Without a pidfd
    /// (older kernels) the PID from SO_PEERCRED is trusted for that short moment.
    public static func read(pid: Int32, pidfd: Int32?) -> ProcessPin? {
        let pin = read(pid: pid)
        guard let pidfd else { return pin }
        defer { close(pidfd) }
        // A pidfd becomes readable when its process has ended.
        var exited = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
        guard poll(&exited, 1, 0) == 0 else { return nil }
        return pin
    }

    /// Whether the process still runs the program it ran when pinned (same process, no exec
    /// of another file since).
    public var isCurrent: Bool { Self.read(pid: pid) == self }

    /// Field 22 of `/proc/PID/stat`: after the command name in parentheses (which may itself
    /// hold spaces and parentheses), the 20th field.
    static func startTime(of pid: Int32) -> UInt64? {
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard n > 0, let close = buffer[0..<n].lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = buffer[(close + 1)..<n].split(separator: UInt8(ascii: " "))
        guard fields.count > 19 else { return nil }
        return UInt64(String(decoding: fields[19], as: UTF8.self))
    }
}
