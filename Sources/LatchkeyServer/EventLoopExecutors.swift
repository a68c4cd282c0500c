import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
@_spi(ExperimentalCustomExecutors) @_spi(ExperimentalScheduling) import _Concurrency

/// Swift concurrency's executors on SwiftNIO's event loops, so an idle daemon's threads all
/// block in the kernel (issue 18).
///
/// On Linux the default executors run on libdispatch, whose worker pool for concurrent work
/// keeps a monitoring timer that fires every second for as long as the process lives (60
/// context switches a minute with nothing due). Here every job of the global executor runs on
/// `MultiThreadedEventLoopGroup.singleton`, and every delayed job (`Task.sleep`, the
/// scheduler's timer) is an event-loop timer, which costs nothing until it fires.
///
/// Swift 6.3 takes the executors from an `ExecutorFactory` (still `@_spi`); the hook SwiftNIO
/// offers (`unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor`) covers
/// only jobs that are due now: with it, 6.3's `Task.sleep` still went to libdispatch.
///
/// Timers run on `CLOCK_MONOTONIC`, which stops during a suspend, for either clock; the
/// scheduler judges due times by the wall clock at least once every `Broker.longestSleep`.
public enum EventLoopExecutors {
    /// Installs these executors, then runs `body` as a task and blocks the calling thread until
    /// it ends. Call it first thing in `main`, before anything starts a task.
    public static func run(_ body: @escaping @Sendable () async -> Void) {
        _createExecutors(factory: EventLoopExecutorFactory.self)
        let finished = ConditionLock(value: false)
        // Owned by this function: it returns only after the task has ended.
        Task.detached {
            await body()
            finished.lock()
            finished.unlock(withValue: true)
        }
        finished.lock(whenValue: true)
        finished.unlock()
    }
}

/// What Swift 6.3 asks for the executors (`_createExecutors`).
enum EventLoopExecutorFactory: ExecutorFactory {
    static let group = MultiThreadedEventLoopGroup.singleton

    /// The main actor's executor: one event loop, which is serial. The daemon runs nothing on
    /// the main actor; the main thread waits in `EventLoopExecutors.run(_:)`.
    static let mainExecutor: any MainExecutor = EventLoopMainExecutor(loop: group.next())

    /// The global executor: any loop of the group (the current one when called on one).
    static let defaultExecutor: any TaskExecutor = EventLoopTaskExecutor(group: group)
}

/// The global executor's jobs, each on an event loop of `group`.
final class EventLoopTaskExecutor: TaskExecutor, SchedulingExecutor {
    private let group: MultiThreadedEventLoopGroup

    init(group: MultiThreadedEventLoopGroup) {
        self.group = group
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        group.any().execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    /// `enqueue(_:at:tolerance:clock:)` comes here through the standard library's default.
    func enqueue<C: Clock>(_ job: consuming ExecutorJob, after delay: C.Duration, tolerance: C.Duration?, clock: C) {
        let job = UnownedJob(job)
        // The standard library's clocks measure in `Duration`; any other clock is a
        // programming error of this process, not outside input.
        guard let delay = delay as? Duration else {
            preconditionFailure("EventLoopTaskExecutor: a clock whose duration is not Duration: \(C.self)")
        }
        group.any().scheduleTask(in: .nanoseconds(Self.nanoseconds(delay))) {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }

    /// `delay` in whole nanoseconds: negative as 0, beyond about 292 years as that.
    static func nanoseconds(_ delay: Duration) -> Int64 {
        let (seconds, attoseconds) = delay.components
        guard seconds >= 0 else { return 0 }
        guard seconds < Int64.max / 1_000_000_000 - 1 else { return Int64.max }
        return seconds * 1_000_000_000 + max(0, attoseconds / 1_000_000_000)
    }
}

/// The main actor's jobs, on one event loop (serial, as the main actor must be).
final class EventLoopMainExecutor: MainExecutor {
    private let loop: any EventLoop
    private let stopped = ConditionLock(value: false)

    init(loop: any EventLoop) {
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedSerialExecutor()) }
    }

    /// Jobs run on the event loop, not on the caller's thread: this only waits for `stop()`.
    func run() throws {
        stopped.lock(whenValue: true)
        stopped.unlock()
    }

    func stop() {
        stopped.lock()
        stopped.unlock(withValue: true)
    }
}
