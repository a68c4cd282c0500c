import LatchkeyServer
import Logging
import Synchronization
import Testing

/// The daemon's service group: reverse-order graceful shutdown, and a failing or early-ending
/// service stopping the others.
@Suite struct ServiceGroupTests {
    /// What happened, in order, across the services of one test.
    final class Journal: Sendable {
        private let lines = Mutex<[String]>([])
        func note(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    /// Waits for the graceful shutdown, notes it, takes a moment, notes its end.
    struct Waiting: Service {
        let name: String
        let journal: Journal

        func run() async throws {
            try await gracefulShutdown()
            journal.note("\(name) asked")
            try await Task.sleep(for: .milliseconds(20))
            journal.note("\(name) done")
        }
    }

    /// Runs until cancelled (or shut down, through the handler-based call).
    struct Cancellable: Service {
        let name: String
        let journal: Journal

        func run() async throws {
            let ended = await cancelWhenGracefulShutdown { () async -> Bool in
                while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(5)) }
                return true
            }
            journal.note(
                "\(name) ended \(ended), cancelled \(Task.isCancelled), shutting down \(Task.isShuttingDownGracefully)")
        }
    }

    struct Failing: Service {
        struct Failure: Error {}
        func run() async throws {
            try await Task.sleep(for: .milliseconds(20))
            throw Failure()
        }
    }

    struct Returning: Service {
        func run() async throws {}
    }

    static let logger = Logger(label: "test")

    @Test func shutsDownTheLastServiceFirstAndAwaitsEach() async throws {
        let journal = Journal()
        let group = ServiceGroup(
            services: [
                Waiting(name: "first", journal: journal), Waiting(name: "second", journal: journal),
                Cancellable(name: "third", journal: journal),
            ],
            logger: Self.logger)
        async let running: Void = group.run()
        try await Task.sleep(for: .milliseconds(50))
        group.triggerGracefulShutdown()
        group.triggerGracefulShutdown()
        try await running
        #expect(
            journal.all == [
                "third ended true, cancelled false, shutting down true", "second asked", "second done", "first asked",
                "first done",
            ])
    }

    @Test func aFailingServiceCancelsTheOthersAndItsErrorIsThrown() async {
        let journal = Journal()
        let group = ServiceGroup(
            services: [Cancellable(name: "other", journal: journal), Failing()], logger: Self.logger)
        await #expect(throws: Failing.Failure.self) { try await group.run() }
        #expect(journal.all == ["other ended true, cancelled true, shutting down false"])
    }

    @Test func aServiceEndingBeforeTheShutdownIsAnError() async {
        let journal = Journal()
        let group = ServiceGroup(
            services: [Returning(), Waiting(name: "other", journal: journal)], logger: Self.logger)
        await #expect(throws: ServiceGroup.FinishedEarly.self) { try await group.run() }
        #expect(journal.all.isEmpty)
    }

    @Test func outsideAGroupNothingIsShutDown() async throws {
        let ran = await withGracefulShutdownHandler {
            Task.isShuttingDownGracefully
        } onGracefulShutdown: {
        }
        #expect(ran == false)
        let task = Task { try await gracefulShutdown() }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
    }
}
