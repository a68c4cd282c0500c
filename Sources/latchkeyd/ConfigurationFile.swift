import LatchkeyCore

#if canImport(Glibc)
    import Glibc
#endif

/// Reads the configuration file from disk.
enum ConfigurationFile {
    /// A missing default file means "no accounts yet"; a missing file named on the command
    /// line is an error.
    static func load(_ path: String, required: Bool) throws(LatchkeyError) -> Configuration {
        try ConfigurationTrust.check(path)
        guard let bytes = readBytes(path) else {
            if errno == ENOENT && !required { return Configuration() }
            throw LatchkeyError(
                .configuration, "Cannot read the configuration file \(path): \(String(cString: strerror(errno))).",
                hint: "Create it from config/latchkey.example.toml.")
        }
        do {
            // Bytes, not text: a file that is not UTF-8 is refused with its line, not read with
            // replacement characters.
            return try Configuration.parse(bytes, file: path)
        } catch {
            throw error.latchkeyError
        }
    }

    static func readText(_ path: String) -> String? {
        readBytes(path).map { String(decoding: $0, as: UTF8.self) }
    }

    static func readBytes(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
            if bytes.count > 4 << 20 { errno = EFBIG; return nil }
        }
        return bytes
    }
}
