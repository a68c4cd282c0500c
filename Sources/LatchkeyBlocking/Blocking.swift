import Dispatch

/// The one way Latchkey runs a blocking call (libcurl transfers, GSSAPI and libkrb5,
/// libsecret and GIO, D-Bus, file locks and `fsync`, a wait on a file) off Swift's cooperative
/// thread pool. Every module with a C library uses it for its own calls, so a slow KDC, keyring
/// or provider ties up one of these threads and never a thread that runs the broker or the
/// server.
///
/// Its own module (Dispatch and nothing else) so the modules with C doors can share it while
/// LatchkeyCore, which the static thin client links, stays free of Dispatch.
///
/// The caller owns the call: `run` returns when `body` has returned. A cancelled task does not
/// stop `body` (a C call cannot be interrupted from outside); a caller that can stop its call
/// does so itself, e.g. a flag the transfer's progress callback reads, inside
/// `withTaskCancellationHandler`.
public enum Blocking {
    /// Runs `body` on a thread of its own and returns (or throws) what it did.
    ///
    /// Each call gets a serial queue of its own, which libdispatch runs on its overcommit pool
    /// (a thread per blocking call). Not one concurrent or global queue: its workers would start
    /// libdispatch's once-a-second worker monitor for the rest of the process's life, waking an
    /// idle daemon (issue 18).
    public static func run<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
        try await hop(DispatchQueue(label: "latchkey.blocking"), body)
    }

    static func hop<T: Sendable, E: Error>(
        _ queue: DispatchQueue, _ body: @escaping @Sendable () throws(E) -> T
    ) async throws(E) -> T {
        let result: Result<T, E> = await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: Result { () throws(E) in try body() }) }
        }
        return try result.get()
    }
}

/// Blocking calls that must not overlap, run off the cooperative pool one at a time in the
/// order they were asked for: a library that is not thread-safe (libsecret's one session),
/// a file written whole by each call (the encrypted file store).
public final class BlockingLane: Sendable {
    private let queue: DispatchQueue

    /// `label` names the lane's thread in a debugger.
    public init(label: String) {
        queue = DispatchQueue(label: label)
    }

    /// Runs `body` after every call asked for before it, off the pool.
    public func run<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
        try await Blocking.hop(queue, body)
    }
}
