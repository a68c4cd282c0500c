import Testing

@testable import LatchkeyBroker

/// The one single-flight mechanism that OAuth refreshes and Kerberos renewals share.
@Suite struct SingleFlightTypeTests {
    /// Holds a `SingleFlight` the way the broker does: in an actor, touched only there.
    actor Owner {
        var flights = SingleFlight<String, Int>()

        func begin(_ key: String) -> Bool { flights.begin(key) }
        func wait(_ key: String) async -> Int { await withCheckedContinuation { flights.join(key, $0) } }
        func waiting(_ key: String) -> Int { flights.waiting(key) }
        func finish(_ key: String, _ value: Int) { flights.finish(key, value) }
        func finishAll(_ prefix: String, _ value: Int) { flights.finishAll(where: { $0.hasPrefix(prefix) }, value) }
    }

    @Test func theFirstCallerStartsTheWorkAndEveryCallerGetsItsOneResult() async {
        let owner = Owner()
        #expect(await owner.begin("a"))
        #expect(await !owner.begin("a"))  // already running: only wait
        let results = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<5 { group.addTask { await owner.wait("a") } }
            while await owner.waiting("a") < 5 { await Task.yield() }
            await owner.finish("a", 42)
            return await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(results == [42, 42, 42, 42, 42])
        #expect(await owner.begin("a"))  // finished: the next caller starts new work
    }

    @Test func finishAllAnswersEveryMatchingKeyAndLeavesTheOthers() async {
        let owner = Owner()
        let answers = await withTaskGroup(of: (String, Int).self) { group in
            for key in ["work", "work scoped", "other"] { group.addTask { (key, await owner.wait(key)) } }
            while await owner.waiting("work") + owner.waiting("work scoped") + owner.waiting("other") < 3 {
                await Task.yield()
            }
            await owner.finishAll("work", -1)
            #expect(await owner.waiting("other") == 1)
            await owner.finish("other", 7)
            return await group.reduce(into: [String: Int]()) { $0[$1.0] = $1.1 }
        }
        #expect(answers == ["work": -1, "work scoped": -1, "other": 7])
    }
}
