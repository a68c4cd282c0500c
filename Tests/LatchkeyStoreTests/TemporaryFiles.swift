#if canImport(Glibc)
    import Glibc
#endif

/// File helpers for the store tests, on plain POSIX calls (no Foundation in this package).

struct TestFileError: Error, CustomStringConvertible {
    var description: String
    init(_ what: String, _ path: String) { description = "\(what) \(path): \(String(cString: strerror(errno)))" }
}

/// Runs `body` with a new private folder under `$TMPDIR` (or /tmp), removed afterwards.
func withTemporaryFolder(_ body: (String) async throws -> Void) async throws {
    let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
    var template = Array((base + "/latchkey-store-test-XXXXXX").utf8CString)
    guard let made = mkdtemp(&template) else { throw TestFileError("mkdtemp", base) }
    let folder = String(cString: made)
    defer { removeTree(folder) }
    try await body(folder)
}

func removeTree(_ path: String) {
    var info = stat()
    guard lstat(path, &info) == 0 else { return }
    if info.st_mode & S_IFMT == S_IFDIR {
        chmod(path, 0o700)
        for name in (try? entries(path)) ?? [] { removeTree(path + "/" + name) }
        rmdir(path)
    } else {
        unlink(path)
    }
}

func entries(_ folder: String) throws -> [String] {
    guard let dir = opendir(folder) else { throw TestFileError("opendir", folder) }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}

func readFile(_ path: String) throws -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw TestFileError("open", path) }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n >= 0 else { throw TestFileError("read", path) }
        if n == 0 { return bytes }
        bytes += chunk[0..<n]
    }
}

/// Replaces the file's contents in place (same inode) and sets its mode exactly.
func writeFile(_ path: String, _ bytes: [UInt8], mode: mode_t) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw TestFileError("open", path) }
    defer { close(fd) }
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
        guard n > 0 else { throw TestFileError("write", path) }
        offset += n
    }
    guard fchmod(fd, mode) == 0 else { throw TestFileError("chmod", path) }
}

func makeFolder(_ path: String, mode: mode_t = 0o700) throws {
    guard mkdir(path, mode) == 0 else { throw TestFileError("mkdir", path) }
}

func mode(_ path: String) -> mode_t? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return info.st_mode & 0o7777
}

func exists(_ path: String) -> Bool { mode(path) != nil }

func contains(_ haystack: [UInt8], _ needle: String) -> Bool {
    let n = Array(needle.utf8)
    guard !n.isEmpty, haystack.count >= n.count else { return false }
    for start in 0...(haystack.count - n.count) where haystack[start..<start + n.count].elementsEqual(n) { return true }
    return false
}
