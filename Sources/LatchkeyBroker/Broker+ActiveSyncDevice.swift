import LatchkeyCore
import LatchkeyStore

// An ActiveSync account's device belongs to one sign-in: a sign-out erases its DeviceId and
// policy key (SECURITY.md), so a provisioning that a sign-out overtook keeps nothing.

extension Broker {
    /// The account's DeviceId on this machine: kept with its credentials, made once. One
    /// written while a sign-out ran is taken back out of the store.
    func activeSyncDeviceID(_ key: ProvisionKey) async throws(LatchkeyError) -> String {
        let name = key.account
        if let known = activeSync[name]?.deviceID { return known }
        let stored: Secret<String>?
        do {
            stored = try await store.read(account: name, kind: .activeSyncDevice)
        } catch {
            try stillProvisioning(key)
            throw storeError(name, error)
        }
        try stillProvisioning(key)
        if let stored = stored?.reveal(), !stored.isEmpty, stored.utf8.count <= 32,
            stored.utf8.allSatisfy({ $0.isHexDigitASCII })
        {
            activeSync[name, default: ActiveSyncSession()].deviceID = stored
            return stored
        }
        var generator = SystemRandomNumberGenerator()
        let id = (0..<16).map { _ in String(UInt8.random(in: 0...255, using: &generator), radix: 16).leftPadded }
            .joined()
            .uppercased()
        do {
            try await store.write(account: name, kind: .activeSyncDevice, value: Secret(id))
        } catch {
            try stillProvisioning(key)
            throw storeError(name, error)
        }
        guard accounts[name]?.generation == key.generation else {
            await takeBackDeviceID(name, id)
            throw signedOutDuringProvisioning(name)
        }
        activeSync[name, default: ActiveSyncSession()].deviceID = id
        return id
    }

    /// Removes a DeviceId written while a sign-out ran, unless the store holds another one by
    /// now: a newer sign-in's own.
    private func takeBackDeviceID(_ name: String, _ id: String) async {
        if case .some(.some(let stored)) = try? await store.read(account: name, kind: .activeSyncDevice),
            stored.reveal() != id
        {
            return
        }
        await removeStoredDuringSignOut(name, .activeSyncDevice)
    }

    /// Throws when the provisioning `key` is no longer the account's: a sign-out, a newer
    /// sign-in or a reload that removed the account came during an await.
    func stillProvisioning(_ key: ProvisionKey) throws(LatchkeyError) {
        guard accounts[key.account]?.generation != key.generation else { return }
        logger.info(
            "ActiveSync provisioning overtaken by a sign-out or a sign-in: it keeps nothing",
            metadata: ["account": "\(key.account)"]
        )
        throw signedOutDuringProvisioning(key.account)
    }

    /// The answer of a provisioning that a sign-out or a sign-in overtook: after a new sign-in
    /// the client tries again (its request provisions for the new sign-in), after a sign-out it
    /// signs in.
    func signedOutDuringProvisioning(_ name: String) -> LatchkeyError {
        if let state = summary(of: name)?.state, state == .valid || state == .refreshing {
            return LatchkeyError(
                .providerUnavailable, "'\(name)' was signed in again during the ActiveSync provisioning.",
                hint: "Try again.", retryAfter: 1)
        }
        return .signinRequired(name, "'\(name)' was signed out during the ActiveSync provisioning.")
    }
}

/// A provisioning's single flight: per account and per sign-in (`Account.generation`), so
/// what a sign-out overtook is never handed to, or kept for, a newer sign-in.
struct ProvisionKey: Hashable {
    var account: String
    var generation: Int
}

extension UInt8 {
    var isHexDigitASCII: Bool { (0x30...0x39).contains(self) || (0x41...0x46).contains(self) }
}

extension String {
    var leftPadded: String { count == 1 ? "0" + self : self }
}
