import LatchkeyClient
import LatchkeyCore
import LatchkeyDiagnostics
import LatchkeyGSS
import LatchkeyHTTP
import LatchkeyStore

#if canImport(Glibc)
    import Glibc
#endif

/// `latchkey diagnose ACCOUNT|EMAIL` (SPEC.md §8): read-only checks from this machine to the
/// service, stopping at the first failure, each with a remedy. Works without a daemon, and for
/// an address that is not set up yet.
struct Diagnose: DaemonCommand {
    static let name = "diagnose"
    static let grammar = CommandLineArguments.Grammar(
        options: ["config", "socket", "autodiscover", "ca-file"], flags: ["all", "json", "trace"], positional: "target")
    static let usage =
        "latchkeyd diagnose [<target>] [--all] [--json] [--trace] [--config <config>] [--socket <socket>] "
        + "[--autodiscover <autodiscover>] [--ca-file <ca-file>]"
    static let help = """
        OVERVIEW: Find out why signing in or syncing fails, and how to fix it.

        USAGE: latchkeyd diagnose [<target>] [--all] [--json] [--trace] [--config <config>] [--socket <socket>] [--autodiscover <autodiscover>] [--ca-file <ca-file>]

        ARGUMENTS:
          <target>                An account name, or an e-mail address (set up or not).

        OPTIONS:
          --all                   Every account: one summary line each, then the
                                  details of those that fail.
          --json                  Print the report as JSON (docs/diagnose-json.md).
          --trace                 Print every HTTP exchange (secrets redacted) to
                                  standard error.
          --config <config>       The configuration file (default:
                                  $XDG_CONFIG_HOME/latchkey/config.toml).
          --socket <socket>       The daemon's socket (default:
                                  $XDG_RUNTIME_DIR/latchkey/latchkey.sock).
          --autodiscover <autodiscover>
                                  For an address not set up: the Autodiscover host to
                                  ask (https://host).
          --ca-file <ca-file>     For an address not set up: an extra CA certificate
                                  (PEM) to trust.
          --version               Show the version.
          -h, --help              Show help information.

        """ + "\n"

    /// What each field is: `help` above, which `latchkeyd diagnose --help` prints.
    var target: String?
    var all: Bool
    var json: Bool
    var trace: Bool
    var config: String?
    var socket: String?
    var autodiscover: String?
    var caFile: String?

    init(_ arguments: CommandLineArguments) throws(CommandLineArguments.Mistake) {
        target = arguments.positional
        all = arguments.flags.contains("all")
        json = arguments.flags.contains("json")
        trace = arguments.flags.contains("trace")
        config = arguments.value("config")
        socket = arguments.value("socket")
        autodiscover = arguments.value("autodiscover")
        caFile = arguments.value("ca-file")
        if all == (target != nil) {
            throw CommandLineArguments.Mistake("Give an account name or e-mail address, or --all.")
        }
    }

    func run() async throws {
        Hygiene.apply()
        if trace { HTTPTrace.setSink { printError("--- trace\n" + $0) } }
        let paths = Paths(environment: { getenv($0).map { String(cString: $0) } }, uid: getuid())
        let configPath = config ?? paths.configFile
        var report = Report()

        var configuration = Configuration()
        if let bytes = ConfigurationFile.readBytes(configPath) {
            do {
                configuration = try Configuration.parse(bytes, file: configPath)
                report.findings.append(
                    Finding(
                        "configuration", .pass, "\(configPath) reads, with \(configuration.accounts.count) account(s).")
                )
            } catch {
                report.findings.append(
                    Finding(
                        "configuration", .fail, error.description,
                        remedy:
                            "Fix the line named; `latchkey serve` keeps running on its last good configuration meanwhile."
                    ))
            }
        } else if errno == ENOENT && !(target ?? "").contains("@") {
            report.findings.append(
                Finding(
                    "configuration", .fail, "There is no configuration file at \(configPath).",
                    remedy: "Run `latchkey setup EMAIL`, or copy config/latchkey.example.toml there."))
        } else if errno != ENOENT {
            report.findings.append(
                Finding(
                    "configuration", .fail, "Cannot read \(configPath): \(String(cString: strerror(errno))).",
                    remedy: "Check the file's permissions."))
        }

        guard let target else {
            var reports: [(String, Report)] = []
            if report.failed != nil || configuration.accounts.isEmpty {
                if report.failed == nil {
                    report.findings.append(
                        Finding(
                            "account", .fail, "\(configPath) sets up no account.", remedy: "Run `latchkey setup EMAIL`."
                        ))
                }
                reports.append(("", report))
            }
            for account in report.failed == nil ? configuration.accounts : [] {
                reports.append((account.name, await diagnose(account.name, account, configuration, report, paths)))
            }
            let summary = AllReports(reports)
            print(json ? summary.json.encoded : summary.text(colour: isatty(1) != 0))
            throw ExitCode(summary.exitStatus)
        }

        var account =
            configuration.accounts.first { $0.name == target }
            ?? configuration.accounts.first { target.contains("@") && $0.email?.lowercased() == target.lowercased() }
        if report.failed == nil, account == nil {
            if target.contains("@") {
                report.findings.append(
                    Finding(
                        "account", .warn,
                        "No account for \(target) is set up; checking what Autodiscover and the service say.",
                        remedy: "Run `latchkey setup \(target)` to add it."))
            } else {
                report.findings.append(
                    Finding(
                        "account", .fail, "There is no account named '\(target)' in \(configPath).",
                        remedy:
                            "Names: \(configuration.accounts.map(\.name).joined(separator: ", ")); or give an e-mail address."
                    ))
            }
        }
        if report.failed != nil { account = nil }
        let name = account?.name ?? target
        report = await diagnose(name, account, configuration, report, paths)
        if json {
            print(report.json(account: name).encoded)
        } else {
            print(report.text(colour: isatty(1) != 0))
        }
        throw ExitCode(report.exitStatus)
    }

    /// One account (or address): its checks after the configuration's.
    func diagnose(
        _ name: String, _ account: AccountConfig?, _ configuration: Configuration, _ report: Report, _ paths: Paths
    ) async -> Report {
        let daemon = await Self.daemon(socket ?? paths.socket, account: account?.name)
        let store = await Self.store(configuration.broker, paths: paths, daemon: daemon)
        let email = (target ?? "").contains("@") ? target : account?.email
        let input = DiagnosisInput(
            name: name, account: account, email: email, store: store, daemon: daemon,
            kerberosRealm: Kerberos.defaultRealm(), autodiscoverHost: autodiscover, caFile: caFile,
            errorJournal: paths.errorJournal)
        var diagnosis = Diagnosis(input, report: report)
        return await diagnosis.run()
    }

    /// The daemon, when one answers and knows the account.
    static func daemon(_ socketPath: String, account: String?) async -> DaemonClient? {
        guard let account else { return nil }
        let client = DaemonClient(socketPath: socketPath)
        guard let answer = try? client.request("GET", "/v1/accounts/\(account)"), answer.status == 200 else {
            return nil
        }
        return client
    }

    /// The store the daemon uses (it says so), else the one the config names.
    static func store(_ settings: BrokerSettings, paths: Paths, daemon: DaemonClient?) async -> (any CredentialStore)? {
        if let daemon, let answer = try? daemon.request("GET", "/v1/accounts"),
            answer.json?["store"]?.stringValue == "memory"
        {
            return MemoryStore()
        }
        switch settings.store {
        case .memory: return MemoryStore()
        case .secretService, .auto: return SecretServiceStore()
        case .file:
            let credentials = getenv("CREDENTIALS_DIRECTORY").map { String(cString: $0) }
            guard let key = try? FileStore.loadKey(credentialsDirectory: credentials, keyFile: settings.keyFile) else {
                return nil
            }
            return FileStore(path: settings.storeFile ?? paths.dataDirectory + "/store.bin", key: key)
        }
    }
}
