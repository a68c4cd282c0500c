import LatchkeyCore
import LatchkeyGSS
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The test realm LATCHKEY.TEST and Apache from scripts/testenv (kerberos.sh, apache.sh), as
/// their exported variables describe them.
struct KerberosTestEnvironment {
    var realm: String
    var apacheURL: String
    var spn: String

    /// The environment, with KRB5_CONFIG pointed at the test realm's file (never the system's,
    /// which names ATHENA.MIT.EDU) and KRB5CCNAME unset. Nil, after recording an issue under
    /// LATCHKEY_INTEGRATION=1, when the test servers are not running.
    static func current() -> KerberosTestEnvironment? {
        let config = variable("LATCHKEY_TEST_KRB5_CONFIG")
        let realm = variable("LATCHKEY_TEST_REALM")
        let apache = variable("LATCHKEY_TEST_APACHE_HTTP")
        let spn = variable("LATCHKEY_TEST_HTTP_SPN")
        guard let config, let realm, let apache, let spn, variable("LATCHKEY_TESTENV") != nil else {
            if variable("LATCHKEY_INTEGRATION") == "1" {
                let needed = "LATCHKEY_TEST_KRB5_CONFIG, LATCHKEY_TEST_APACHE_HTTP, LATCHKEY_TEST_HTTP_SPN"
                Issue.record("LATCHKEY_INTEGRATION=1 but the Kerberos test environment is not up (\(needed))")
            }
            return nil
        }
        setenv("KRB5_CONFIG", config, 1)
        unsetenv("KRB5CCNAME")
        return KerberosTestEnvironment(realm: realm, apacheURL: apache, spn: spn)
    }

    static func variable(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
    }

    func principal(_ user: String) -> String { "\(user)@\(realm)" }

    /// The HTTP status Apache's /krb/ answers to `Authorization: Negotiate <token>`.
    func apacheStatus(token: Secret<[UInt8]>) throws -> String {
        let header = "Authorization: Negotiate \(Base64.encode(token.reveal()))"
        let command =
            "curl -s --noproxy '*' --max-time 10 -o /dev/null -w '%{http_code}' -H '\(header)' '\(apacheURL)/krb/'"
        return try shell(command).output
    }

    /// Runs scripts/testenv/kerberos.sh with `action` (kdc-stop, kdc-start, reset).
    func kerberosScript(_ action: String) throws {
        let script = repositoryRoot() + "/scripts/testenv/kerberos.sh"
        let result = try shell("bash '\(script)' \(action) 2>&1")
        if result.status != 0 { throw ShellError(description: "kerberos.sh \(action) failed: \(result.output)") }
    }
}

struct ShellError: Error, CustomStringConvertible {
    var description: String
}

/// Runs a shell command, returning its standard output and exit status.
func shell(_ command: String) throws -> (output: String, status: Int32) {
    guard let pipe = popen(command, "r") else { throw ShellError(description: "popen failed: \(command)") }
    var output: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = fread(&buffer, 1, buffer.count, pipe)
        if count <= 0 { break }
        output += buffer[0..<count]
    }
    let status = pclose(pipe)
    let code: Int32 = status == -1 ? -1 : (status >> 8) & 0xff
    return (String(decoding: output, as: UTF8.self), code)
}

/// The package's root folder, from this file's path (Tests/LatchkeyGSSTests/…).
func repositoryRoot(_ file: String = #filePath) -> String {
    var parts = file.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}

/// A private FILE: ticket cache in a new temporary folder, removed after `body`.
func withPrivateCache<T>(_ body: (String) throws -> T) throws -> T {
    let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
    var template = Array((base + "/latchkey-gss-test-XXXXXX").utf8CString)
    guard let made = mkdtemp(&template) else { throw ShellError(description: "mkdtemp in \(base) failed") }
    let folder = String(cString: made)
    defer {
        unlink(folder + "/ccache")
        rmdir(folder)
    }
    return try body("FILE:\(folder)/ccache")
}

/// A prompter answering from a script, one row per call (nil = cancel), recording what it saw.
struct ScriptedPrompter: KerberosPrompter {
    struct Call: Sendable {
        var banner: String?
        var prompts: [KerberosPrompt]
    }

    /// The shared state (a Mutex cannot be copied; the prompter is a copyable value).
    private final class State: Sendable {
        let guarded: Mutex<(rows: [[String]?], calls: [Call])>
        init(_ rows: [[String]?]) { guarded = Mutex((rows, [])) }
    }

    private let state: State

    init(_ rows: [[String]?]) {
        state = State(rows)
    }

    var calls: [Call] { state.guarded.withLock { $0.calls } }

    /// Every banner and prompt text seen, in order.
    var texts: [String] { calls.flatMap { [$0.banner].compactMap { $0 } + $0.prompts.map(\.text) } }

    func answer(banner: String?, prompts: [KerberosPrompt]) -> [Secret<String>]? {
        state.guarded.withLock { state in
            state.calls.append(Call(banner: banner, prompts: prompts))
            // A banner alone (no questions) consumes no row.
            if prompts.isEmpty { return [] }
            guard !state.rows.isEmpty, let row = state.rows.removeFirst() else { return nil }
            return row.map { Secret($0) }
        }
    }
}

/// Runs `body` and returns the `KerberosError` it throws, or nil when it does not throw.
func kerberosError(_ body: () throws(KerberosError) -> Void) -> KerberosError? {
    do {
        try body()
        return nil
    } catch {
        return error
    }
}
