/// The Provision command's bodies (MS-ASPROV 2.2.2, 3.1.5.1): the policy download, the
/// acknowledgement, and the acknowledgement of a wipe directive.
public enum ProvisionRequest {
    /// The policy type for EAS 12.0 and later.
    public static let policyType = "MS-EAS-Provisioning-WBXML"

    /// Phase 1: ask for the policy.
    public static func download() -> [UInt8] {
        policyRequest([WBXMLElement(Provision.policyType, text: policyType)])
    }

    /// Phase 2: acknowledge the policy under its temporary key, with the client's Status
    /// (MS-ASPROV 2.2.2.54.1: 1 applied, 2 partly (at least the PIN), 3 not applied at all).
    public static func acknowledge(temporaryKey: String, status: PolicyAcknowledgement) -> [UInt8] {
        policyRequest([
            WBXMLElement(Provision.policyType, text: policyType),
            WBXMLElement(Provision.policyKey, text: temporaryKey),
            WBXMLElement(Provision.status, text: String(status.rawValue)),
        ])
    }

    /// Provision › Policies › Policy with `policy` inside, encoded: both phases' body.
    static func policyRequest(_ policy: [WBXMLElement]) -> [UInt8] {
        WBXMLEncoder.encode(
            WBXMLElement(
                Provision.provision,
                children: [
                    WBXMLElement(Provision.policies, children: [WBXMLElement(Provision.policy, children: policy)])
                ]))
    }

    /// The acknowledgement of a wipe directive (MS-ASPROV 3.1.5.1.2.2 and .3): Status 1, done.
    public static func acknowledgeWipe(_ kind: WipeKind) -> [UInt8] {
        let tag = kind == .accountOnly ? Provision.accountOnlyRemoteWipe : Provision.remoteWipe
        return WBXMLEncoder.encode(
            WBXMLElement(
                Provision.provision,
                children: [
                    WBXMLElement(tag, children: [WBXMLElement(Provision.status, text: "1")])
                ]))
    }
}

/// The Status a client puts in its acknowledgement (MS-ASPROV 2.2.2.54.1, request values).
public enum PolicyAcknowledgement: Int, Sendable {
    case applied = 1
    case partlyApplied = 2
    case notApplied = 3
}

/// A wipe directive: of the whole device (RemoteWipe) or of the account only (16.1).
public enum WipeKind: String, Sendable {
    case device
    case accountOnly = "account-only"
}

/// What a Provision answer says.
public struct ProvisionResponse: Sendable, Equatable {
    /// Provision/Status (MS-ASPROV 2.2.2.54.2): 1 is success.
    public var status: Int
    /// Policy/Status (2.2.2.54.1, response values), when the answer has a Policy.
    public var policyStatus: Int?
    public var policyKey: String?
    /// The EASProvisionDoc's settings, in the answer's order (name, value).
    public var settings: [(name: String, value: String)]
    public var wipe: WipeKind?

    public static func == (a: ProvisionResponse, b: ProvisionResponse) -> Bool {
        a.status == b.status && a.policyStatus == b.policyStatus && a.policyKey == b.policyKey
            && a.wipe == b.wipe && a.settings.map(\.name) == b.settings.map(\.name)
            && a.settings.map(\.value) == b.settings.map(\.value)
    }

    /// Reads a Provision answer body. Refuses anything that is not a Provision element with a
    /// numeric Status; a policy key must be digits (MS-ASPROV 2.2.2.42: an unsigned 32-bit number).
    public static func parse(_ body: [UInt8]) throws(ActiveSyncError) -> ProvisionResponse {
        let root: WBXMLElement
        do { root = try WBXMLDecoder.decode(body) } catch { throw .malformed(error.description) }
        guard root.is(Provision.provision) else { throw .malformed("the answer is not a Provision element") }
        guard let status = root.text(of: Provision.status).flatMap(smallNumber) else {
            throw .malformed("Provision/Status is missing or not a number")
        }
        var response = ProvisionResponse(status: status, policyStatus: nil, policyKey: nil, settings: [], wipe: nil)
        if let policy = root.child(Provision.policies)?.child(Provision.policy) {
            if let text = policy.text(of: Provision.status) {
                guard let value = smallNumber(text) else { throw .malformed("Policy/Status is not a number") }
                response.policyStatus = value
            }
            if let key = policy.text(of: Provision.policyKey) {
                guard !key.isEmpty, key.utf8.count <= 10, key.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                    let number = UInt64(key), number <= UInt64(UInt32.max)
                else { throw .malformed("Policy/PolicyKey is not an unsigned 32-bit number") }
                response.policyKey = key
            }
            if let document = policy.child(Provision.data)?.child(Provision.provisionDoc) {
                response.settings = document.children.compactMap { setting in
                    guard setting.page == Provision.page, let name = Provision.settingName(setting.token) else {
                        return nil
                    }
                    return (name, String((setting.text ?? "").prefix(200)))
                }
            }
        }
        if root.child(Provision.accountOnlyRemoteWipe) != nil {
            response.wipe = .accountOnly
        } else if root.child(Provision.remoteWipe) != nil {
            response.wipe = .device
        }
        return response
    }

    public static func smallNumber(_ text: String) -> Int? {
        guard !text.isEmpty, text.utf8.count <= 4, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            return nil
        }
        return Int(text)
    }
}
