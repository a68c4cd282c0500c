import LatchkeyCore
import LatchkeyHTTP

/// The device an account is on: the DeviceId kept with the credential, the DeviceType, the
/// user name the server knows.
public struct ActiveSyncDevice: Sendable, Equatable {
    public var user: String
    public var deviceID: String
    public var deviceType: String

    public init(user: String, deviceID: String, deviceType: String = "Latchkey") {
        self.user = user
        self.deviceID = deviceID
        self.deviceType = deviceType
    }
}

/// What a provisioning run ended with.
public enum ProvisionOutcome: Sendable, Equatable {
    /// The final policy key, the version spoken, the policy's settings, how it was acknowledged.
    case provisioned(key: String, version: String, settings: [PolicySetting], acknowledged: PolicyAcknowledgement)
    /// The server ordered a wipe, to be carried out now. The acknowledgement (Status 1) was sent
    /// at once, as MS-ASPROV 3.1.5.1.2.2 asks (the client does not wait on the server);
    /// `acknowledged` says whether the server took it.
    case wipe(WipeKind, version: String, acknowledged: Bool)
}

/// One setting of a device policy and whether Latchkey can enforce it (it cannot enforce any
/// requirement on the device: a lock code, encryption, a wipe after failed unlocks, ...).
public struct PolicySetting: Sendable, Equatable {
    public var name: String
    public var value: String
    /// True when the setting asks something of the device that Latchkey does not do.
    public var unenforced: Bool
}

/// Provisions an account's device with an ActiveSync server (MS-ASPROV 3.1.5.1): OPTIONS for
/// the version, the policy download, the acknowledgement, the final key; or a wipe directive,
/// acknowledged as the protocol requires.
public struct Provisioner: Sendable {
    let http: HTTPClient
    let options: HTTPOptions

    public init(http: HTTPClient, options: HTTPOptions = HTTPOptions()) {
        self.http = http
        self.options = options
    }

    /// `endpoint` is the …/Microsoft-Server-ActiveSync URL; `authorization` the header value
    /// (`Bearer …`); `accept` whether the person accepted the policy (then Status 1 is sent,
    /// otherwise the honest 3, "did not apply the policy at all").
    public func provision(
        endpoint: String, authorization: Secret<String>, device: ActiveSyncDevice,
        accept: Bool
    ) async throws(ActiveSyncError) -> ProvisionOutcome {
        let version = try await negotiate(endpoint: endpoint, authorization: authorization)
        let first = try await send(
            ProvisionRequest.download(), endpoint: endpoint, authorization: authorization,
            device: device, version: version, policyKey: "0")
        if let wipe = first.wipe {
            // Horde answers the acknowledgement with an empty body, Exchange with a Status: only
            // the HTTP status is judged.
            let acknowledged = await acknowledgeWipe(
                wipe, endpoint: endpoint, authorization: authorization,
                device: device, version: version, policyKey: first.policyKey)
            return .wipe(wipe, version: version, acknowledged: acknowledged)
        }
        guard first.status == 1, first.policyStatus == 1, let temporary = first.policyKey else {
            throw .refused(status: first.status, policyStatus: first.policyStatus)
        }
        let settings = first.settings.map {
            PolicySetting(
                name: $0.name, value: $0.value,
                unenforced: PolicyReading.isRequirement($0.name, $0.value))
        }
        let acknowledgement: PolicyAcknowledgement = accept ? .applied : .notApplied
        let second = try await send(
            ProvisionRequest.acknowledge(temporaryKey: temporary, status: acknowledgement),
            endpoint: endpoint, authorization: authorization, device: device,
            version: version, policyKey: temporary)
        guard second.status == 1, second.policyStatus == 1, let final = second.policyKey else {
            throw .refused(status: second.status, policyStatus: second.policyStatus)
        }
        return .provisioned(key: final, version: version, settings: settings, acknowledged: acknowledgement)
    }

    func acknowledgeWipe(
        _ wipe: WipeKind, endpoint: String, authorization: Secret<String>, device: ActiveSyncDevice,
        version: String, policyKey: String?
    ) async -> Bool {
        let request = provisionRequest(
            ProvisionRequest.acknowledgeWipe(wipe), endpoint: endpoint,
            authorization: authorization, device: device, version: version,
            policyKey: policyKey ?? "0")
        guard let response = try? await transfer(request) else { return false }
        return response.status == 200
    }

    func negotiate(endpoint: String, authorization: Secret<String>) async throws(ActiveSyncError) -> String {
        let request = HTTPRequest(
            method: "OPTIONS", url: endpoint,
            headers: [("Authorization", authorization.reveal())])
        let response = try await transfer(request)
        guard response.status == 200 else { throw .http(response.status) }
        let offered = response.header("MS-ASProtocolVersions") ?? ""
        guard let version = ProtocolVersion.negotiate(offered) else { throw .noCommonVersion(offered: offered) }
        return version
    }

    func send(
        _ body: [UInt8], endpoint: String, authorization: Secret<String>, device: ActiveSyncDevice,
        version: String, policyKey: String
    ) async throws(ActiveSyncError) -> ProvisionResponse {
        let request = provisionRequest(
            body, endpoint: endpoint, authorization: authorization, device: device,
            version: version, policyKey: policyKey)
        let response = try await transfer(request)
        guard response.status == 200 else { throw .http(response.status) }
        return try ProvisionResponse.parse(response.body)
    }

    func provisionRequest(
        _ body: [UInt8], endpoint: String, authorization: Secret<String>, device: ActiveSyncDevice,
        version: String, policyKey: String
    ) -> HTTPRequest {
        let query = [
            ("Cmd", "Provision"), ("User", device.user), ("DeviceId", device.deviceID),
            ("DeviceType", device.deviceType),
        ]
        .map { "\($0.0)=\(FormEncoding.escape($0.1))" }.joined(separator: "&")
        return HTTPRequest(
            method: "POST", url: endpoint + "?" + query,
            headers: [
                ("Authorization", authorization.reveal()), ("MS-ASProtocolVersion", version),
                ("X-MS-PolicyKey", policyKey), ("Content-Type", "application/vnd.ms-sync.wbxml"),
                ("User-Agent", "Latchkey"),
            ], body: Secret(body))
    }

    func transfer(_ request: HTTPRequest) async throws(ActiveSyncError) -> HTTPResponse {
        do { return try await http.send(request, options: options) } catch { throw .transport(error.message) }
    }
}

/// Where a device gets provisioned: the ActiveSync server over HTTP (`HTTPProvisioning`), or
/// a server in memory in the broker's tests, which can hold its answer.
public protocol ActiveSyncProvisioning: Sendable {
    /// One provisioning run (`Provisioner.provision`), with the account's HTTP options.
    func provision(
        endpoint: String, authorization: Secret<String>, device: ActiveSyncDevice, accept: Bool,
        options: HTTPOptions
    ) async throws(ActiveSyncError) -> ProvisionOutcome
}

/// Provisioning with a `Provisioner` over `http`: what the daemon uses.
public struct HTTPProvisioning: ActiveSyncProvisioning {
    let http: HTTPClient

    public init(http: HTTPClient) {
        self.http = http
    }

    public func provision(
        endpoint: String, authorization: Secret<String>, device: ActiveSyncDevice, accept: Bool,
        options: HTTPOptions
    ) async throws(ActiveSyncError) -> ProvisionOutcome {
        try await Provisioner(http: http, options: options).provision(
            endpoint: endpoint, authorization: authorization, device: device, accept: accept)
    }
}
