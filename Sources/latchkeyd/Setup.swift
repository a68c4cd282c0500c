import LatchkeyClient
import LatchkeyCore
import LatchkeyDiscovery
import LatchkeyGSS
import LatchkeyHTTP

#if canImport(Glibc)
    import Glibc
#endif

/// `latchkey setup EMAIL`: Autodiscover, probe, choose the method, explain, and add the
/// account to the config (SPEC.md §5). The file's other content and comments are kept: the
/// section is appended, and the whole new file is parsed before it replaces the old one.
struct Setup: DaemonCommand {
    static let name = "setup"
    static let grammar = CommandLineArguments.Grammar(
        options: [
            "name", "autodiscover", "url", "client-id", "ca-file", "scope", "username", "prefer", "protocol",
            "connect-to",
            "config", "socket",
        ],
        repeatable: ["scope", "connect-to"], flags: ["dry-run"], positional: "email")
    static let usage = "latchkeyd setup [<options>] <email>"
    static let help = """
        OVERVIEW: Discover how an e-mail account signs in and add it to the
        configuration.

        USAGE: latchkeyd setup [<options>] <email>

        ARGUMENTS:
          <email>                 The address you sign in with, such as
                                  alice@contoso.example.

        OPTIONS:
          --name <name>           The account's name in the config (default: the
                                  address's domain, first label).
          --autodiscover <autodiscover>
                                  Ask this Autodiscover host (https://host) instead of
                                  the address's domain.
          --url <url>             The service URL, when known: skips Autodiscover.
          --client-id <client-id> The OAuth client id to register for this account.
          --ca-file <ca-file>     An extra CA certificate (PEM) to trust for this
                                  account.
          --scope <scope>         An OAuth scope (repeatable; default: the service's
                                  own).
          --username <username>   The user name for Basic (default: the address).
          --prefer <prefer>       The preference order, comma-separated (default:
                                  oauth,kerberos,basic).
          --protocol <protocol>   Exchange Online: the scopes for activesync, ews or
                                  imap (IMAP and SMTP) (default: the protocol found).
          --connect-to <connect-to>
                                  HOST:PORT:HOST2:PORT2, as curl's: connect to
                                  HOST2:PORT2 for HOST:PORT, still verifying HOST's
                                  certificate (repeatable).
          --config <config>       The configuration file (default:
                                  $XDG_CONFIG_HOME/latchkey/config.toml).
          --socket <socket>       The daemon's socket, to have a running daemon read
                                  the new account.
          --dry-run               Print the section instead of writing it.
          --version               Show the version.
          -h, --help              Show help information.

        """ + "\n"

    /// What each field is: `help` above, which `latchkeyd setup --help` prints.
    var email: String
    var name: String?
    var autodiscover: String?
    var url: String?
    var clientID: String?
    var caFile: String?
    var scopes: [String]
    var username: String?
    var prefer: String?
    var exchangeProtocol: String?
    var connectTo: [String]
    var config: String?
    var socket: String?
    var dryRun: Bool

    init(_ arguments: CommandLineArguments) throws(CommandLineArguments.Mistake) {
        guard let email = arguments.positional else {
            throw CommandLineArguments.Mistake(
                "Missing expected argument '<email>'\nHelp:  <email>  The address you sign in with, such as alice@contoso.example."
            )
        }
        self.email = email
        name = arguments.value("name")
        autodiscover = arguments.value("autodiscover")
        url = arguments.value("url")
        clientID = arguments.value("client-id")
        caFile = arguments.value("ca-file")
        scopes = arguments.values["scope"] ?? []
        username = arguments.value("username")
        prefer = arguments.value("prefer")
        exchangeProtocol = arguments.value("protocol")
        connectTo = arguments.values["connect-to"] ?? []
        config = arguments.value("config")
        socket = arguments.value("socket")
        dryRun = arguments.flags.contains("dry-run")
    }

    func run() async throws {
        Hygiene.apply()
        let paths = Paths(environment: { getenv($0).map { String(cString: $0) } }, uid: getuid())
        let configPath = config ?? paths.configFile
        do throws(LatchkeyError) {
            try await setUp(configPath: configPath, socketPath: socket ?? paths.socket)
        } catch {
            printError("latchkey: \(error.message)" + (error.hint.isEmpty ? "" : "\n  \(error.hint)"))
            throw ExitCode(error.code.exitStatus)
        }
    }

    func setUp(configPath: String, socketPath: String) async throws(LatchkeyError) {
        let preference = try preferenceOrder()
        let existing = ConfigurationFile.readText(configPath)
        if existing == nil && errno != ENOENT {
            throw LatchkeyError(.configuration, "Cannot read \(configPath): \(String(cString: strerror(errno))).")
        }
        let current: Configuration
        do {
            current = try Configuration.parse(existing ?? "", file: configPath)
        } catch {
            throw LatchkeyError(
                .configuration, "The configuration has an error; fix it before adding an account: \(error.description)")
        }
        let accountName = name ?? Self.defaultName(email)
        guard !accountName.isEmpty,
            accountName.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-") }
            )
        else {
            throw LatchkeyError(.badRequest, "--name: account names may use letters, digits, '.', '_' and '-' only.")
        }
        guard !current.accounts.contains(where: { $0.name == accountName }) else {
            throw LatchkeyError(
                .configuration, "\(configPath) already has an account named '\(accountName)'.",
                hint: "Choose another name with --name, or remove [accounts.\(accountName)] first.")
        }

        var options = HTTPOptions(caFile: caFile, connectTimeout: 10, totalTimeout: 20)
        options.connectTo = try Self.connectToEntries(connectTo)
        var asked: ExchangeProtocol?
        if let exchangeProtocol {
            guard let known = ExchangeProtocol(rawValue: exchangeProtocol.lowercased()) else {
                throw LatchkeyError(.badRequest, "--protocol: '\(exchangeProtocol)' is not activesync, ews or imap.")
            }
            asked = known
        }
        let request = DiscoveryRequest(
            email: email, url: url, autodiscoverHost: autodiscover, preference: preference, clientID: clientID,
            kerberosRealm: preference.contains(.kerberos) ? Kerberos.defaultRealm() : nil, exchangeProtocol: asked)
        let report = try await Discovery(http: HTTPClient(), options: options).run(request)
        for line in report.explanation { printError(line) }

        let section = AccountSection(
            name: accountName, report: report, clientID: clientID, caFile: caFile,
            scopes: scopes.isEmpty ? nil : scopes,
            username: username)
        var text = existing ?? ""
        if !text.isEmpty && !text.hasSuffix("\n") { text += "\n" }
        text += section.text
        do {
            _ = try Configuration.parse(text, file: configPath)
        } catch {
            throw LatchkeyError(
                .internalError, "The section Latchkey wrote does not parse (\(error.description)); nothing was changed."
            )
        }
        if dryRun {
            print(section.text, terminator: "")
            return
        }
        try ConfigWriter.replace(configPath, with: text)
        printError("Added [accounts.\(accountName)] (method \(report.choice.method.rawValue)) to \(configPath).")
        if DaemonReload.signal(socketPath: socketPath, account: accountName) {
            printError("The running daemon has read it.")
        }
        printError("Next: latchkey login \(accountName)")
    }

    func preferenceOrder() throws(LatchkeyError) -> [AuthMethod] {
        guard let prefer else { return MethodChoice.defaultPreference }
        var order: [AuthMethod] = []
        for word in prefer.split(separator: ",") {
            guard let method = AuthMethod(rawValue: String(word).trimmed), method != .auto else {
                throw LatchkeyError(.badRequest, "--prefer: '\(word)' is not oauth, kerberos or basic.")
            }
            order.append(method)
        }
        return order
    }

    /// `--connect-to HOST:PORT:HOST2:PORT2`: host names or addresses (IPv6 in brackets) and
    /// ports of digits, so libcurl gets nothing else.
    static func connectToEntries(_ entries: [String]) throws(LatchkeyError) -> [String] {
        for entry in entries {
            var rest = Substring(entry)
            var valid = true
            for index in 0..<4 {
                let field: Substring
                if index % 2 == 0, rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
                    field = rest[...close]
                } else {
                    field = rest.prefix { $0 != ":" }
                }
                rest = rest.dropFirst(field.count)
                let fine =
                    index % 2 == 0
                    ? !field.isEmpty
                        && field.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || ".-[]:".contains($0)) }
                    : !field.isEmpty && field.count <= 5 && field.allSatisfy { $0.isASCII && $0.isNumber }
                valid = valid && fine && (index == 3 ? rest.isEmpty : rest.hasPrefix(":"))
                rest = rest.dropFirst()
            }
            guard valid else {
                throw LatchkeyError(.badRequest, "--connect-to: '\(entry)' is not HOST:PORT:HOST2:PORT2.")
            }
        }
        return entries
    }

    /// `alice@contoso.example` → `contoso`.
    static func defaultName(_ email: String) -> String {
        let domain = email.split(separator: "@").last.map(String.init) ?? email
        let label = domain.split(separator: ".").first.map(String.init) ?? domain
        let cleaned = String(label.lowercased().map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" })
        return cleaned.isEmpty ? "mail" : cleaned
    }
}
