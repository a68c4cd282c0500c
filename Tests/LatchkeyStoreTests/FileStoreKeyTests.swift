import LatchkeyCore
import LatchkeyCrypto
import LatchkeyStore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct FileStoreKeyTests {
    static let key: [UInt8] = (0..<32).map { UInt8($0 * 7 + 1) }

    static var hexKey: String {
        let digits = Array("0123456789abcdef")
        return String(key.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
    }

    static let encodings: [(String, [UInt8])] = [
        ("raw", key),
        ("raw with a newline", key + [0x0A]),
        ("raw ending in 0x0A", Array(key.dropLast()) + [0x0A]),
        ("hex", Array(hexKey.utf8)),
        ("hex with a newline", Array((hexKey + "\n").utf8)),
        ("HEX with CRLF", Array((hexKey.uppercased() + "\r\n").utf8)),
        ("base64 with a newline", Array((Base64.encode(key) + "\n").utf8)),
        ("base64url unpadded", Array(Base64.encodeURL(key).utf8)),
    ]

    @Test(arguments: encodings) func readsEachEncoding(_ name: String, _ contents: [UInt8]) async throws {
        try await withTemporaryFolder { folder in
            let path = folder + "/store.key"
            try writeFile(path, contents, mode: 0o600)
            let loaded = try FileStore.loadKey(credentialsDirectory: nil, keyFile: path)
            let expected = name == "raw ending in 0x0A" ? contents : Self.key
            #expect(loaded == expected)
        }
    }

    @Test func theSystemdCredentialComesFirst() async throws {
        try await withTemporaryFolder { folder in
            let credentials = folder + "/credentials"
            try makeFolder(credentials, mode: 0o700)
            // systemd makes credentials 0400 or 0440 in a private folder: no mode check there.
            try writeFile(credentials + "/latchkey.key", Array(repeating: 0xAB, count: 32), mode: 0o440)
            let keyFile = folder + "/store.key"
            try writeFile(keyFile, Self.key, mode: 0o600)
            #expect(
                try FileStore.loadKey(credentialsDirectory: credentials, keyFile: keyFile)
                    == Array(repeating: 0xAB, count: 32))

            // A credentials folder without latchkey.key (the service has other credentials) falls through.
            let others = folder + "/other-credentials"
            try makeFolder(others)
            #expect(try FileStore.loadKey(credentialsDirectory: others, keyFile: keyFile) == Self.key)
            #expect(try FileStore.loadKey(credentialsDirectory: "", keyFile: keyFile) == Self.key)

            // A credential that is there but broken is reported, not silently replaced by key_file.
            try writeFile(credentials + "/latchkey.key", [1, 2, 3], mode: 0o400)
            let error = #expect(throws: StoreError.self) {
                try FileStore.loadKey(credentialsDirectory: credentials, keyFile: keyFile)
            }
            #expect(error?.kind == .keyMissing)
            #expect(error?.message.contains(credentials + "/latchkey.key") == true)
        }
    }

    @Test(arguments: [0o640, 0o604, 0o644, 0o660]) func aKeyOthersCanReadIsRefused(_ permissions: Int) async throws {
        try await withTemporaryFolder { folder in
            let path = folder + "/store.key"
            try writeFile(path, Self.key, mode: mode_t(permissions))
            let error = #expect(throws: StoreError.self) {
                try FileStore.loadKey(credentialsDirectory: nil, keyFile: path)
            }
            #expect(error?.kind == .keyMissing)
            #expect(error?.message.contains("can be read by other users") == true)
            #expect(error?.message.contains("chmod 600 \(path)") == true)
        }
    }

    @Test(arguments: [
        ("short", Array(repeating: UInt8(0x42), count: 16)),
        ("31 bytes", Array(repeating: UInt8(0x42), count: 31)),
        ("empty", []),
        ("hex too short", Array(String(repeating: "ab", count: 31).utf8)),
        ("not hex", Array(String(repeating: "zz", count: 32).utf8)),
        ("base64 of 16 bytes", Array(Base64.encode([UInt8](repeating: 9, count: 16)).utf8)),
    ]) func anUnusableKeyIsRefusedWithHowToMakeOne(_ name: String, _ contents: [UInt8]) async throws {
        try await withTemporaryFolder { folder in
            let path = folder + "/store.key"
            try writeFile(path, contents, mode: 0o600)
            let error = #expect(throws: StoreError.self, "\(name)") {
                try FileStore.loadKey(credentialsDirectory: nil, keyFile: path)
            }
            #expect(error?.kind == .keyMissing)
            #expect(error?.message.contains(path) == true)
            #expect(error?.message.contains("head -c 32 /dev/urandom > \(path) && chmod 600 \(path)") == true)
            #expect(error?.message.contains("systemd-creds") == true)
            if contents.count >= 8 {
                #expect(error?.message.contains(String(decoding: contents, as: UTF8.self)) == false)
            }
        }
    }

    @Test func aMissingKeyNamesThePathAndTheFix() async throws {
        try await withTemporaryFolder { folder in
            let path = folder + "/nope.key"
            let missing = #expect(throws: StoreError.self) {
                try FileStore.loadKey(credentialsDirectory: nil, keyFile: path)
            }
            #expect(missing?.kind == .keyMissing)
            #expect(missing?.message.contains("\(path) does not exist") == true)
            #expect(missing?.message.contains("head -c 32 /dev/urandom") == true)

            let none = #expect(throws: StoreError.self) {
                try FileStore.loadKey(credentialsDirectory: folder, keyFile: nil)
            }
            #expect(none?.kind == .keyMissing)
            #expect(none?.message.contains(folder + "/latchkey.key") == true)
            #expect(none?.message.contains("key_file") == true)
        }
    }

    @Test func aLoadedKeyOpensTheStore() async throws {
        try await withTemporaryFolder { folder in
            let keyPath = folder + "/store.key"
            try writeFile(keyPath, Array((Base64.encode(Crypto.randomBytes(32)) + "\n").utf8), mode: 0o600)
            let store = FileStore(
                path: folder + "/store.bin", key: try FileStore.loadKey(credentialsDirectory: nil, keyFile: keyPath))
            try await store.write(account: "a", kind: .password, value: Secret("pw"))
            let again = FileStore(
                path: folder + "/store.bin", key: try FileStore.loadKey(credentialsDirectory: nil, keyFile: keyPath))
            #expect(try await again.read(account: "a", kind: .password)?.reveal() == "pw")
        }
    }
}
