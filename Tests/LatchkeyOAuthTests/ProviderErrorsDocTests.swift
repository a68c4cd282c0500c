import Glibc
import LatchkeyOAuth
import Testing

/// docs/troubleshooting.md is checked against the table the code uses, row by row, and the
/// table holds every code the issue names, each with a meaning and a remedy.
@Suite struct ProviderErrorsDocTests {
    static let required = [
        50076, 50079, 50097, 50126, 50158, 50173, 53003, 65001, 70000, 70008, 70016, 70043, 700016, 700082, 7000218,
        90002,
        50011, 50020, 50034,
    ]

    static func document() throws -> String {
        let root = #filePath.split(separator: "/").dropLast(3).joined(separator: "/")
        guard let file = fopen("/" + root + "/docs/troubleshooting.md", "r") else { throw DocMissing() }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    struct DocMissing: Error {}

    @Test func everyRequiredCodeHasMeaningAndRemedy() {
        for code in Self.required {
            #expect(ProviderErrors.aadsts[code] != nil && ProviderErrors.aadstsRemedies[code] != nil, "AADSTS\(code)")
        }
        #expect(Set(ProviderErrors.oauth.keys) == Set(ProviderErrors.oauthRemedies.keys))
        #expect(Set(ProviderErrors.aadsts.keys) == Set(ProviderErrors.aadstsRemedies.keys))
    }

    @Test func theTroubleshootingPageMatchesTheTable() throws {
        let text = try Self.document()
        for (code, meaning) in ProviderErrors.aadsts {
            #expect(
                text.contains("| AADSTS\(code) | \(meaning) | \(ProviderErrors.aadstsRemedies[code]!) |"),
                "AADSTS\(code)")
        }
        for (code, meaning) in ProviderErrors.oauth {
            #expect(text.contains("| `\(code)` | \(meaning) | \(ProviderErrors.oauthRemedies[code]!) |"), "\(code)")
        }
    }

    @Test func remediesNameTheAccount() {
        #expect(
            ProviderErrors.remedy(code: "invalid_grant", errorCodes: [53003], account: "work").contains(
                "latchkey login work --method browser"))
        #expect(
            ProviderErrors.remedy(code: "invalid_grant", errorCodes: [], account: "work")
                == "Run `latchkey login work` to sign in again.")
        #expect(
            ProviderErrors.remedy(code: "weird", errorCodes: [1], account: "w").contains("latchkey diagnose w --trace"))
    }
}
