import LatchkeyCore
import LatchkeyCrypto

#if canImport(Glibc)
    import Glibc
#endif

extension FileStore {
    /// The systemd credential that holds the key (`LoadCredential=latchkey.key:…` or
    /// `LoadCredentialEncrypted=…`), found in `$CREDENTIALS_DIRECTORY`.
    public static let credentialName = "latchkey.key"

    /// The file store's 32-byte key: the systemd credential `latchkey.key` in
    /// `credentialsDirectory` when it is there, else the file `keyFile` (`key_file` in `[broker]`).
    ///
    /// The file holds 32 raw bytes, 64 hex digits, or base64 of 32 bytes, with an optional
    /// trailing newline. A key file that group or others may read is refused (a systemd
    /// credentials folder is private to the service and is taken as it is). Every failure is
    /// `.keyMissing` with a message that names the file and how to make a key.
    public static func loadKey(credentialsDirectory: String?, keyFile: String?) throws(StoreError) -> [UInt8] {
        var looked: [String] = []
        if let folder = credentialsDirectory, !folder.isEmpty {
            let path = FileIO.join(folder, credentialName)
            // A credential that is there but unusable is an error, not a reason to use another key.
            if FileIO.exists(path) { return try readKey(at: path, privateFolder: true) }
            looked.append("no systemd credential \(path)")
        }
        if let keyFile, !keyFile.isEmpty { return try readKey(at: keyFile, privateFolder: false) }
        looked.append("no key_file in [broker]")
        throw StoreError(
            .keyMissing,
            "The encrypted file store has no key (\(looked.joined(separator: ", "))). Make one with "
                + "`head -c 32 /dev/urandom > \"$HOME/.config/latchkey/latchkey.key\" && chmod 600 "
                + "\"$HOME/.config/latchkey/latchkey.key\"` and set key_file in [broker] to that file's full path, or "
                + "pass one to the service as the systemd credential \(credentialName) (`systemd-creds encrypt`, then "
                + "LoadCredentialEncrypted=).")
    }

    private static func readKey(at path: String, privateFolder: Bool) throws(StoreError) -> [UInt8] {
        let make = howToMake(path)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ENOENT { throw StoreError(.keyMissing, "The key file \(path) does not exist. \(make)") }
            let reason = String(cString: strerror(code))
            throw StoreError(
                .keyMissing,
                "The key file \(path) cannot be read (\(reason)). Check that the user running latchkeyd owns it; "
                    + "or \(make.prefix(1).lowercased() + make.dropFirst())")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw StoreError(.keyMissing, "The key file \(path) is not a regular file. \(make)")
        }
        let permissions = info.st_mode & 0o777
        if !privateFolder, permissions & 0o077 != 0 {
            let mode = String(permissions, radix: 8)
            throw StoreError(
                .keyMissing,
                "The key file \(path) can be read by other users (mode 0\(mode)), so Latchkey will not use it. Run "
                    + "`chmod 600 \(FileIO.shellQuoted(path))`; if someone else may have copied it, make a new key "
                    + "and sign in to each account again.")
        }
        var contents: [UInt8]
        do {
            contents = try FileIO.readAll(fd, path: path, limit: 4096)
        } catch {
            throw StoreError(.keyMissing, "The key file \(path) could not be read: \(error.message) \(make)")
        }
        defer { Crypto.cleanse(&contents) }
        guard let key = parseKey(contents) else {
            // The length is safe to say; the contents are not.
            throw StoreError(
                .keyMissing,
                "The key file \(path) does not hold a key (\(contents.count) bytes): a key is 32 random bytes, "
                    + "64 hex digits or the base64 of 32 bytes. \(make)")
        }
        return key
    }

    /// 32 raw bytes, 64 hex digits or base64 of 32 bytes, each with an optional trailing
    /// newline. Raw bytes are tried on the whole contents first: a random key may end in 0x0A.
    static func parseKey(_ contents: [UInt8]) -> [UInt8]? {
        var candidates = [contents]
        if contents.last == UInt8(ascii: "\n") {
            candidates.append(Array(contents.dropLast()))
            if contents.dropLast().last == UInt8(ascii: "\r") { candidates.append(Array(contents.dropLast(2))) }
        }
        defer { for i in candidates.indices { Crypto.cleanse(&candidates[i]) } }
        for candidate in candidates {
            if candidate.count == AESGCM.keyByteCount { return candidate }
            if candidate.count == 2 * AESGCM.keyByteCount, let key = decodeHex(candidate) { return key }
            if candidate.count <= 44, var decoded = Base64.decode(String(decoding: candidate, as: UTF8.self)) {
                if decoded.count == AESGCM.keyByteCount { return decoded }
                Crypto.cleanse(&decoded)
            }
        }
        return nil
    }

    private static func decodeHex(_ text: [UInt8]) -> [UInt8]? {
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(text.count / 2)
        var i = 0
        while i + 1 < text.count {
            guard let high = nibble(text[i]), let low = nibble(text[i + 1]) else {
                Crypto.cleanse(&out)
                return nil
            }
            out.append(high << 4 | low)
            i += 2
        }
        return out
    }

    private static func howToMake(_ path: String) -> String {
        let quoted = FileIO.shellQuoted(path)
        return "Make a key with `head -c 32 /dev/urandom > \(quoted) && chmod 600 \(quoted)`, or pass one to the "
            + "service as the systemd credential \(credentialName) (`systemd-creds encrypt`, then "
            + "LoadCredentialEncrypted=). "
            + "A new key cannot read a credential file written with another one."
    }
}
