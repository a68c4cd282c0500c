import ArgumentParser
import LatchkeyClient
import LatchkeyCore

struct Token: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the account's access token (for PassCmd-style options).")

    @Argument(help: "The account.", completion: AccountCompletion.kind) var account: String
    @Option(
        name: .customLong("scope"), help: "A scope of the token (repeat for several; default: the account's scopes).")
    var scopes: [String] = []
    @Option(help: "Seconds the token must stay valid for (default: the account's min_valid, 60).") var minValid: Int?
    @Flag(help: "Print the daemon's JSON answer.") var json = false
    @OptionGroup var options: ClientOptions

    func validate() throws { try validateAccount(account) }

    func run() throws {
        let answer = try options.call(
            "GET",
            "/v1/accounts/\(account)/token"
                + query(scopes.map { ("scope", $0) } + [("min_valid", minValid.map(String.init))]))
        if json { return printOut(answer.encoded) }
        guard let token = answer["access_token"]?.stringValue else {
            fail(LatchkeyError(.internalError, "The daemon's answer has no access_token."))
        }
        printOut(token)
    }
}

struct Header: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print \"Authorization: <scheme> <credentials>\" for the account.")

    @Argument(help: "The account.", completion: AccountCompletion.kind) var account: String
    @Option(help: "The URL the header is for (picks the Kerberos service).") var url: String?
    @Option(help: "Seconds the credential must stay valid for.") var minValid: Int?
    @Flag(help: "Print the daemon's JSON answer.") var json = false
    @Flag(help: "For an ActiveSync account: also print \"X-MS-PolicyKey: N\" on a second line.") var activesync = false
    @OptionGroup var options: ClientOptions

    func validate() throws { try validateAccount(account) }

    func run() throws {
        let answer = try options.call(
            "GET", "/v1/accounts/\(account)/header" + query([("url", url), ("min_valid", minValid.map(String.init))]))
        if json { return printOut(answer.encoded) }
        guard let header = answer["header"]?.stringValue else {
            fail(LatchkeyError(.internalError, "The daemon's answer has no header."))
        }
        guard activesync else { return printOut(header) }
        guard let policyKey = answer["policy_key_header"]?.stringValue else {
            fail(
                LatchkeyError(
                    .badRequest, "'\(account)' is not an ActiveSync account: its answer has no policy key.",
                    hint: "Set url to its …/Microsoft-Server-ActiveSync endpoint."))
        }
        printOut(header + "\n" + policyKey)
    }
}

struct Logout: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Sign out: forget every secret of the account.")

    @Argument(help: "The account.", completion: AccountCompletion.kind) var account: String
    @OptionGroup var options: ClientOptions

    func validate() throws { try validateAccount(account) }

    func run() throws {
        _ = try options.call("DELETE", "/v1/accounts/\(account)/credentials")
        printError("Signed out of '\(account)'.")
    }
}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the daemon (latchkeyd) in the foreground.")

    @Option(help: "The configuration file.", completion: .file(extensions: ["toml"])) var config: String?
    @Option(help: "The socket path.", completion: .file()) var socket: String?
    @Option(help: "trace, debug, info, warning or error.") var logLevel: String?

    func run() throws {
        var arguments = ["serve"]
        if let config { arguments += ["--config", config] }
        if let socket { arguments += ["--socket", socket] }
        if let logLevel { arguments += ["--log-level", logLevel] }
        execDaemon(arguments)
    }
}
