import LatchkeyBroker
import LatchkeyCore
import LatchkeyServer
import Logging
import UnixSignals

/// Proactive refresh as a service of the daemon.
struct RefreshScheduler: Service {
    let broker: Broker

    func run() async throws {
        await cancelWhenGracefulShutdown { await broker.runScheduler() }
    }
}

/// SIGHUP reloads the configuration; a wrong file is reported with its file, line and key,
/// and the daemon keeps running on its last good configuration.
struct ConfigurationReloader: Service {
    let broker: Broker
    let path: String
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                Systemd.notify("RELOADING=1")
                do {
                    let configuration = try ConfigurationFile.load(path, required: true)
                    await broker.reload(configuration)
                    logger.info(
                        "configuration reloaded",
                        metadata: ["config": "\(path)", "accounts": "\(configuration.accounts.count)"])
                } catch {
                    logger.error(
                        "configuration not reloaded; keeping the last good one",
                        metadata: ["error": "\((error as? LatchkeyError)?.message ?? "\(error)")"])
                }
                Systemd.notify("READY=1")
            }
        }
    }
}
