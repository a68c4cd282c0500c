import LatchkeyActiveSync
import LatchkeyCore
import LatchkeyOAuth
import LatchkeyStore

/// What a sync tool needs to talk ActiveSync through Latchkey: the Authorization header, the
/// policy key (`X-MS-PolicyKey`), and the DeviceId and protocol version it must use.
public struct ActiveSyncHeader: Sendable {
    public var authorization: Secret<String>
    public var expiresAt: Timestamp
    public var policyKey: String
    public var deviceID: String
    public var deviceType: String
    public var version: String
}

/// An ActiveSync account's device on this machine: what provisioning gave, what the policy
/// asks that Latchkey cannot do, and whether a remote wipe erased the account.
struct ActiveSyncSession: Sendable {
    var deviceID: String?
    var version: String?
    var policyKey: String?
    var settings: [PolicySetting] = []
    var acknowledged: PolicyAcknowledgement?
    var wiped: WipeKind?
    var lastError: String?

    /// The policy's requirements Latchkey does not enforce, as `name=value`.
    var unenforced: [String] { settings.filter(\.unenforced).map { "\($0.name)=\($0.value)" } }
}

extension Broker {
    static let activeSyncDeviceType = "Latchkey"

    /// The header, the policy key, the DeviceId and the version for an ActiveSync account
    /// (`url` ends in /Microsoft-Server-ActiveSync), provisioning first when there is no key.
    public func activeSyncHeader(account name: String, minValid: Double?, client: ClientIdentity?)
        async throws(LatchkeyError) -> ActiveSyncHeader
    {
        guard let config = accounts[name]?.config else { throw .unknownAccount(name) }
        guard config.isActiveSync else {
            throw LatchkeyError(
                .badRequest,
                "'\(name)' is not an ActiveSync account (its url does not end in /Microsoft-Server-ActiveSync).")
        }
        if let error = wipedError(name) { throw error }
        let auth = try await authorization(account: name, url: config.url, minValid: minValid, client: client)
        guard let generation = accounts[name]?.generation else { throw .unknownAccount(name) }
        if activeSync[name]?.policyKey == nil {
            try await provisionOnce(
                ProvisionKey(account: name, generation: generation), authorization: auth.value, client: client)
        }
        guard let session = activeSync[name], let key = session.policyKey, let device = session.deviceID,
            let version = session.version, accounts[name]?.generation == generation
        else {
            if let error = wipedError(name) { throw error }
            if accounts[name]?.generation != generation { throw signedOutDuringProvisioning(name) }
            throw LatchkeyError(.internalError, "'\(name)' has no ActiveSync policy key.")
        }
        return ActiveSyncHeader(
            authorization: auth.value, expiresAt: auth.expiresAt, policyKey: key, deviceID: device,
            deviceType: Self.activeSyncDeviceType, version: version)
    }

    /// A sync tool reports that the server wants provisioning (HTTP 449, or status 140 remote
    /// wipe requested, 142, 143, 144): the key is dropped and the account provisioned again.
    public func activeSyncChallenge(account name: String, status: Int, client: ClientIdentity?)
        async throws(LatchkeyError) -> ActiveSyncHeader
    {
        guard [140, 142, 143, 144, 449].contains(status) else {
            throw LatchkeyError(
                .badRequest,
                "activesync_status \(status) is not one that asks for provisioning (449, 140, 142, 143, 144).")
        }
        guard accounts[name] != nil else { throw .unknownAccount(name) }
        logger.info("ActiveSync server asks for provisioning", metadata: ["account": "\(name)", "status": "\(status)"])
        activeSync[name]?.policyKey = nil
        return try await activeSyncHeader(account: name, minValid: nil, client: client)
    }

    /// The refusal while an account stays wiped: until a new sign-in succeeds.
    func wipedError(_ name: String) -> LatchkeyError? {
        guard let kind = activeSync[name]?.wiped else { return nil }
        if accounts[name]?.oauth.machine.state == .valid {
            activeSync[name] = ActiveSyncSession()  // signed in again: a new device
            return nil
        }
        return LatchkeyError(
            .signinRequired,
            "'\(name)' was wiped: the ActiveSync server ordered a \(kind == .accountOnly ? "account-only " : "")remote wipe, and Latchkey erased the account's credentials.",
            hint:
                "If the wipe was meant, ask the server's administrator; to use the account again, run: latchkey login \(name)"
        )
    }

    /// Single flight per sign-in (`key`): the first request starts the provisioning as a job of
    /// `work` (so a shutdown waits for it), every request (the first too) waits for its one
    /// result. A request after a sign-out and a new sign-in starts its own.
    func provisionOnce(_ key: ProvisionKey, authorization: Secret<String>, client: ClientIdentity?)
        async throws(LatchkeyError)
    {
        if provisions.begin(key) {
            let started = work.start {
                let result: Result<Void, LatchkeyError>
                do throws(LatchkeyError) {
                    try await self.provisionActiveSync(key, authorization: authorization, client: client)
                    result = .success(())
                } catch {
                    result = .failure(error)
                }
                await self.finishProvisioning(key, result)
            }
            guard started else {
                provisions.finish(key, .failure(Self.stopping))
                throw Self.stopping
            }
        }
        // The job runs on this actor, so it cannot finish before this request has joined.
        let result = await withCheckedContinuation { provisions.join(key, $0) }
        try result.get()
    }

    private func finishProvisioning(_ key: ProvisionKey, _ result: Result<Void, LatchkeyError>) {
        provisions.finish(key, result)
    }

    /// Provisions the account's device for the sign-in `key.generation`. Every await may let a
    /// sign-out (or a newer sign-in) in: after each, a provisioning that is no longer the
    /// account's keeps nothing (no key, no error, no wipe, no DeviceId in the store) and ends
    /// as signed out.
    func provisionActiveSync(_ key: ProvisionKey, authorization: Secret<String>, client: ClientIdentity?)
        async throws(LatchkeyError)
    {
        let name = key.account
        guard let config = accounts[name]?.config, let url = config.url else { throw .unknownAccount(name) }
        // The token goes with every ActiveSync request: https, or plain http to this machine only.
        guard ProviderMetadata.isSafeEndpoint(url) else {
            throw LatchkeyError(
                .configuration,
                "The url of '\(name)' is not https; Latchkey sends no token over plain http except to this machine.",
                hint: "Use the https address of the ActiveSync endpoint in [accounts.\(name)].")
        }
        let deviceID = try await activeSyncDeviceID(key)
        let device = ActiveSyncDevice(
            user: config.email ?? config.username ?? name, deviceID: deviceID,
            deviceType: Self.activeSyncDeviceType)
        let outcome: ProvisionOutcome
        do {
            outcome = try await provisioning.provision(
                endpoint: url, authorization: authorization, device: device,
                accept: config.activeSyncAcceptPolicy, options: httpOptions(config))
        } catch {
            try stillProvisioning(key)
            activeSync[name, default: ActiveSyncSession()].lastError = error.description
            logger.warning("ActiveSync provisioning failed", metadata: ["account": "\(name)", "error": "\(error)"])
            if case .refused = error {
                throw LatchkeyError(.forbidden, error.description, hint: Self.refusedHint(name))
            }
            throw LatchkeyError(.providerUnavailable, error.description)
        }
        if case .wipe(let kind, _, _) = outcome, accounts[name]?.generation != key.generation {
            logger.warning(
                "ActiveSync remote wipe ordered for a device a sign-out already erased: nothing left to erase",
                metadata: ["account": "\(name)", "wipe": "\(kind.rawValue)"])
        }
        try stillProvisioning(key)
        switch outcome {
        case .provisioned(let policyKey, let version, let settings, let acknowledged):
            var session = ActiveSyncSession(
                deviceID: deviceID, version: version, policyKey: policyKey, settings: settings,
                acknowledged: acknowledged)
            session.lastError = nil
            activeSync[name] = session
            logger.notice(
                "ActiveSync device provisioned",
                metadata: [
                    "account": "\(name)", "version": "\(version)", "acknowledged": "\(acknowledged.rawValue)",
                    "not_enforced": "\(session.unenforced.joined(separator: ","))",
                ])
        case .wipe(let kind, _, let acknowledged):
            await wipeActiveSyncAccount(name, kind: kind, acknowledged: acknowledged, client: client)
        }
    }

    static func refusedHint(_ name: String) -> String {
        "Latchkey enforces no device policy and says so (Status 3). If you accept the server's policy anyway, set activesync_accept_policy = true in [accounts.\(name)]; otherwise ask the administrator to allow devices that do not apply it."
    }
}

extension Broker {
    /// Adds the ActiveSync device to an account's summary, and the `wiped` state.
    func withActiveSync(_ summary: AccountSummary) -> AccountSummary {
        guard let config = accounts[summary.name]?.config, config.isActiveSync else { return summary }
        var summary = summary
        let session = activeSync[summary.name] ?? ActiveSyncSession()
        if let kind = session.wiped, summary.state != .valid {
            summary.state = .wiped
            summary.lastError = "remote wipe (\(kind.rawValue)) ordered by the ActiveSync server; sign in again"
        }
        let acknowledgement: String =
            switch session.acknowledged {
            case .applied: "accepted (activesync_accept_policy = true; Latchkey enforces none of it)"
            case .notApplied: "not applied (Status 3: Latchkey cannot enforce device policies)"
            case .partlyApplied: "partly applied"
            case nil: "not provisioned yet"
            }
        summary.activeSync = .object([
            ("device_id", session.deviceID.map(JSONValue.string) ?? .null),
            ("device_type", .string(Self.activeSyncDeviceType)),
            ("protocol_version", session.version.map(JSONValue.string) ?? .null),
            ("provisioned", .bool(session.policyKey != nil)),
            ("policy", .string(acknowledgement)),
            ("not_enforced", .array(session.unenforced.map(JSONValue.string))),
            ("wiped", session.wiped.map { .string($0.rawValue) } ?? .null),
            ("last_error", session.lastError.map(JSONValue.string) ?? .null),
        ])
        return summary
    }
}

extension Broker {
    /// Whether the account's url is an ActiveSync endpoint (its header carries a policy key).
    public func isActiveSyncAccount(_ name: String) -> Bool {
        accounts[name]?.config.isActiveSync ?? false
    }
}
