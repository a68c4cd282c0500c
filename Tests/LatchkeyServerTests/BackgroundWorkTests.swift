import LatchkeyBroker
import Synchronization
import Testing

/// The owner of the broker's and the server's background work: at shutdown a job in flight
/// is drained (not dropped), later jobs are refused, and one job can be cancelled alone.
@Suite struct BackgroundWorkTests {
    /// A gate a job waits at until the test opens it.
    final class Gate: Sendable {
        let opened: AsyncStream<Void>
        let opener: AsyncStream<Void>.Continuation
        init() { (opened, opener) = AsyncStream.makeStream() }
        func wait() async { for await _ in opened {} }
        func open() { opener.finish() }
    }

    @Test func closingDrainsTheRunningJobsAndRefusesNewOnes() async {
        let work = BackgroundWork()
        let gate = Gate()
        let started = Gate()
        let finished = Mutex(false)
        #expect(
            work.start {
                started.open()
                await gate.wait()
                finished.withLock { $0 = true }
            })
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await work.run() }
            await started.wait()
            work.close()
            #expect(!work.start {})  // the daemon is stopping: nothing new
            #expect(!finished.withLock { $0 })
            gate.open()
            await group.waitForAll()  // run() returned…
        }
        #expect(finished.withLock { $0 })  // …only after the job it had taken ended
    }

    @Test func aCancellableJobStopsAloneWhileTheOthersRun() async {
        let work = BackgroundWork()
        let gate = Gate()
        let cancelled = Mutex<Bool?>(nil)
        let other = Mutex(false)
        let handle = work.startCancellable {
            await gate.wait()  // ends at once when cancelled (AsyncStream honours cancellation)
            cancelled.withLock { $0 = Task.isCancelled }
        }
        work.start {
            await gate.wait()
            other.withLock { $0 = !Task.isCancelled }
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await work.run() }
            handle?.cancel()
            while cancelled.withLock({ $0 }) == nil { await Task.yield() }
            work.close()
            gate.open()
            await group.waitForAll()
        }
        #expect(cancelled.withLock { $0 } == true)
        #expect(other.withLock { $0 })
    }

    /// A service failed and the daemon's services are cancelled: jobs handed over but not yet
    /// started still run (cancelled, so they end soon and answer whoever waits on them), and
    /// `run()` returns; none is dropped with its waiters left waiting.
    @Test func cancellingRunsTheJobsNotYetStartedCancelled() async {
        let work = BackgroundWork()
        let ran = Mutex<[Bool]>([])
        for _ in 0..<3 { work.start { ran.withLock { $0.append(Task.isCancelled) } } }
        let running = Task { await work.run() }
        running.cancel()
        await running.value
        #expect(ran.withLock { $0 } == [true, true, true])
        #expect(!work.start {})  // and it takes no more
    }
}
