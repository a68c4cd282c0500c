import NIOCore
import NIOPosix
import Testing

@testable import LatchkeyServer

/// Swift concurrency's global executor on SwiftNIO's event loops (issue 18). The test process
/// keeps the default executors; these run tasks that prefer the event-loop executor.
@Suite struct EventLoopExecutorsTests {
    @Test func jobsAndSleepsRunOnTheEventLoops() async throws {
        let executor = EventLoopTaskExecutor(group: MultiThreadedEventLoopGroup.singleton)
        let onLoop = await Task(executorPreference: executor) { () -> [Bool] in
            var seen = [MultiThreadedEventLoopGroup.currentEventLoop != nil]
            let clock = ContinuousClock()
            let start = clock.now
            try? await Task.sleep(for: .milliseconds(50))
            // A sleep does not end early, and its job comes back on a loop.
            seen.append(clock.now - start >= .milliseconds(50))
            seen.append(MultiThreadedEventLoopGroup.currentEventLoop != nil)
            return seen
        }.value
        #expect(onLoop == [true, true, true])
    }

    @Test func aCancelledSleepEndsAtOnce() async {
        let executor = EventLoopTaskExecutor(group: MultiThreadedEventLoopGroup.singleton)
        let sleeper = Task(executorPreference: executor) { () -> Bool in
            do {
                try await Task.sleep(for: .seconds(3600))
                return false
            } catch {
                return error is CancellationError
            }
        }
        sleeper.cancel()
        #expect(await sleeper.value)
    }

    @Test func delaysBecomeWholeNanosecondsWithoutOverflow() {
        #expect(EventLoopTaskExecutor.nanoseconds(.milliseconds(1500)) == 1_500_000_000)
        #expect(EventLoopTaskExecutor.nanoseconds(.nanoseconds(-5)) == 0)
        #expect(EventLoopTaskExecutor.nanoseconds(.seconds(-3)) == 0)
        #expect(EventLoopTaskExecutor.nanoseconds(.seconds(Int64.max)) == Int64.max)
        #expect(EventLoopTaskExecutor.nanoseconds(.seconds(9_223_372_030)) == 9_223_372_030_000_000_000)
        #expect(EventLoopTaskExecutor.nanoseconds(.seconds(9_223_372_036)) == Int64.max)
        #expect(EventLoopTaskExecutor.nanoseconds(.seconds(1) + .nanoseconds(7)) == 1_000_000_007)
    }
}
