import LatchkeyBroker
import LatchkeyClient
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyNotify
import LatchkeyOAuth
import LatchkeyServer
import LatchkeyStore
import Logging
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

struct Serve: DaemonCommand {
    static let name = "serve"
    static let grammar = CommandLineArguments.Grammar(options: ["config", "socket", "log-level"])
    static let usage = "latchkeyd serve [--config <config>] [--socket <socket>] [--log-level <log-level>]"
    static let help = """
        OVERVIEW: Run the daemon in the foreground.

        USAGE: latchkeyd serve [--config <config>] [--socket <socket>] [--log-level <log-level>]

        OPTIONS:
          --config <config>       The configuration file (default:
                                  $XDG_CONFIG_HOME/latchkey/config.toml).
          --socket <socket>       The socket path (default:
                                  $XDG_RUNTIME_DIR/latchkey/latchkey.sock).
          --log-level <log-level> trace, debug, info, notice, warning, error or
                                  critical (default: $LATCHKEY_LOG_LEVEL or info).
          --version               Show the version.
          -h, --help              Show help information.

        """ + "\n"

    /// The configuration file (default: $XDG_CONFIG_HOME/latchkey/config.toml).
    var config: String?
    /// The socket path (default: $XDG_RUNTIME_DIR/latchkey/latchkey.sock).
    var socket: String?
    /// trace, debug, info, notice, warning, error or critical (default: $LATCHKEY_LOG_LEVEL or info).
    var logLevel: String?

    init(_ arguments: CommandLineArguments) {
        config = arguments.value("config")
        socket = arguments.value("socket")
        logLevel = arguments.value("log-level")
    }

    func run() async throws {
        Hygiene.disableBacktracer()
        Hygiene.apply()
        let paths = Paths(environment: { getenv($0).map { String(cString: $0) } }, uid: getuid())
        let level =
            (logLevel ?? getenv("LATCHKEY_LOG_LEVEL").map { String(cString: $0) }).flatMap(Logger.Level.init(rawValue:))
            ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "latchkey")

        let configPath = config ?? paths.configFile
        let configuration: Configuration
        do {
            configuration = try ConfigurationFile.load(configPath, required: config != nil)
        } catch {
            printError(error.description)
            throw ExitCode(error.code.exitStatus)
        }
        if configuration.accounts.isEmpty {
            logger.warning("no accounts configured", metadata: ["config": "\(configPath)"])
        }
        let store: any CredentialStore
        let storeWarning: String?
        do {
            (store, storeWarning) = try await StoreSelection.make(configuration.broker, paths: paths, logger: logger)
        } catch {
            printError(error.description)
            throw ExitCode(error.code.exitStatus)
        }

        let socketPath = socket ?? paths.socket
        let inherited = Systemd.takeListeningSocket()
        // A request waiting on a refresh waits for at most a discovery and a token call.
        let drain = Int64(2 * configuration.broker.providerTimeout + 5)
        // One daemon on the socket: a daemon that is still stopping (draining, then storing a
        // rotated refresh token) is waited for, within its drain and one more provider call.
        // A daemon that systemd started on its socket takes the lock too, beside the socket it
        // was handed, so one started by a client while it still stops waits for it (systemd
        // itself runs one at a time). Where that socket has no path, or its folder takes no lock
        // file, it serves without: systemd still keeps it the only one on its socket.
        let wait = Duration.seconds(drain) + .seconds(configuration.broker.providerTimeout + 10)
        var lock: DaemonLock?
        if let inherited {
            if let path = Systemd.boundPath(inherited) {
                do {
                    lock = try await DaemonLock.take(socket: path, wait: wait, probe: false, logger: logger)
                } catch {
                    logger.warning(
                        "serving systemd's socket without the daemon lock",
                        metadata: ["socket": "\(path)", "error": "\(error.message)"])
                }
            }
        } else {
            do {
                lock = try await SocketServer.prepare(path: socketPath, wait: wait, logger: logger)
            } catch {
                printError(error.description)
                throw ExitCode(error.code.exitStatus)
            }
        }

        let notifier: any Notifier
        switch configuration.broker.notify {
        case .desktop: notifier = DesktopNotifier()
        case .command: notifier = CommandNotifier(argv: configuration.broker.notifyCommand)
        case .none: notifier = SilentNotifier()
        }
        let hot = HotAnswers()
        let broker = Broker(
            configuration: configuration, oauth: OAuthClient(http: HTTPClient()), store: store,
            storeWarning: storeWarning,
            notifier: notifier, publisher: hot, logger: logger)
        await broker.restore()
        await broker.rememberErrors(in: ErrorJournal(path: paths.errorJournal))
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let limits = SocketServer.Limits(maximumConnections: Hygiene.connectionCap(), drainTimeout: .seconds(drain))
        let server = SocketServer(
            path: socketPath, router: Router(broker: broker, logger: logger), logger: logger, group: group,
            inheritedSocket: inherited, limits: limits, hot: hot,
            onReady: { Systemd.notify("READY=1\nSTATUS=Serving credentials") })
        // Shut down in reverse order: no more reloads or proactive refreshes, then the server
        // drains its requests, then the broker cancels sign-ins and lets a refresh in flight
        // finish and store its rotated refresh token. A clean stop exits 0.
        let services = ServiceGroup(
            services: [
                BrokerService(broker: broker), server, RefreshScheduler(broker: broker),
                ClockChangeService(logger: logger) { broker.clockChanged() },
                ConfigurationReloader(broker: broker, path: configPath, logger: logger),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        logger.info(
            "latchkeyd started",
            metadata: [
                "version": "\(LatchkeyVersion.current)", "accounts": "\(configuration.accounts.count)",
                "store": "\(store.name)",
                "config": "\(configPath)",
            ])
        try await services.run()
        Systemd.notify("STOPPING=1")
        try await group.shutdownGracefully()
        lock?.release()  // everything is stored: the next daemon may start
        logger.info("latchkeyd stopped")
    }
}
