/// The one place the broker (and, with its own instance, the socket server) starts work that outlives the call that asked for it: refreshes,
/// sign-ins, retried store writes, questions relayed from a blocked library call. Every job
/// is a child of the one task group in `run()`, which the daemon runs as a service, so no
/// work of the broker is unowned: `close()` stops taking jobs, and `run()` returns only once
/// every job it took has ended (a refresh in flight finishes and stores what it brought).
public final class BackgroundWork: Sendable {
    public typealias Job = @Sendable () async -> Void

    private let jobs: AsyncStream<Job>
    private let intake: AsyncStream<Job>.Continuation

    public init() {
        (jobs, intake) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    /// Hands `job` to `run()`. False once closed (the daemon is stopping): the job will not run.
    @discardableResult
    public func start(_ job: @escaping Job) -> Bool {
        if case .enqueued = intake.yield(job) { return true }
        return false
    }

    /// A job that its `JobCancel` can stop on its own (a sign-in nobody watches any more);
    /// nil once closed.
    public func startCancellable(_ job: @escaping Job) -> JobCancel? {
        let cancel = JobCancel()
        guard start({ await cancel.run(job) }) else { return nil }
        return cancel
    }

    /// Takes no more jobs; `run()` returns when the ones it took have ended.
    public func close() { intake.finish() }

    /// Runs every job as a child of one task group; returns after `close()` once all have
    /// ended. Cancelling it takes no more jobs and cancels the running ones; those handed over
    /// but not yet started still run, cancelled (AsyncStream delivers its buffer before it
    /// ends), so whoever waits on them is answered (BackgroundWorkTests).
    public func run() async {
        await withDiscardingTaskGroup { group in
            for await job in jobs {
                group.addTask { await job() }
            }
        }
    }
}

/// Stops one job of `BackgroundWork` without touching the others: the job runs beside a
/// waiter for `cancel()`, and whichever ends first cancels the other.
public final class JobCancel: Sendable {
    private let signal: AsyncStream<Void>
    private let trigger: AsyncStream<Void>.Continuation

    init() {
        (signal, trigger) = AsyncStream.makeStream()
    }

    /// Cancels the job (at once if it has not started yet).
    public func cancel() { trigger.finish() }

    fileprivate func run(_ job: @escaping BackgroundWork.Job) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await job() }
            group.addTask { [signal] in
                for await _ in signal {}
            }
            await group.next()
            group.cancelAll()
        }
    }
}
