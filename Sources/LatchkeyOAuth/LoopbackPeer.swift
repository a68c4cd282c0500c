#if canImport(Glibc)
    import Glibc
#endif

/// Who owns the other end of a loopback TCP connection. A Unix socket says its peer's uid
/// (SO_PEERCRED); TCP does not, but on loopback both ends are sockets of this machine, listed
/// with their owner in `/proc/net/tcp` (and `tcp6`, for an IPv6 socket that reached us through
/// an IPv4-mapped address). The peer's socket is the line whose local address is the peer's
/// and whose remote address is ours.
enum LoopbackPeer {
    /// The uid owning the socket at `peer` connected to `local`; nil when no such socket is listed
    /// (it is already gone, or lives in another network namespace).
    static func owner(peer: sockaddr_in, local: sockaddr_in) -> UInt32? {
        if let uid = find(in: "/proc/net/tcp", peer: words(peer), local: words(local)) { return uid }
        return find(in: "/proc/net/tcp6", peer: words(mapped: peer), local: words(mapped: local))
    }

    /// How /proc prints an address: the address as 32-bit words in this machine's byte order,
    /// and the port as a number.
    struct Words: Equatable {
        var address: [UInt32]
        var port: UInt16
    }

    static func words(_ address: sockaddr_in) -> Words {
        Words(address: [address.sin_addr.s_addr], port: UInt16(bigEndian: address.sin_port))
    }

    /// `::ffff:a.b.c.d`, as an IPv6 socket sees an IPv4 address.
    static func words(mapped address: sockaddr_in) -> Words {
        var bytes = [UInt8](repeating: 0, count: 16)
        bytes[10] = 0xFF
        bytes[11] = 0xFF
        withUnsafeBytes(of: address.sin_addr.s_addr) { for (i, b) in $0.enumerated() { bytes[12 + i] = b } }
        let words = (0..<4).map { i in
            bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self) }
        }
        return Words(address: words, port: UInt16(bigEndian: address.sin_port))
    }

    /// Reads the table (at most 16 MiB) and returns the uid column of the matching line.
    static func find(in table: String, peer: Words, local: Words) -> UInt32? {
        let fd = open(table, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var text: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while text.count < 16 << 20 {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            text += chunk[0..<n]
        }
        for line in text.split(separator: UInt8(ascii: "\n")).dropFirst() {
            // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid …
            let fields = line.split(separator: UInt8(ascii: " "))
            guard fields.count > 7, parse(fields[1]) == peer, parse(fields[2]) == local else { continue }
            return UInt32(String(decoding: fields[7], as: UTF8.self))
        }
        return nil
    }

    /// `0100007F:1F90` (or 32 hex digits before the colon for tcp6).
    static func parse(_ field: ArraySlice<UInt8>) -> Words? {
        let parts = field.split(separator: UInt8(ascii: ":"))
        guard parts.count == 2, parts[0].count == 8 || parts[0].count == 32, parts[1].count == 4 else { return nil }
        var address: [UInt32] = []
        var start = parts[0].startIndex
        while start < parts[0].endIndex {
            guard let word = UInt32(String(decoding: parts[0][start..<(start + 8)], as: UTF8.self), radix: 16) else {
                return nil
            }
            address.append(word)
            start += 8
        }
        guard let port = UInt16(String(decoding: parts[1], as: UTF8.self), radix: 16) else { return nil }
        return Words(address: address, port: port)
    }
}
