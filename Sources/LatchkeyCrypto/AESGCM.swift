internal import COpenSSL
import LatchkeyCore

/// A libcrypto operation failed. The message carries OpenSSL's own text, never key or data bytes.
public struct CryptoError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The key is not 32 bytes.
        case invalidKey
        /// A nonce, tag or length that AES-256-GCM cannot take.
        case invalidInput
        /// The tag did not verify: the ciphertext, nonce, tag or associated data changed, or the key differs.
        case authenticationFailed
        /// OpenSSL itself failed (out of memory, a broken provider…).
        case library
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// AES-256-GCM (NIST SP 800-38D) through OpenSSL: a 96-bit nonce, a 128-bit tag.
///
/// `seal` draws a fresh random nonce for every message, so a key may seal about 2³² messages
/// before the chance of a nonce repeating matters; the file store seals one per write.
public enum AESGCM {
    public static let keyByteCount = 32
    public static let nonceByteCount = 12
    public static let tagByteCount = 16

    /// Encrypts and authenticates `plaintext`; `additionalData` is authenticated, not encrypted.
    public static func seal(
        plaintext: [UInt8], key: [UInt8], additionalData: [UInt8]
    ) throws(CryptoError) -> (nonce: [UInt8], ciphertext: [UInt8], tag: [UInt8]) {
        let nonce = Crypto.randomBytes(nonceByteCount)
        let (ciphertext, tag) = try seal(plaintext: plaintext, key: key, nonce: nonce, additionalData: additionalData)
        return (nonce, ciphertext, tag)
    }

    /// Seals with a caller-chosen nonce. Internal: a repeated nonce under one key gives away
    /// the plaintexts' XOR and the authentication key, so only known-answer tests choose one.
    static func seal(
        plaintext: [UInt8], key: [UInt8], nonce: [UInt8], additionalData: [UInt8]
    ) throws(CryptoError) -> (ciphertext: [UInt8], tag: [UInt8]) {
        try checkSizes(key: key, nonce: nonce, dataCount: plaintext.count, additionalDataCount: additionalData.count)
        let context = try makeContext()
        defer { EVP_CIPHER_CTX_free(context) }

        try check(EVP_EncryptInit_ex(context, EVP_aes_256_gcm(), nil, nil, nil), "EVP_EncryptInit_ex")
        try check(lk_evp_gcm_set_ivlen(context, Int32(nonceByteCount)), "set the GCM nonce length")
        try check(EVP_EncryptInit_ex(context, nil, nil, key, nonce), "EVP_EncryptInit_ex (key and nonce)")

        var length: Int32 = 0
        if !additionalData.isEmpty {
            try check(
                EVP_EncryptUpdate(context, nil, &length, additionalData, Int32(additionalData.count)),
                "EVP_EncryptUpdate (associated data)")
        }
        // GCM is a stream mode: the ciphertext is exactly as long as the plaintext. The spare
        // block keeps the output pointer valid when the plaintext is empty.
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + 16)
        var produced = 0
        try ciphertext.withUnsafeMutableBufferPointer { (out) throws(CryptoError) in
            let base = out.baseAddress!
            if !plaintext.isEmpty {
                try check(
                    EVP_EncryptUpdate(context, base, &length, plaintext, Int32(plaintext.count)), "EVP_EncryptUpdate")
                produced = Int(length)
            }
            try check(EVP_EncryptFinal_ex(context, base + produced, &length), "EVP_EncryptFinal_ex")
            produced += Int(length)
        }
        ciphertext.removeLast(ciphertext.count - produced)

        var tag = [UInt8](repeating: 0, count: tagByteCount)
        try check(lk_evp_gcm_get_tag(context, Int32(tagByteCount), &tag), "read the GCM tag")
        return (ciphertext, tag)
    }

    /// Verifies and decrypts. Throws `.authenticationFailed` when the tag does not verify;
    /// no plaintext is returned (or left in memory) in that case.
    public static func open(
        nonce: [UInt8], ciphertext: [UInt8], tag: [UInt8], key: [UInt8], additionalData: [UInt8]
    ) throws(CryptoError) -> [UInt8] {
        try checkSizes(key: key, nonce: nonce, dataCount: ciphertext.count, additionalDataCount: additionalData.count)
        guard tag.count == tagByteCount else {
            throw CryptoError(.invalidInput, "An AES-256-GCM tag is \(tagByteCount) bytes, not \(tag.count).")
        }
        let context = try makeContext()
        defer { EVP_CIPHER_CTX_free(context) }

        try check(EVP_DecryptInit_ex(context, EVP_aes_256_gcm(), nil, nil, nil), "EVP_DecryptInit_ex")
        try check(lk_evp_gcm_set_ivlen(context, Int32(nonceByteCount)), "set the GCM nonce length")
        try check(EVP_DecryptInit_ex(context, nil, nil, key, nonce), "EVP_DecryptInit_ex (key and nonce)")

        var length: Int32 = 0
        if !additionalData.isEmpty {
            try check(
                EVP_DecryptUpdate(context, nil, &length, additionalData, Int32(additionalData.count)),
                "EVP_DecryptUpdate (associated data)")
        }
        var expectedTag = tag
        try check(lk_evp_gcm_set_tag(context, Int32(tagByteCount), &expectedTag), "set the GCM tag")

        var plaintext = [UInt8](repeating: 0, count: ciphertext.count + 16)
        var produced = 0
        var verified: Int32 = 0
        do {
            try plaintext.withUnsafeMutableBufferPointer { (out) throws(CryptoError) in
                let base = out.baseAddress!
                if !ciphertext.isEmpty {
                    try check(
                        EVP_DecryptUpdate(context, base, &length, ciphertext, Int32(ciphertext.count)),
                        "EVP_DecryptUpdate")
                    produced = Int(length)
                }
                // The tag is checked here; until it passes, the bytes in `plaintext` are unauthenticated.
                verified = EVP_DecryptFinal_ex(context, base + produced, &length)
                if verified == 1 { produced += Int(length) }
            }
        } catch {
            Crypto.cleanse(&plaintext)
            throw error
        }
        guard verified == 1 else {
            Crypto.cleanse(&plaintext)
            ERR_clear_error()
            throw CryptoError(
                .authenticationFailed,
                "The AES-256-GCM tag did not verify: the data was changed, or it was sealed with another key.")
        }
        plaintext.removeLast(plaintext.count - produced)
        return plaintext
    }

    // MARK: Plumbing

    private static func checkSizes(
        key: [UInt8], nonce: [UInt8], dataCount: Int, additionalDataCount: Int
    ) throws(CryptoError) {
        guard key.count == keyByteCount else {
            throw CryptoError(.invalidKey, "An AES-256 key is \(keyByteCount) bytes, not \(key.count).")
        }
        guard nonce.count == nonceByteCount else {
            throw CryptoError(
                .invalidInput, "An AES-256-GCM nonce here is \(nonceByteCount) bytes, not \(nonce.count).")
        }
        // EVP takes lengths as C ints; keep a margin for the final block.
        guard dataCount < Int(Int32.max) - 32, additionalDataCount < Int(Int32.max) else {
            throw CryptoError(.invalidInput, "The data is too large to encrypt in one piece.")
        }
    }

    private static func makeContext() throws(CryptoError) -> OpaquePointer {
        guard let context = EVP_CIPHER_CTX_new() else { throw Crypto.libraryError("EVP_CIPHER_CTX_new") }
        return context
    }

    /// The funnel every EVP status goes through: 1 is success, anything else becomes a
    /// `CryptoError` with OpenSSL's queued error text.
    private static func check(_ status: Int32, _ operation: String) throws(CryptoError) {
        if status != 1 { throw Crypto.libraryError(operation) }
    }
}

extension Crypto {
    /// Overwrites the array's bytes with zeros in a way the optimiser keeps (`OPENSSL_cleanse`).
    /// Only this array's storage is cleared: copies made earlier (arrays are copy-on-write, and
    /// a shared buffer is copied before it is cleared) keep their bytes.
    public static func cleanse(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { raw in
            if let base = raw.baseAddress { OPENSSL_cleanse(base, raw.count) }
        }
    }

    /// Drains this thread's OpenSSL error queue into one `CryptoError`.
    static func libraryError(_ operation: String) -> CryptoError {
        var reasons: [String] = []
        var buffer = [CChar](repeating: 0, count: 256)
        while case let code = ERR_get_error(), code != 0 {
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        let detail = reasons.isEmpty ? "OpenSSL gave no reason" : reasons.joined(separator: "; ")
        return CryptoError(.library, "OpenSSL failed in \(operation): \(detail).")
    }
}
