import CLinux
import LatchkeyBlocking
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Tells the daemon when the wall clock changes under it: a step (NTP, `date -s`, a time zone
/// server correcting a drifted clock) or a resume from suspend, which the kernel reports the same
/// way. Due times (refreshes, keep-alives, renewals, warnings) are wall-clock times while the
/// scheduler sleeps on a monotonic timer, which a suspend stops and a step does not move: without
/// this notice, a refresh that came due during a suspend would wait for the scheduler's next
/// look at the clock.
///
/// A timerfd armed with `TFD_TIMER_CANCEL_ON_SET`, read on a thread of its own (`Blocking.run`)
/// that sleeps in the kernel until the clock changes: no polling, no wake-up while nothing
/// happens. It runs as a service of the daemon, which stops it at shutdown.
public struct ClockChangeService: Service {
    let logger: Logger
    let onChange: @Sendable () -> Void
    /// Opens the kernel's side (tests open one that fails).
    let open: @Sendable () throws(ClockChanges.OpenError) -> ClockChanges

    /// `onChange` runs after every change of the clock, on the watcher's thread.
    public init(logger: Logger, onChange: @escaping @Sendable () -> Void) {
        self.init(logger: logger, open: { () throws(ClockChanges.OpenError) in try ClockChanges() }, onChange: onChange)
    }

    init(
        logger: Logger, open: @escaping @Sendable () throws(ClockChanges.OpenError) -> ClockChanges,
        onChange: @escaping @Sendable () -> Void
    ) {
        self.logger = logger
        self.open = open
        self.onChange = onChange
    }

    public func run() async throws {
        let watch: ClockChanges
        do {
            watch = try open()
        } catch {
            return await withoutWatch(error.message)
        }
        let (logger, onChange) = (self.logger, self.onChange)
        let failure: String? = await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                while !Task.isCancelled {
                    switch await watch.next() {
                    case .changed:
                        logger.info(
                            "the wall clock was set (a clock step, or a resume from suspend): checking what is due")
                        onChange()
                    case .stopped:
                        return nil
                    case .failed(let message):
                        return message
                    }
                }
                return nil
            } onGracefulShutdown: {
                watch.stop()
            }
        } onCancel: {
            watch.stop()
        }
        watch.close()
        if let failure { await withoutWatch(failure) }
    }

    /// The watch cannot start or failed: the daemon goes on without it (the scheduler still
    /// looks at the wall clock at least once a minute), and the service waits for the shutdown,
    /// as a service that returned early would stop the daemon.
    private func withoutWatch(_ why: String) async {
        logger.warning(
            "cannot watch the wall clock for changes; a refresh that came due during a suspend may start up to a minute late",
            metadata: ["error": "\(why)"])
        await cancelWhenGracefulShutdown { try? await Task.sleep(for: .seconds(Double(Int32.max))) }
    }
}

/// The kernel side of `ClockChangeService`: the timerfd and an eventfd that stops the wait.
public final class ClockChanges: Sendable {
    public enum Event: Equatable, Sendable {
        case changed
        case stopped
        case failed(String)
    }

    /// Why the descriptors could not be made.
    public struct OpenError: Error {
        public let message: String
    }

    private let timer: Int32
    private let stopper: Int32

    public convenience init() throws(OpenError) {
        let timer = lk_clock_change_open()
        guard timer >= 0 else { throw OpenError(message: "timerfd: \(String(cString: strerror(errno)))") }
        let stopper = lk_wake_fd_open()
        guard stopper >= 0 else {
            let message = String(cString: strerror(errno))
            Glibc.close(timer)
            throw OpenError(message: "eventfd: \(message)")
        }
        self.init(timer: timer, stopper: stopper)
    }

    /// Takes both descriptors over (tests hand in a timer descriptor that is not open).
    init(timer: Int32, stopper: Int32) {
        self.timer = timer
        self.stopper = stopper
    }

    /// Waits, off Swift's thread pool, for the next change of the clock or for `stop()`.
    public func next() async -> Event {
        let (timer, stopper) = (self.timer, self.stopper)
        return await Blocking.run { () -> Event in
            switch lk_clock_change_wait(timer, stopper) {
            case 1: .changed
            case 0: .stopped
            default: .failed(String(cString: strerror(errno)))
            }
        }
    }

    /// Ends the wait under way (or the next one) with `.stopped`.
    public func stop() {
        var one: UInt64 = 1
        _ = write(stopper, &one, MemoryLayout<UInt64>.size)
    }

    /// Closes the descriptors; only once `next()` is no longer called.
    public func close() {
        Glibc.close(timer)
        Glibc.close(stopper)
    }
}
