import CLinux
import Synchronization
import Testing

@testable import LatchkeyServer

#if canImport(Glibc)
    import Glibc
#endif

/// The kernel's notice of a wall-clock change (issue 18): a step or a resume wakes the watcher at
/// once, and `stop()` ends its wait. A change is made by setting the real clock to what it reads
/// (CAP_SYS_TIME; `make test` runs as root), which moves it by microseconds at most.
@Suite struct ClockChangesTests {
    /// Sets CLOCK_REALTIME to its own reading; false without the right to set the clock.
    static func touchTheClock() -> Bool {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return clock_settime(CLOCK_REALTIME, &now) == 0
    }

    static var mustRun: Bool { getenv("LATCHKEY_INTEGRATION").map { String(cString: $0) } == "1" }

    @Test func aClockChangeWakesTheWatcherAndStopEndsIt() async throws {
        let watch = try ClockChanges()
        defer { watch.close() }
        let waiting = Task { await watch.next() }
        // The watcher may not wait yet when the clock is set: a change made before the wait
        // still shows, as the timerfd keeps it until read.
        guard Self.touchTheClock() else {
            watch.stop()
            _ = await waiting.value
            if Self.mustRun { Issue.record("cannot set the clock (CAP_SYS_TIME) although LATCHKEY_INTEGRATION=1") }
            return
        }
        #expect(await waiting.value == .changed)
        // Armed again: a second change is seen too.
        #expect(Self.touchTheClock())
        #expect(await watch.next() == .changed)
        watch.stop()
        #expect(await watch.next() == .stopped)
    }

    @Test func theServiceCallsBackOnAChangeAndEndsAtShutdown() async throws {
        let changes = Atomic<Int>(0)
        let service = ClockChangeService(logger: .init(label: "test")) { changes.add(1, ordering: .relaxed) }
        let group = ServiceGroup(services: [service], logger: .init(label: "test"))
        let running = Task { try await group.run() }
        // Until the watcher has armed its timer a change may go unseen: touch the clock until
        // one is reported (or 10 s have passed).
        for _ in 0..<100 where changes.load(ordering: .relaxed) == 0 {
            guard Self.touchTheClock() else { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        if changes.load(ordering: .relaxed) == 0 && Self.mustRun {
            Issue.record("no clock change reported (or the clock cannot be set)")
        }
        group.triggerGracefulShutdown()
        try await running.value
    }

    @Test(arguments: [false, true])
    func aWatchThatCannotStartOrFailsDoesNotStopTheDaemon(failsLater: Bool) async throws {
        let service = ClockChangeService(
            logger: .init(label: "test"),
            open: { () throws(ClockChanges.OpenError) in
                guard failsLater else { throw .init(message: "EMFILE") }
                // A timer descriptor that is not open: the wait fails (EBADF) at once.
                return ClockChanges(timer: 1_000_000, stopper: lk_wake_fd_open())
            },
            onChange: {})
        let group = ServiceGroup(services: [service], logger: .init(label: "test"))
        let running = Task { try await group.run() }
        try await Task.sleep(for: .milliseconds(300))
        // Still running: a service that returns early would have ended the group with an error.
        group.triggerGracefulShutdown()
        try await running.value
    }
}
