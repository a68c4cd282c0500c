import LatchkeyActiveSync
import LatchkeyCore
import LatchkeyStore
import Testing

@testable import LatchkeyBroker

/// A logout that lands while an ActiveSync device is provisioned stays a logout: the
/// provisioning, when its server answers at last, keeps nothing (no policy key, no DeviceId,
/// no error, no wipe of a newer sign-in), and the request that waited on it is told the
/// account was signed out (or, when it was signed in again meanwhile, to try again).
@Suite struct ActiveSyncLogoutRaceTests {
    /// A signed-in ActiveSync account whose server will answer `script` first, and holds
    /// every answer until the test lets it go.
    static func heldServer(_ script: [Result<ProvisionOutcome, ActiveSyncError>] = []) async throws -> BrokerHarness {
        let harness = BrokerHarness(configuration: BrokerHarness.activeSyncConfiguration())
        try await harness.signedIn(accessTokenLeft: 3600)
        harness.activeSync.script(script)
        await harness.activeSync.answers.close()
        return harness
    }

    /// A header request whose provisioning is held at the server while the account signs out
    /// (and, with `signInAgain`, in again); then the server answers. The request must be told
    /// it was signed out, and nothing of the provisioning must be kept in memory.
    static func provisionAcrossLogout(_ harness: BrokerHarness, _ broker: Broker, signInAgain: Bool) async throws {
        async let held = broker.activeSyncHeader(account: "work", minValid: nil, client: nil)
        await harness.activeSync.answers.arrived(1)  // the server holds its answer
        try await broker.logout(account: "work")
        if signInAgain {
            for await _ in try await broker.login(account: "work") {}
        }
        await harness.activeSync.answers.open()
        do {
            expectSignedOut(.success(try await held), signedInAgain: signInAgain)
        } catch {
            expectSignedOut(.failure(error), signedInAgain: signInAgain)
        }
        #expect(await broker.activeSync["work"].map { _ in "kept" } == nil)
    }

    /// `header` is a request's answer: it must be the error that says the account was signed out
    /// (sign in), or, when it was signed in again meanwhile, signed in again (try again).
    static func expectSignedOut(_ header: Result<ActiveSyncHeader, any Error>, signedInAgain: Bool = false) {
        switch header {
        case .success: Issue.record("the request that waited on the provisioning got a header")
        case .failure(let error):
            let code = (error as? LatchkeyError)?.code
            if signedInAgain {
                #expect(code == .providerUnavailable && "\(error)".contains("signed in again"), "\(error)")
            } else {
                #expect(code == .signinRequired && "\(error)".contains("signed out"), "\(error)")
            }
        }
    }

    @Test func aProvisioningAnsweredAfterALogoutKeepsNoPolicyKey() async throws {
        let harness = try await Self.heldServer()
        try await harness.run { (broker) async throws in
            try await Self.provisionAcrossLogout(harness, broker, signInAgain: false)
            #expect(try await harness.store.read(account: "work", kind: .activeSyncDevice) == nil)

            for await _ in try await broker.login(account: "work") {}
            let header = try await broker.activeSyncHeader(account: "work", minValid: nil, client: nil)
            #expect(header.policyKey == "policy-2")  // provisioned again, not the old key
            let seen = harness.activeSync.seen
            #expect(
                seen.provisions == 2 && seen.deviceIDs[0] != seen.deviceIDs[1] && header.deviceID == seen.deviceIDs[1])
        }
    }

    @Test func aProvisioningFailingAfterALogoutKeepsNoError() async throws {
        let harness = try await Self.heldServer([.failure(.transport("connection reset"))])
        try await harness.run { (broker) async throws in
            try await Self.provisionAcrossLogout(harness, broker, signInAgain: false)
        }
    }

    @Test func aProvisioningAnsweredAfterANewerSignInKeepsNothingOfItsOwn() async throws {
        let harness = try await Self.heldServer()
        try await harness.run { (broker) async throws in
            try await Self.provisionAcrossLogout(harness, broker, signInAgain: true)
            let header = try await broker.activeSyncHeader(account: "work", minValid: nil, client: nil)
            #expect(header.policyKey == "policy-2" && harness.activeSync.seen.provisions == 2)
        }
    }

    /// Yields until the server has seen `count` provisioning runs; false when it has not after
    /// many yields (a request that waits on another instead of reaching the server).
    static func serverReached(_ harness: BrokerHarness, _ count: Int) async -> Bool {
        for _ in 0..<10_000 {
            if harness.activeSync.seen.provisions >= count { return true }
            await Task.yield()
        }
        return false
    }

    @Test func aRequestAfterANewerSignInDoesNotWaitOnTheOvertakenProvisioning() async throws {
        let harness = try await Self.heldServer()
        try await harness.run { (broker) async throws in
            async let old = broker.activeSyncHeader(account: "work", minValid: nil, client: nil)
            await harness.activeSync.answers.arrived(1)
            try await broker.logout(account: "work")
            for await _ in try await broker.login(account: "work") {}
            async let new = broker.activeSyncHeader(account: "work", minValid: nil, client: nil)
            #expect(await Self.serverReached(harness, 2), "the new sign-in's request joined the overtaken provisioning")
            await harness.activeSync.answers.open()
            do {
                Self.expectSignedOut(.success(try await old), signedInAgain: true)
            } catch {
                Self.expectSignedOut(.failure(error), signedInAgain: true)
            }
            #expect(try await new.policyKey == "policy-2")
            #expect(await broker.activeSync["work"]?.policyKey == "policy-2")
        }
    }

    @Test func aWipeAnsweredAfterANewerSignInLeavesThatSignInAlone() async throws {
        let harness = try await Self.heldServer([.success(.wipe(.device, version: "16.1", acknowledged: true))])
        try await harness.run { (broker) async throws in
            try await Self.provisionAcrossLogout(harness, broker, signInAgain: true)
            // The wipe was for the device the logout erased; the new sign-in is not touched.
            #expect(try await broker.summary(account: "work").state == .valid)
            #expect(try await broker.token(account: "work").value.reveal() == "access-1")
        }
        #expect(try await harness.store.read(account: "work", kind: .refreshToken)?.reveal() == "refresh-1")
    }

    @Test func aLogoutDuringTheDeviceIdWriteLeavesNoDeviceId() async throws {
        let harness = BrokerHarness(configuration: BrokerHarness.activeSyncConfiguration())
        try await harness.signedIn(accessTokenLeft: 3600)
        await harness.store.writes.close()
        try await harness.run { (broker) async throws in
            async let held = broker.activeSyncHeader(account: "work", minValid: nil, client: nil)
            await harness.store.writes.arrived(1)  // the new DeviceId is being written
            try await broker.logout(account: "work")
            await harness.store.writes.open()
            do { Self.expectSignedOut(.success(try await held)) } catch { Self.expectSignedOut(.failure(error)) }
            #expect(await broker.activeSync["work"].map { _ in "kept" } == nil)
        }
        #expect(try await harness.store.read(account: "work", kind: .activeSyncDevice) == nil)
        #expect(harness.activeSync.seen.provisions == 0)  // no server was asked for a signed-out account
    }
}
