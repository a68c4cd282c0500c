import LatchkeyCore
import LatchkeyCrypto
import LatchkeyStore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct FileStoreTests {
    static let secret = "tok-8f3a1c9e-DO-NOT-LEAK"

    // MARK: Round trip and confidentiality

    @Test func roundTripAcrossARestart() async throws {
        try await withTemporaryFolder { folder in
            let path = folder + "/state/latchkey/store.bin"
            let key = Crypto.randomBytes(32)
            let first = FileStore(path: path, key: key)
            #expect(first.name == "file" && first.isPersistent)
            #expect(try await first.read(account: "work", kind: .refreshToken) == nil)
            try await first.write(account: "work", kind: .refreshToken, value: Secret("refresh-1"))
            try await first.write(account: "work", kind: .accessToken, value: Secret("access-1"))
            try await first.write(account: "home.mail", kind: .password, value: Secret("pässwörd \"quoted\"\n"))
            try await first.write(account: "work", kind: .refreshToken, value: Secret("refresh-2"))
            try await first.delete(account: "work", kind: .accessToken)
            #expect(try await first.read(account: "work", kind: .refreshToken)?.reveal() == "refresh-2")

            let restarted = FileStore(path: path, key: key)
            #expect(try await restarted.read(account: "work", kind: .refreshToken)?.reveal() == "refresh-2")
            #expect(try await restarted.read(account: "work", kind: .accessToken) == nil)
            #expect(
                try await restarted.read(account: "home.mail", kind: .password)?.reveal() == "pässwörd \"quoted\"\n")
            #expect(try await restarted.read(account: "home.mail", kind: .refreshToken) == nil)

            try await restarted.deleteAll(account: "work")
            try await restarted.deleteAll(account: "home.mail")
            #expect(try await FileStore(path: path, key: key).read(account: "work", kind: .refreshToken) == nil)
        }
    }

    @Test func theFileNeverHoldsASecretInClear() async throws {
        try await withTemporaryFolder { folder in
            let path = folder + "/store.bin"
            let store = FileStore(path: path, key: Crypto.randomBytes(32))
            try await store.write(account: "secretive-account", kind: .refreshToken, value: Secret(Self.secret))
            try await store.write(account: "secretive-account", kind: .password, value: Secret(Self.secret + "-pw"))
            let bytes = try readFile(path)
            #expect(Array(bytes.prefix(4)) == Array("LKS1".utf8))
            #expect(!contains(bytes, Self.secret))
            #expect(!contains(bytes, "secretive-account"))
            #expect(!contains(bytes, "refresh_token"))
            #expect(!contains(bytes, Base64.encode(Array(Self.secret.utf8))))
        }
    }

    @Test func aMissingFileIsAnEmptyStoreAndDeletingNothingCreatesNothing() async throws {
        try await withTemporaryFolder { folder in
            let path = folder + "/absent/store.bin"
            let store = FileStore(path: path, key: Crypto.randomBytes(32))
            #expect(try await store.read(account: "a", kind: .password) == nil)
            try await store.deleteAll(account: "a")
            #expect(!exists(path))
        }
    }

    @Test func fileIs0600FolderIs0700AndNoTemporaryFilesRemain() async throws {
        try await withTemporaryFolder { folder in
            let path = folder + "/made/by/store/store.bin"
            let store = FileStore(path: path, key: Crypto.randomBytes(32))
            for i in 0..<3 { try await store.write(account: "a", kind: .accessToken, value: Secret("v\(i)")) }
            #expect(mode(path) == 0o600)
            #expect(mode(folder + "/made/by/store") == 0o700)
            #expect(mode(folder + "/made") == 0o700)
            #expect(try entries(folder + "/made/by/store") == ["store.bin"])
        }
    }

    // MARK: Integrity

    static let tamperOffsets: [(String, Int)] = [
        ("magic[0]", 0), ("magic[3]", 3), ("nonce[0]", 4), ("nonce[11]", 15), ("tag[0]", 16), ("tag[15]", 31),
        ("ciphertext[0]", 32), ("ciphertext[20]", 52), ("last byte", -1),
    ]

    @Test(arguments: tamperOffsets) func anyFlippedByteIsRefusedAndNeverOverwritten(_ place: String, _ offset: Int)
        async throws
    {
        try await withTemporaryFolder { folder in
            let path = folder + "/store.bin"
            let key = Crypto.randomBytes(32)
            let original = FileStore(path: path, key: key)
            try await original.write(account: "work", kind: .refreshToken, value: Secret(Self.secret))
            #expect(try await original.read(account: "work", kind: .refreshToken)?.reveal() == Self.secret)

            var bytes = try readFile(path)
            bytes[offset >= 0 ? offset : bytes.count + offset] ^= 0x01
            try writeFile(path, bytes, mode: 0o600)

            let restarted = FileStore(path: path, key: key)
            let readError = await #expect(throws: StoreError.self) {
                try await restarted.read(account: "work", kind: .refreshToken)
            }
            #expect(readError?.kind == .tampered)
            #expect(readError?.message.contains(path) == true)
            #expect(readError?.message.contains(Self.secret) == false)
            if offset >= 4 { #expect(readError?.message.contains("failed its integrity check") == true) }

            // Writes fail the same way, from a fresh store and from the one that had cached the items.
            for store in [restarted, original] {
                let writeError = await #expect(throws: StoreError.self) {
                    try await store.write(account: "work", kind: .accessToken, value: Secret("new"))
                }
                #expect(writeError?.kind == .tampered)
                let deleteError = await #expect(throws: StoreError.self) {
                    try await store.delete(account: "work", kind: .refreshToken)
                }
                #expect(deleteError?.kind == .tampered)
            }
            // …and keep failing: the refusal is not a one-off.
            await #expect(throws: StoreError.self) {
                try await restarted.write(account: "other", kind: .password, value: Secret("x"))
            }
            #expect(try readFile(path) == bytes, "the tampered file must stay byte for byte as it was")
            #expect(try entries(folder) == ["store.bin"])
        }
    }

    @Test func anotherKeyIsRefusedAsTampered() async throws {
        try await withTemporaryFolder { folder in
            let path = folder + "/store.bin"
            try await FileStore(path: path, key: Crypto.randomBytes(32))
                .write(account: "work", kind: .password, value: Secret(Self.secret))
            let before = try readFile(path)
            let wrong = FileStore(path: path, key: Crypto.randomBytes(32))
            let error = await #expect(throws: StoreError.self) {
                try await wrong.read(account: "work", kind: .password)
            }
            #expect(error?.kind == .tampered)
            #expect(error?.message.contains("the key is not the one it was written with") == true)
            let writeError = await #expect(throws: StoreError.self) {
                try await wrong.write(account: "work", kind: .password, value: Secret("other"))
            }
            #expect(writeError?.kind == .tampered)
            #expect(try readFile(path) == before)
        }
    }

    @Test func truncatedOrForeignFilesAreRefused() async throws {
        try await withTemporaryFolder { folder in
            let key = Crypto.randomBytes(32)
            for (name, contents) in [
                ("empty", [UInt8]()), ("short", Array("LKS1abc".utf8)), ("foreign", Array("{\"items\":{}}".utf8)),
            ] {
                let path = folder + "/" + name
                try writeFile(path, contents, mode: 0o600)
                let store = FileStore(path: path, key: key)
                let error = await #expect(throws: StoreError.self) {
                    try await store.read(account: "a", kind: .password)
                }
                #expect(error?.kind == .tampered, "\(name)")
                await #expect(throws: StoreError.self) {
                    try await store.write(account: "a", kind: .password, value: Secret("v"))
                }
                #expect(try readFile(path) == contents)
            }
        }
    }

    // MARK: Concurrency

    @Test func concurrentWritesAllLand() async throws {
        try await withTemporaryFolder { folder in
            let path = folder + "/store.bin"
            let key = Crypto.randomBytes(32)
            let store = FileStore(path: path, key: key)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<200 {
                    group.addTask {
                        try await store.write(
                            account: "acct\(i)", kind: ItemKind.allCases[i % 3], value: Secret("value-\(i)"))
                        _ = try await store.read(account: "acct\((i * 7) % 200)", kind: .password)
                    }
                }
                try await group.waitForAll()
            }
            let restarted = FileStore(path: path, key: key)
            for i in 0..<200 {
                let kind = ItemKind.allCases[i % 3]
                #expect(try await store.read(account: "acct\(i)", kind: kind)?.reveal() == "value-\(i)")
                #expect(try await restarted.read(account: "acct\(i)", kind: kind)?.reveal() == "value-\(i)")
            }
        }
    }

    /// A crash between writing and renaming leaves PATH.tmp-*: removed at the first load once
    /// it is over a minute old (a younger one may be another process's write in flight).
    @Test func leftoversOfACrashedWriteAreRemovedWhenOld() async throws {
        try await withTemporaryFolder { folder in
            let path = folder + "/store.bin"
            let key = Crypto.randomBytes(32)
            try await FileStore(path: path, key: key).write(account: "work", kind: .password, value: Secret("p"))
            for name in ["old", "young"] {
                let fd = open(path + ".tmp-" + name, O_CREAT | O_WRONLY, 0o600)
                close(fd)
            }
            var times = [timeval(tv_sec: time(nil) - 120, tv_usec: 0), timeval(tv_sec: time(nil) - 120, tv_usec: 0)]
            utimes(path + ".tmp-old", &times)
            #expect(try await FileStore(path: path, key: key).read(account: "work", kind: .password)?.reveal() == "p")
            #expect(access(path + ".tmp-old", F_OK) != 0)
            #expect(access(path + ".tmp-young", F_OK) == 0)
        }
    }
}
