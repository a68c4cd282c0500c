import Logging
import UnixSignals

/// A long-running part of the daemon: it runs until it is asked to shut down gracefully
/// (`gracefulShutdown()`, `withGracefulShutdownHandler`, `cancelWhenGracefulShutdown`) or
/// its task is cancelled.
public protocol Service: Sendable {
    func run() async throws
}

/// Runs the daemon's services side by side and shuts them down in reverse order: on one of the
/// `gracefulShutdownSignals` (or `triggerGracefulShutdown()`), the last service is asked to shut
/// down and awaited, then the one before it, and so on; `run` returns when all have returned.
/// A service that throws, or returns before it was asked to, cancels all the others, and `run`
/// throws its error (or `ServiceGroup.FinishedEarly`).
public final class ServiceGroup: Sendable {
    /// A service returned before the group was asked to shut down.
    public struct FinishedEarly: Error, CustomStringConvertible {
        public let service: String
        public var description: String { "the service \(service) finished unexpectedly" }
    }

    private enum Event {
        case shutdownAsked
        case finished(Int, (any Error)?)
    }

    private let services: [any Service]
    private let signals: [UnixSignal]
    private let logger: Logger
    private let events: AsyncStream<Event>
    private let eventSink: AsyncStream<Event>.Continuation

    public init(services: [any Service], gracefulShutdownSignals: [UnixSignal] = [], logger: Logger) {
        self.services = services
        self.signals = gracefulShutdownSignals
        self.logger = logger
        (events, eventSink) = AsyncStream.makeStream(of: Event.self)
    }

    /// Asks the services to shut down gracefully, last one first. Once is enough.
    public func triggerGracefulShutdown() {
        eventSink.yield(.shutdownAsked)
    }

    /// Runs every service until all have returned (after a graceful shutdown) or one failed.
    /// Called once.
    public func run() async throws {
        let shutdowns = services.map { _ in GracefulShutdown() }
        let failure: (any Error)? = await withTaskGroup(of: Void.self) { group in
            for (index, service) in services.enumerated() {
                group.addTask { [eventSink] in
                    do {
                        try await GracefulShutdown.$current.withValue(shutdowns[index]) { try await service.run() }
                        eventSink.yield(.finished(index, nil))
                    } catch {
                        eventSink.yield(.finished(index, error))
                    }
                }
            }
            if !signals.isEmpty {
                group.addTask { [signals, eventSink, logger] in
                    for await signal in await UnixSignalsSequence(trapping: signals) {
                        logger.debug("signal received: shutting down gracefully", metadata: ["signal": "\(signal)"])
                        eventSink.yield(.shutdownAsked)
                    }
                }
            }
            let failure = await supervise(shutdowns)
            group.cancelAll()
            return failure
        }
        if let failure { throw failure }
    }

    /// Follows the events until every service has returned or one failed; the failure.
    private func supervise(_ shutdowns: [GracefulShutdown]) async -> (any Error)? {
        var running = Set(services.indices)
        var shuttingDown = false
        for await event in events {
            switch event {
            case .shutdownAsked:
                shuttingDown = true
            case .finished(let index, let error):
                running.remove(index)
                if let error {
                    logger.error(
                        "service failed: stopping the others",
                        metadata: ["service": "\(type(of: services[index]))", "error": "\(error)"])
                    return error
                }
                if !shuttingDown {
                    return FinishedEarly(service: "\(type(of: services[index]))")
                }
            }
            guard let last = running.max() else { return nil }
            if shuttingDown { shutdowns[last].trigger() }
        }
        return nil
    }
}
