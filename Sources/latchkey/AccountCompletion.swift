import ArgumentParser
import LatchkeyClient
import LatchkeyCore

#if canImport(Glibc)
    import Glibc
#endif

/// Account names for the shell completions that ArgumentParser generates
/// (`latchkey --generate-completion-script bash|zsh|fish`). The shell runs
/// `latchkey ---completion … -- WORDS` on each Tab: that is never the `token NAME` fast path
/// (FastPath.swift), and it never starts a daemon (no `Autostart`): the names come from a daemon
/// already answering on the socket, else from the configuration file; nothing is printed on
/// failure, because an error would land in the user's command line, and nothing after 2 s.
enum AccountCompletion {
    static let kind = CompletionKind.custom { words, _, prefix in
        names(socket: socketOption(words)).filter { $0.hasPrefix(prefix) }
    }

    /// Names the running daemon knows, or the configuration file's; [] when neither answers.
    static func names(socket: String?) -> [String] {
        let paths = Paths(environment: { getenv($0).map { String(cString: $0) } }, uid: getuid())
        // A daemon that accepts and never answers must not hang the shell: SIGALRM's default
        // action ends this process (no completions) after 2 s.
        alarm(2)
        let client = DaemonClient(socketPath: socket ?? paths.socket)
        if let answer = try? client.request("GET", "/v1/accounts"), answer.status == 200,
            let accounts = answer.json?["accounts"]?.arrayValue
        {
            return valid(accounts.compactMap { $0["name"]?.stringValue })
        }
        guard let bytes = readConfiguration(paths.configFile),
            let configuration = try? Configuration.parse(bytes, file: paths.configFile)
        else { return [] }
        return valid(configuration.accounts.map(\.name))
    }

    /// The value of `--socket PATH` or `--socket=PATH` on the command line being completed.
    static func socketOption(_ words: [String]) -> String? {
        for (index, word) in words.enumerated() {
            if word == "--socket", index + 1 < words.count { return words[index + 1] }
            if word.hasPrefix("--socket=") { return String(word.dropFirst("--socket=".count)) }
        }
        return nil
    }

    /// Only names the daemon would take: nothing else (a control character, a space) reaches the shell.
    static func valid(_ names: [String]) -> [String] {
        names.filter(Configuration.isValidAccountName).sorted()
    }

    /// The file's bytes, at most 4 MiB, when latchkeyd would read it too (a regular file of this
    /// user or root that nobody else can change: ConfigurationTrust); nil otherwise.
    static func readConfiguration(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG,
            info.st_uid == getuid() || info.st_uid == 0, info.st_mode & 0o022 == 0
        else { return nil }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return nil }
            if n == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<n])
            if bytes.count > 4 << 20 { return nil }
        }
    }
}
