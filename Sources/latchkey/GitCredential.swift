import ArgumentParser
import LatchkeyClient
import LatchkeyCore

/// git's credential-helper protocol (git-credential(1), gitcredentials(7)).
///
/// git runs `latchkey git-credential get` with `key=value` lines on standard input and reads
/// the answer from standard output. Printing nothing means "not mine": git asks its next helper.
struct GitCredential: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "git-credential",
        abstract: "git's credential helper: hand git the account's token for HTTPS.",
        discussion: """
            Set it up for one host, for example:
              git config --global credential.https://git.example.com.helper '/usr/bin/latchkey git-credential'
            The account is --account, or else the first whose url or git_hosts names the host git asks about.
            """)

    @Option(help: "The account to serve (default: the one whose url or git_hosts matches git's host).")
    var account: String?
    @Argument(help: "get, store or erase (given by git).") var operation: String
    @OptionGroup var options: ClientOptions

    func validate() throws { if let account { try validateAccount(account) } }

    func run() throws {
        switch operation {
        case "get":
            try get(GitCredentialRequest.readStandardInput())
        case "store":
            // Tokens come from the daemon; there is nothing to keep.
            _ = GitCredentialRequest.readStandardInput()
        case "erase":
            // git erases a credential the server rejected. The daemon refreshes tokens by
            // itself before they expire; a token the server rejects anyway is to be reported
            // through `latchkey challenge` in a later version. Nothing to do here.
            _ = GitCredentialRequest.readStandardInput()
        default:
            // gitcredentials(7): a helper silently ignores operations it does not know, which
            // leaves room for new ones.
            break
        }
    }

    private func get(_ request: GitCredentialRequest) throws {
        // A bearer token goes only over https (or plain http to this machine): git sends the
        // credential on whatever protocol the remote uses.
        let scheme = request["protocol"]?.lowercased() ?? ""
        let asked = request["host"].flatMap(URLAuthority.init(hostAndPort:))
        guard scheme == "https" || (scheme == "http" && asked?.isLoopback == true) else {
            if !scheme.isEmpty { printError("latchkey: not handing a token to a \(scheme):// remote; use https.") }
            return
        }
        let name: String
        var details: JSONValue?
        if let account {
            name = account
        } else {
            guard let host = request["host"], let asked else { return }
            switch try accountServing(asked) {
            case .account(let found, let foundDetails):
                (name, details) = (found, foundDetails)
            case .otherHostsOnly:
                return  // another helper's host: git asks it next
            case .noGitHosts:
                // Nothing could ever be served: say what to set, or git only says
                // "could not read Username".
                let shown = SASLResponse.isPlain(host) && !host.contains("\"") ? host : "HOST"
                printError(
                    "latchkey: no account names the git host \(shown); add git_hosts = [\"\(shown)\"] (or a url on "
                        + "that host) to the account in config.toml, or pass --account.")
                return
            }
        }
        let answer = try options.call("GET", "/v1/accounts/\(name)/token")
        guard let token = answer["access_token"]?.stringValue else {
            fail(LatchkeyError(.internalError, "The daemon's answer has no access_token."))
        }
        let expiry = answer["expires_at"]?.doubleValue.flatMap { Int(clamping: $0) }

        // git 2.46+ announces `capability[]=authtype` and then takes a ready Authorization
        // scheme and credential; older versions only know username and password (Basic).
        var lines: [String]
        if request.capabilities.contains("authtype") {
            lines = ["capability[]=authtype", "authtype=Bearer", "credential=\(token)"]
        } else {
            if details == nil { details = try options.call("GET", "/v1/accounts/\(name)") }
            var username = "oauth2"
            if let email = details?["email"]?.stringValue, !email.isEmpty {
                guard SASLResponse.isPlain(email) else {
                    fail(LatchkeyError(.configuration, "The email of account '\(name)' contains control characters."))
                }
                username = email
            }
            lines = ["username=\(username)", "password=\(token)"]
        }
        if let expiry { lines.append("password_expiry_utc=\(expiry)") }
        printOut(lines.joined(separator: "\n"))
    }

    /// Which account serves a git host.
    private enum Serving {
        case account(String, JSONValue)
        /// Some account names git hosts, none this one.
        case otherHostsOnly
        /// No account names any git host or url.
        case noGitHosts
    }

    /// The first account whose `url` host or one of whose `git_hosts` is `asked` (git's
    /// `host=`, which carries the port when the URL has one). Host names compare without
    /// regard to case; ports only when both sides name one.
    private func accountServing(_ asked: URLAuthority) throws -> Serving {
        let list = try options.call("GET", "/v1/accounts")
        var anyHosts = false
        for entry in list["accounts"]?.arrayValue ?? [] {
            guard let name = entry["name"]?.stringValue else { continue }
            let details = try options.call("GET", "/v1/accounts/\(name)")
            var served = (details["git_hosts"]?.arrayValue ?? []).compactMap {
                $0.stringValue.flatMap(URLAuthority.init(hostAndPort:))
            }
            if let url = details["url"]?.stringValue.flatMap(URLAuthority.init(url:)) { served.append(url) }
            anyHosts = anyHosts || !served.isEmpty
            if served.contains(where: { $0.serves(asked) }) { return .account(name, details) }
        }
        return anyHosts ? .otherHostsOnly : .noGitHosts
    }
}

extension URLAuthority {
    /// This machine, where a token may go over plain http (`Loopback.isLoopback(host:)`).
    var isLoopback: Bool { Loopback.isLoopback(host: host) }

    /// Whether a git request for `asked` is for this host: same name, ignoring case, and the
    /// same port when both name one (`host=example.com:8443` matches `example.com`).
    func serves(_ asked: URLAuthority) -> Bool {
        guard host.lowercased() == asked.host.lowercased() else { return false }
        guard let port, let askedPort = asked.port else { return true }
        return port == askedPort
    }
}

/// What git tells a helper: `key=value` lines up to a blank line or the end of input.
struct GitCredentialRequest {
    /// In input order; array keys such as `capability[]` and `wwwauth[]` repeat.
    var fields: [(key: String, value: String)] = []

    /// The first value of `key`.
    subscript(key: String) -> String? { fields.first { $0.key == key }?.value }

    /// The `capability[]` values git announced (`authtype` since 2.46).
    var capabilities: Set<String> { Set(fields.filter { $0.key == "capability[]" }.map(\.value)) }

    /// Reads the request; a line without '=' is a usage error (exit 64), as git never sends one.
    static func readStandardInput() -> GitCredentialRequest {
        do {
            return try parse(lines: AnyIterator { readLine(strippingNewline: true) })
        } catch {
            fail(error, exit: ExitStatus.usage)
        }
    }

    static func parse(lines: some Sequence<String>) throws(LatchkeyError) -> GitCredentialRequest {
        var request = GitCredentialRequest()
        for line in lines {
            if line.isEmpty { break }
            // Values may contain '=' (a URL, a base64 challenge): split at the first one only.
            guard let equals = line.firstIndex(of: "=") else {
                throw LatchkeyError(
                    .badRequest, "git-credential: expected key=value on standard input.",
                    hint: "This command is run by git; see gitcredentials(7).")
            }
            request.fields.append((String(line[..<equals]), String(line[line.index(after: equals)...])))
        }
        return request
    }
}
