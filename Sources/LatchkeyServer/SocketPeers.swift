import LatchkeyBroker
import LatchkeyClient
import LatchkeyCore
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

// What the socket server knows of the other end of a connection: who it is, whether a
// socket answers at a path, the address itself, and the connections open now.

/// The peer of an accepted Unix connection: uid and pid from the kernel (SO_PEERCRED), the
/// program from /proc/PID/exe, and the pin `allowed_clients` is judged by (`ProcessPin`,
/// made race-free against a recycled PID with SO_PEERPIDFD where the kernel has it).
enum PeerCredentials {
    /// SO_PEERPIDFD (Linux 6.5+, asm-generic/socket.h); older kernels answer ENOPROTOOPT.
    static let peerPIDFDOption: Int32 = 77

    /// `struct ucred` is not visible from Swift's Glibc module; this has its layout.
    struct UCred {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    static func read(_ channel: Channel) -> EventLoopFuture<ClientIdentity?> {
        guard let options = channel as? SocketOptionProvider else { return channel.eventLoop.makeSucceededFuture(nil) }
        let future: EventLoopFuture<UCred> = options.unsafeGetSocketOption(
            level: .socket, name: NIOBSDSocket.Option(rawValue: SO_PEERCRED))
        return future.flatMap { credentials in
            // Asked for after SO_PEERCRED succeeded, so the pidfd is always handed on (and closed).
            let pidfd: EventLoopFuture<Int32> = options.unsafeGetSocketOption(
                level: .socket, name: NIOBSDSocket.Option(rawValue: peerPIDFDOption))
            return pidfd.map { Optional($0) }.recover { _ in nil }.map { pidfd in
                ClientIdentity(
                    pid: credentials.pid, uid: credentials.uid, executable: executable(of: credentials.pid),
                    pin: ProcessPin.read(pid: credentials.pid, pidfd: pidfd))
            }
        }
    }

    static func executable(of pid: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/\(pid)/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Whether something answers on a Unix socket path (a live daemon) or not (a stale file).
enum SocketProbe {
    static func isLive(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard var address = UnixAddress(path) else { return false }
        let result = withUnsafePointer(to: &address.storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return result == 0
    }
}

/// A `sockaddr_un` for a path that fits in it.
struct UnixAddress {
    var storage = sockaddr_un()

    init?(_ path: String) {
        storage.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: storage.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &storage.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
    }
}

/// Open connections, against a ceiling; closed together at the end of a shutdown.
final class OpenConnections: Sendable {
    let maximum: Int
    private let open = Mutex<[ObjectIdentifier: any Channel]>([:])

    init(maximum: Int) { self.maximum = maximum }

    /// Counts one more; false when that would go over the ceiling (the caller then closes it).
    func add(_ channel: any Channel) -> Bool {
        open.withLock { open in
            guard open.count < maximum else { return false }
            open[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    func remove(_ channel: any Channel) {
        _ = open.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Closes every connection still open (answers already written go out first: the close is
    /// queued on the event loop behind them).
    func closeAll() async {
        let channels = open.withLock { Array($0.values) }
        for channel in channels { try? await channel.close() }
    }
}
