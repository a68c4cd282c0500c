import LatchkeyActiveSync
import Testing

/// The WBXML codec: what it writes reads back, what ActiveSync never sends is refused, and
/// hostile bodies (deep, long, truncated) end in an error, not in unbounded work.
@Suite struct WBXMLTests {
    @Test func downloadRequestIsTheSpecifiedBytes() {
        // <Provision><Policies><Policy><PolicyType>MS-EAS-Provisioning-WBXML</...> on page 14.
        let bytes = ProvisionRequest.download()
        let expected: [UInt8] =
            [0x03, 0x01, 0x6A, 0x00, 0x00, 0x0E, 0x45, 0x46, 0x47, 0x48, 0x03]
            + Array("MS-EAS-Provisioning-WBXML".utf8) + [0x00, 0x01, 0x01, 0x01, 0x01]
        #expect(bytes == expected)
    }

    @Test func acknowledgementReadsBack() throws {
        let root = try WBXMLDecoder.decode(
            ProvisionRequest.acknowledge(temporaryKey: "1307199584", status: .notApplied))
        let policy = try #require(root.child(Provision.policies)?.child(Provision.policy))
        #expect(policy.text(of: Provision.policyKey) == "1307199584")
        #expect(policy.text(of: Provision.status) == "3")
        #expect(policy.children.map(\.token) == [0x08, 0x09, 0x0B])  // PolicyKey before Status (MS-ASPROV 2.2.2.41)
    }

    @Test func wipeAcknowledgements() throws {
        let device = try WBXMLDecoder.decode(ProvisionRequest.acknowledgeWipe(.device))
        #expect(device.child(Provision.remoteWipe)?.text(of: Provision.status) == "1")
        let account = try WBXMLDecoder.decode(ProvisionRequest.acknowledgeWipe(.accountOnly))
        #expect(account.child(Provision.accountOnlyRemoteWipe)?.text(of: Provision.status) == "1")
        #expect(ProvisionRequest.acknowledgeWipe(.accountOnly).contains(0x7B))  // 0x3B with content
    }

    @Test func refusesDeepNesting() {
        var body: [UInt8] = [0x03, 0x01, 0x6A, 0x00]
        body += Array(repeating: 0x45, count: 100_000)
        #expect(throws: WBXMLError.self) { try WBXMLDecoder.decode(body) }
    }

    @Test func refusesTooManyElements() {
        var body: [UInt8] = [0x03, 0x01, 0x6A, 0x00, 0x45]
        body += Array(repeating: 0x06, count: 20_000)
        body.append(0x01)
        #expect(throws: WBXMLError.self) { try WBXMLDecoder.decode(body) }
    }

    @Test(arguments: [
        [UInt8](),  // empty
        [0x03, 0x01, 0x6A],  // header cut
        [0x03, 0x01, 0x6A, 0x00, 0x45, 0x03, 0x41],  // unterminated string
        [0x03, 0x01, 0x6A, 0x00, 0x45, 0xC3, 0x8F, 0xFF],  // opaque longer than the body
        [0x03, 0x01, 0x6A, 0x00, 0x45, 0x02, 0x41, 0x01],  // entity
        [0x03, 0x01, 0x6A, 0x00, 0x85, 0x01],  // attributes
        [0x03, 0x01, 0x6A, 0x05, 0x41, 0x42, 0x43, 0x00, 0x00, 0x05],  // a string table
        [0x03, 0x01, 0x04, 0x00, 0x05],  // not UTF-8
        [0x03, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x6A, 0x00, 0x05],  // integer over 32 bits
        [0x03, 0x01, 0x6A, 0x00, 0x05, 0x05],  // data after the root
    ])
    func refusesHostileBodies(_ body: [UInt8]) {
        #expect(throws: WBXMLError.self) { try WBXMLDecoder.decode(body) }
    }
}
