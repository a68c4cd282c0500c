import Testing

@testable import LatchkeyCrypto

/// Known answers from the GCM specification submitted to NIST (McGrew & Viega, "The Galois/Counter
/// Mode of Operation", test cases 13, 14 and 16: AES-256, 96-bit IV, 128-bit tag).
@Suite struct AESGCMTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        let name: String
        let key, iv, plaintext, aad, ciphertext, tag: String
        var testDescription: String { name }
    }

    static let vectors = [
        Vector(
            name: "test case 13 (empty plaintext)",
            key: String(repeating: "00", count: 32), iv: String(repeating: "00", count: 12), plaintext: "", aad: "",
            ciphertext: "", tag: "530f8afbc74536b9a963b4f1c4cb738b"),
        Vector(
            name: "test case 14 (one zero block)",
            key: String(repeating: "00", count: 32), iv: String(repeating: "00", count: 12),
            plaintext: String(repeating: "00", count: 16), aad: "",
            ciphertext: "cea7403d4d606b6e074ec5d3baf39d18", tag: "d0d1c8a799996bf0265b98b5d48ab919"),
        Vector(
            name: "test case 16 (60 bytes, 20 bytes of associated data)",
            key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
            iv: "cafebabefacedbaddecaf888",
            plaintext: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                + "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
            aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
            ciphertext: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                + "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
            tag: "76fc6ece0f4e1768cddf8853bb2d551b"),
    ]

    @Test(arguments: vectors) func knownAnswer(_ v: Vector) throws {
        let sealed = try AESGCM.seal(
            plaintext: hex(v.plaintext), key: hex(v.key), nonce: hex(v.iv), additionalData: hex(v.aad))
        #expect(sealed.ciphertext == hex(v.ciphertext))
        #expect(sealed.tag == hex(v.tag))
        let opened = try AESGCM.open(
            nonce: hex(v.iv), ciphertext: hex(v.ciphertext), tag: hex(v.tag), key: hex(v.key),
            additionalData: hex(v.aad))
        #expect(opened == hex(v.plaintext))
    }

    @Test func sealUsesFreshNoncesAndRoundTrips() throws {
        let key = Crypto.randomBytes(32)
        let message = Array("a refresh token".utf8)
        let first = try AESGCM.seal(plaintext: message, key: key, additionalData: [1, 2, 3])
        let second = try AESGCM.seal(plaintext: message, key: key, additionalData: [1, 2, 3])
        #expect(first.nonce.count == 12 && first.tag.count == 16 && first.ciphertext.count == message.count)
        #expect(first.nonce != second.nonce)
        #expect(first.ciphertext != second.ciphertext)
        let opened = try AESGCM.open(
            nonce: first.nonce, ciphertext: first.ciphertext, tag: first.tag, key: key, additionalData: [1, 2, 3])
        #expect(opened == message)
    }

    @Test func anyChangeFailsAuthentication() throws {
        let key = Crypto.randomBytes(32)
        let aad = Array("LKS1".utf8)
        let s = try AESGCM.seal(plaintext: Array("hunter2 and more".utf8), key: key, additionalData: aad)
        func flipped(_ bytes: [UInt8], at i: Int) -> [UInt8] {
            var b = bytes
            b[i] ^= 0x01
            return b
        }
        var otherKey = key
        otherKey[31] ^= 0x80
        let attempts: [(String, () throws(CryptoError) -> [UInt8])] = [
            (
                "ciphertext",
                { () throws(CryptoError) in
                    try AESGCM.open(
                        nonce: s.nonce, ciphertext: flipped(s.ciphertext, at: 3), tag: s.tag, key: key,
                        additionalData: aad)
                }
            ),
            (
                "tag",
                { () throws(CryptoError) in
                    try AESGCM.open(
                        nonce: s.nonce, ciphertext: s.ciphertext, tag: flipped(s.tag, at: 15), key: key,
                        additionalData: aad)
                }
            ),
            (
                "nonce",
                { () throws(CryptoError) in
                    try AESGCM.open(
                        nonce: flipped(s.nonce, at: 0), ciphertext: s.ciphertext, tag: s.tag, key: key,
                        additionalData: aad)
                }
            ),
            (
                "associated data",
                { () throws(CryptoError) in
                    try AESGCM.open(
                        nonce: s.nonce, ciphertext: s.ciphertext, tag: s.tag, key: key,
                        additionalData: flipped(aad, at: 3))
                }
            ),
            (
                "key",
                { () throws(CryptoError) in
                    try AESGCM.open(
                        nonce: s.nonce, ciphertext: s.ciphertext, tag: s.tag, key: otherKey, additionalData: aad)
                }
            ),
            (
                "truncated ciphertext",
                { () throws(CryptoError) in
                    try AESGCM.open(
                        nonce: s.nonce, ciphertext: Array(s.ciphertext.dropLast()), tag: s.tag, key: key,
                        additionalData: aad)
                }
            ),
        ]
        for (what, attempt) in attempts {
            let error = #expect(throws: CryptoError.self, "changed \(what)") { try attempt() }
            #expect(error?.kind == .authenticationFailed, "changed \(what)")
            #expect(error?.message.contains("hunter2") == false)
        }
    }

    @Test func refusesWrongSizes() throws {
        let short = #expect(throws: CryptoError.self) {
            try AESGCM.seal(plaintext: [1], key: [UInt8](repeating: 7, count: 16), additionalData: [])
        }
        #expect(short?.kind == .invalidKey)
        let badTag = #expect(throws: CryptoError.self) {
            try AESGCM.open(
                nonce: [UInt8](repeating: 0, count: 12), ciphertext: [1], tag: [1, 2], key: Crypto.randomBytes(32),
                additionalData: [])
        }
        #expect(badTag?.kind == .invalidInput)
    }

    @Test func cleanseZeroes() {
        var bytes: [UInt8] = [1, 2, 3, 4]
        Crypto.cleanse(&bytes)
        #expect(bytes == [0, 0, 0, 0])
    }

    private func hex(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        var chars = Array(text.utf8)[...]
        while chars.count >= 2 {
            out.append(UInt8(String(decoding: chars.prefix(2), as: UTF8.self), radix: 16)!)
            chars = chars.dropFirst(2)
        }
        return out
    }
}
