import Synchronization

/// A graceful shutdown asked of one service of a `ServiceGroup`: the service's task (and every
/// child task) finds it in `GracefulShutdown.current`, and what waits for it is told once.
///
/// The daemon had this from swift-service-lifecycle, whose merge and channel sequences link
/// swift-async-algorithms, 1.3 MB of code the daemon never ran (docs/performance.md "Idle
/// memory"); these few functions are all the daemon and its tests use.
final class GracefulShutdown: Sendable {
    @TaskLocal static var current: GracefulShutdown?

    private struct State {
        var triggered = false
        var handlers: [Int: @Sendable () -> Void] = [:]
        var nextHandler = 0
    }
    private let state = Mutex(State())

    var isTriggered: Bool { state.withLock { $0.triggered } }

    /// Runs every registered handler once; later calls do nothing.
    func trigger() {
        let handlers = state.withLock { state -> [@Sendable () -> Void] in
            guard !state.triggered else { return [] }
            state.triggered = true
            defer { state.handlers = [:] }
            return state.handlers.sorted { $0.key < $1.key }.map(\.value)
        }
        for handler in handlers { handler() }
    }

    /// Keeps `handler` for the trigger; nil (nothing kept) when it has happened already.
    func register(_ handler: @escaping @Sendable () -> Void) -> Int? {
        state.withLock { state in
            guard !state.triggered else { return nil }
            state.nextHandler += 1
            state.handlers[state.nextHandler] = handler
            return state.nextHandler
        }
    }

    func remove(_ id: Int) {
        _ = state.withLock { $0.handlers.removeValue(forKey: id) }
    }
}

/// Runs `operation`; when the service is asked to shut down gracefully meanwhile (or was
/// already), `handler` runs once, on the thread that asked. Outside a service group it never does.
public func withGracefulShutdownHandler<T>(
    isolation: isolated (any Actor)? = #isolation,
    operation: () async throws -> T, onGracefulShutdown handler: @escaping @Sendable () -> Void
) async rethrows -> T {
    guard let shutdown = GracefulShutdown.current else { return try await operation() }
    guard let id = shutdown.register(handler) else {
        handler()
        return try await operation()
    }
    defer { shutdown.remove(id) }
    return try await operation()
}

/// Returns when the service is asked to shut down gracefully; throws `CancellationError` when
/// the task is cancelled first (outside a service group, only that ends it).
public func gracefulShutdown() async throws {
    let wait = OneWait()
    try await withTaskCancellationHandler {
        try await withGracefulShutdownHandler {
            try await wait.value()
        } onGracefulShutdown: {
            wait.end(nil)
        }
    } onCancel: {
        wait.end(CancellationError())
    }
}

/// Runs `operation` and cancels it when the service is asked to shut down gracefully (or this
/// task is cancelled); returns what it returns.
public func cancelWhenGracefulShutdown<T: Sendable>(_ operation: @escaping @Sendable () async -> T) async -> T {
    let task = Task { await operation() }
    return await withTaskCancellationHandler {
        await withGracefulShutdownHandler {
            await task.value
        } onGracefulShutdown: {
            task.cancel()
        }
    } onCancel: {
        task.cancel()
    }
}

extension Task where Success == Never, Failure == Never {
    /// Whether the service this task belongs to is being shut down gracefully.
    public static var isShuttingDownGracefully: Bool { GracefulShutdown.current?.isTriggered ?? false }
}

/// One waiter and one ending, in either order: `value()` returns (or throws) once `end` is called.
private final class OneWait: Sendable {
    private enum State {
        case idle
        case waiting(CheckedContinuation<Void, any Error>)
        case ended((any Error)?)
    }
    private let state = Mutex(State.idle)

    func value() async throws {
        try await withCheckedThrowingContinuation { continuation in
            let ended: (any Error)?? = state.withLock { state in
                if case .ended(let error) = state { return .some(error) }
                state = .waiting(continuation)
                return .none
            }
            if case .some(let error) = ended { Self.resume(continuation, error) }
        }
    }

    func end(_ error: (any Error)?) {
        let waiting = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            switch state {
            case .ended: return nil
            case .idle:
                state = .ended(error)
                return nil
            case .waiting(let continuation):
                state = .ended(error)
                return continuation
            }
        }
        if let waiting { Self.resume(waiting, error) }
    }

    private static func resume(_ continuation: CheckedContinuation<Void, any Error>, _ error: (any Error)?) {
        if let error { continuation.resume(throwing: error) } else { continuation.resume() }
    }
}
