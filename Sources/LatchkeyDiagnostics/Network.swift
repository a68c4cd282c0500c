import LatchkeyCore
import LatchkeyCrypto

#if canImport(Glibc)
    import Glibc
#endif

/// DNS and TCP, with the system's resolver and a short timeout.
enum Network {
    static func resolve(_ host: String) -> [String] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let list else { return [] }
        defer { freeaddrinfo(list) }
        var out: [String] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = list
        while let entry = cursor {
            cursor = entry.pointee.ai_next
            var buffer = [CChar](repeating: 0, count: 64)
            if getnameinfo(
                entry.pointee.ai_addr, entry.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0,
                NI_NUMERICHOST) == 0
            {
                let text = String(cString: buffer)
                if !out.contains(text) { out.append(text) }
            }
        }
        return out
    }

    /// nil when a connection could be made, else why not.
    static func connect(_ host: String, _ port: Int) -> String? {
        do {
            // TLSInspector's connect has the timeout handling; it sends nothing.
            let fd = try TLSInspector.openConnection(host: host, port: port, timeout: 5)
            close(fd)
            return nil
        } catch {
            return error.message
        }
    }
}

/// RFC 9110 §5.6.7 IMF-fixdate, as servers send `Date`.
enum HTTPDate {
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func parse(_ text: String) -> Double? {
        // "Sun, 06 Nov 1994 08:49:37 GMT"
        let parts = text.split(separator: " ")
        // A server's header: ASCII digits in their ranges only, so the tm fields cannot overflow.
        guard parts.count == 6, let day = CheckedNumber.decimal(parts[1], maximum: 31),
            let month = months.firstIndex(of: String(parts[2])),
            let year = CheckedNumber.decimal(parts[3], maximum: 9999)
        else { return nil }
        let clock = parts[4].split(separator: ":").compactMap { CheckedNumber.decimal($0, maximum: 60) }
        guard clock.count == 3 else { return nil }
        var t = tm()
        t.tm_year = Int32(year - 1900)
        t.tm_mon = Int32(month)
        t.tm_mday = Int32(day)
        t.tm_hour = Int32(clock[0])
        t.tm_min = Int32(clock[1])
        t.tm_sec = Int32(clock[2])
        return Double(timegm(&t))
    }
}
