import LatchkeyCore
import LatchkeyCrypto

/// Every item of the file store: account → kind (`ItemKind.rawValue`) → value.
///
/// Kinds are kept as text so a kind written by a newer Latchkey survives a rewrite by this one.
struct StoredItems: Sendable, Equatable {
    var accounts: [String: [String: Secret<String>]] = [:]

    subscript(account: String, kind: ItemKind) -> Secret<String>? {
        get { accounts[account]?[kind.rawValue] }
        set {
            accounts[account, default: [:]][kind.rawValue] = newValue
            if accounts[account]?.isEmpty == true { accounts[account] = nil }
        }
    }
}

/// The file store's file, one file for all items:
///
///     "LKS1" (4 bytes) | nonce (12) | tag (16) | ciphertext
///
/// AES-256-GCM with the magic as associated data, so the format version is authenticated
/// along with the contents. The plaintext is compact JSON (Latchkey's `JSONValue`):
///
///     {"accounts": {"<account>": {"<kind>": "<value>", …}, …}}
///
/// with kinds spelled as `ItemKind` raw values (`refresh_token`, `access_token`, `password`),
/// accounts and kinds in sorted order. A store with no items is `{"accounts":{}}`.
enum StoreFile {
    static let magic: [UInt8] = Array("LKS1".utf8)
    static let headerCount = magic.count + AESGCM.nonceByteCount + AESGCM.tagByteCount
    /// Far above any real store (a few kilobytes per account); a larger file is not ours.
    static let sizeLimit = 16 * 1024 * 1024

    static func seal(_ items: StoredItems, key: [UInt8], path: String) throws(StoreError) -> [UInt8] {
        var plaintext = Array(encode(items).utf8)
        defer { Crypto.cleanse(&plaintext) }
        do {
            let sealed = try AESGCM.seal(plaintext: plaintext, key: key, additionalData: magic)
            return magic + sealed.nonce + sealed.tag + sealed.ciphertext
        } catch {
            throw cryptoFailure(error, path: path)
        }
    }

    static func open(_ bytes: [UInt8], key: [UInt8], path: String) throws(StoreError) -> StoredItems {
        guard bytes.count >= magic.count, Array(bytes[0..<magic.count]) == magic else {
            throw notOurs(bytes, path: path)
        }
        guard bytes.count >= headerCount else {
            throw StoreError(
                .tampered,
                "The credential file \(path) is cut short (\(bytes.count) bytes, less than its "
                    + "\(headerCount)-byte header). "
                    + refusal(path))
        }
        let nonceEnd = magic.count + AESGCM.nonceByteCount
        let nonce = Array(bytes[magic.count..<nonceEnd])
        let tag = Array(bytes[nonceEnd..<headerCount])
        let ciphertext = Array(bytes[headerCount...])
        var plaintext: [UInt8]
        do {
            plaintext = try AESGCM.open(nonce: nonce, ciphertext: ciphertext, tag: tag, key: key, additionalData: magic)
        } catch {
            throw cryptoFailure(error, path: path)
        }
        defer { Crypto.cleanse(&plaintext) }
        return try decode(plaintext, path: path)
    }

    // MARK: Plaintext

    static func encode(_ items: StoredItems) -> String {
        let accounts = items.accounts.sorted { $0.key < $1.key }.map { account, kinds in
            (account, JSONValue.object(kinds.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value.reveal())) }))
        }
        return JSONValue.object([("accounts", .object(accounts))]).encoded
    }

    static func decode(_ plaintext: [UInt8], path: String) throws(StoreError) -> StoredItems {
        // The contents authenticated, so this Latchkey or a newer one wrote them; a shape it
        // cannot read is not tampering, and must not be overwritten either.
        let unreadable = StoreError(
            .other,
            "The credential file \(path) decrypted, but its contents are not in a form this Latchkey reads "
                + "(a newer version may have written it). Latchkey will neither read nor overwrite it: upgrade "
                + "Latchkey, or move the file aside (`mv \(FileIO.shellQuoted(path)) "
                + "\(FileIO.shellQuoted(path + ".unreadable"))`) and sign in to each account again.")
        // JSONParseError carries only an offset, never the text: safe, but say nothing of it anyway.
        guard let document = try? JSONValue.parse(plaintext), case .object(let top)? = document["accounts"] else {
            throw unreadable
        }
        var items = StoredItems()
        for (account, entry) in top {
            guard case .object(let kinds) = entry else { throw unreadable }
            for (kind, value) in kinds {
                guard let text = value.stringValue else { throw unreadable }
                items.accounts[account, default: [:]][kind] = Secret(text)
            }
        }
        return items
    }

    // MARK: Errors

    /// What to do when the file fails its check; the store refuses to read or replace it.
    static func refusal(_ path: String) -> String {
        let quoted = FileIO.shellQuoted(path)
        return "Latchkey will neither read nor overwrite it. If the key changed, put the old key back "
            + "(the systemd credential latchkey.key, or key_file in [broker]) and restart latchkeyd; "
            + "otherwise restore the file from a backup. To start afresh instead, move it aside "
            + "(`mv \(quoted) \(FileIO.shellQuoted(path + ".broken"))`) and sign in to each account again."
    }

    static func tampered(_ path: String) -> StoreError {
        StoreError(
            .tampered,
            "The credential file \(path) failed its integrity check: it was changed on disk, or the key is not "
                + "the one it was written with. " + refusal(path))
    }

    private static func notOurs(_ bytes: [UInt8], path: String) -> StoreError {
        // "LKS" and a version Latchkey does not know: a newer format, not damage.
        if bytes.count >= magic.count, bytes[0..<3] == magic[0..<3], bytes[3] >= UInt8(ascii: "2"),
            bytes[3] <= UInt8(ascii: "9")
        {
            let format = String(decoding: bytes[0..<magic.count], as: UTF8.self)
            return StoreError(
                .tampered,
                "The credential file \(path) is in format \(format), newer than this Latchkey reads (LKS1): upgrade "
                    + "Latchkey. " + refusal(path))
        }
        return StoreError(
            .tampered,
            "The credential file \(path) is not a Latchkey credential file (it does not start with LKS1): it was "
                + "changed on disk, or store_file points at another file. " + refusal(path))
    }

    private static func cryptoFailure(_ error: CryptoError, path: String) -> StoreError {
        switch error.kind {
        case .authenticationFailed:
            return tampered(path)
        case .invalidKey:
            return StoreError(
                .keyMissing,
                "The file store's key is not 32 bytes, so \(path) cannot be used. Make a key with "
                    + "`head -c 32 /dev/urandom > KEYFILE && chmod 600 KEYFILE` and set key_file in [broker].")
        case .invalidInput, .library:
            return StoreError(.other, "Could not encrypt or decrypt \(path): \(error.message)")
        }
    }
}
