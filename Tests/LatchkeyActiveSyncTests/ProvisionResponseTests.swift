import LatchkeyActiveSync
import Testing

/// Reading Provision answers, with bodies as php-horde-activesync 2.41 writes them.
@Suite struct ProvisionResponseTests {
    static func answer(
        status: String = "1", policyStatus: String = "1", key: String = "3942919513",
        settings: [WBXMLElement] = [], wipe: WBXMLTag? = nil
    ) -> [UInt8] {
        var children = [
            WBXMLElement(Provision.status, text: status),
            WBXMLElement(
                Provision.policies,
                children: [
                    WBXMLElement(
                        Provision.policy,
                        children: [
                            WBXMLElement(Provision.policyType, text: ProvisionRequest.policyType),
                            WBXMLElement(Provision.status, text: policyStatus),
                            WBXMLElement(Provision.policyKey, text: key),
                            WBXMLElement(
                                Provision.data, children: [WBXMLElement(Provision.provisionDoc, children: settings)]),
                        ])
                ]),
        ]
        if let wipe { children.append(WBXMLElement(wipe)) }
        return WBXMLEncoder.encode(WBXMLElement(Provision.provision, children: children))
    }

    @Test func readsKeyAndSettings() throws {
        let pin = WBXMLElement(WBXMLTag(page: 14, token: 0x0E), text: "1")
        let failures = WBXMLElement(WBXMLTag(page: 14, token: 0x16), text: "8")
        let response = try ProvisionResponse.parse(Self.answer(settings: [pin, failures]))
        #expect(response.status == 1 && response.policyStatus == 1 && response.policyKey == "3942919513")
        #expect(response.settings.map(\.name) == ["DevicePasswordEnabled", "MaxDevicePasswordFailedAttempts"])
        #expect(response.wipe == nil)
    }

    @Test func readsWipeDirectives() throws {
        #expect(try ProvisionResponse.parse(Self.answer(wipe: Provision.remoteWipe)).wipe == .device)
        #expect(try ProvisionResponse.parse(Self.answer(wipe: Provision.accountOnlyRemoteWipe)).wipe == .accountOnly)
    }

    @Test(arguments: ["", "-1", "12a", "99999999999", "4294967296"])
    func refusesBadPolicyKeys(_ key: String) {
        #expect(throws: ActiveSyncError.self) { try ProvisionResponse.parse(Self.answer(key: key)) }
    }

    @Test func refusesOtherRootsAndStatuses() {
        let other = WBXMLEncoder.encode(WBXMLElement(FolderHierarchy.folderSync))
        #expect(throws: ActiveSyncError.self) { try ProvisionResponse.parse(other) }
        #expect(throws: ActiveSyncError.self) { try ProvisionResponse.parse(Self.answer(status: "x")) }
    }

    @Test func policyReading() {
        #expect(PolicyReading.isRequirement("DevicePasswordEnabled", "1"))
        #expect(!PolicyReading.isRequirement("DevicePasswordEnabled", "0"))
        #expect(PolicyReading.isRequirement("AllowCamera", "0"))
        #expect(!PolicyReading.isRequirement("AllowCamera", "1"))
        #expect(!PolicyReading.isRequirement("MaxEmailAgeFilter", "3"))
        #expect(PolicyReading.isRequirement("MaxDevicePasswordFailedAttempts", "8"))
    }

    @Test func negotiatesTheBestCommonVersion() {
        #expect(ProtocolVersion.negotiate("2.5,12.0,12.1,14.0,14.1,16.0") == "16.0")
        #expect(ProtocolVersion.negotiate("14.1, 16.0, 16.1") == "16.1")
        #expect(ProtocolVersion.negotiate("2.5,12.0,14.0") == nil)
    }
}
