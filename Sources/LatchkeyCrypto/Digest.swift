internal import COpenSSL
import LatchkeyCore

/// The one door to OpenSSL's libcrypto: digests and random bytes here; authenticated
/// encryption for the file store and certificate inspection for diagnosis build on it.
public enum Crypto {
    /// SHA-256 (PKCE S256, RFC 7636 §4.2).
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        _ = bytes.withUnsafeBytes { input in
            EVP_Digest(input.baseAddress, input.count, &digest, &length, EVP_sha256(), nil)
        }
        return digest
    }

    /// Cryptographically strong random bytes (OpenSSL's DRBG, seeded by the kernel).
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        if RAND_bytes(&bytes, Int32(count)) != 1 {
            // Fall back to the system generator (getrandom), never to a weak source.
            var generator = SystemRandomNumberGenerator()
            for i in bytes.indices { bytes[i] = generator.next() }
        }
        return bytes
    }

    /// A URL-safe random string with `bytes` bytes of entropy (PKCE verifiers, `state`).
    public static func randomToken(bytes: Int = 32) -> String {
        Base64.encodeURL(randomBytes(bytes))
    }
}

extension Crypto {
    /// An identifier for a sign-in session: random, not guessable, safe in a URL path.
    public static func sessionID() -> String {
        randomToken(bytes: 12)
    }
}
