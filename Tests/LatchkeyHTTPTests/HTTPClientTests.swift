import LatchkeyCore
import LatchkeyHTTP
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// libcurl against the real test provider (HTTPS with a throwaway CA). Runs whenever the test
/// environment is up; with LATCHKEY_INTEGRATION=1 a missing environment is a failure.
@Suite struct HTTPClientTests {
    static func provider() throws -> (url: String, ca: String)? {
        let url = getenv("LATCHKEY_TEST_PROVIDER_URL").map { String(cString: $0) }
        let ca = getenv("LATCHKEY_TEST_CA").map { String(cString: $0) }
        if let url, let ca { return (url, ca) }
        if getenv("LATCHKEY_INTEGRATION").map({ String(cString: $0) }) == "1" {
            Issue.record("LATCHKEY_INTEGRATION=1 but the test provider is not running (LATCHKEY_TEST_PROVIDER_URL)")
        }
        return nil
    }

    @Test func trustsTheConfiguredCA() async throws {
        guard let (url, ca) = try Self.provider() else { return }
        let response = try await HTTPClient().send(
            HTTPRequest(url: url + "/.well-known/openid-configuration"), options: HTTPOptions(caFile: ca))
        #expect(response.status == 200)
        #expect(response.contentType.contains("json"))
        #expect(try JSONValue.parse(response.body)["issuer"]?.stringValue == url)
    }

    @Test func refusesAnUntrustedCertificate() async throws {
        guard let (url, _) = try Self.provider() else { return }
        await #expect {
            _ = try await HTTPClient().send(
                HTTPRequest(url: url + "/.well-known/openid-configuration"), options: HTTPOptions(caFile: nil))
        } throws: { error in
            (error as? HTTPError)?.kind == .tls
        }
    }

    @Test func cutsOffOversizeAnswers() async throws {
        guard let (url, ca) = try Self.provider() else { return }
        await #expect {
            _ = try await HTTPClient().send(
                HTTPRequest(url: url + "/.well-known/openid-configuration"),
                options: HTTPOptions(caFile: ca, maximumResponseBytes: 64))
        } throws: { error in
            (error as? HTTPError)?.kind == .responseTooLarge
        }
    }

    @Test func postsFormsAndReadsOAuthErrors() async throws {
        guard let (url, ca) = try Self.provider() else { return }
        let request = HTTPRequest.form(
            url + "/token",
            [("grant_type", "refresh_token"), ("refresh_token", "not-a-real-one"), ("client_id", "latchkey-test")])
        let response = try await HTTPClient().send(request, options: HTTPOptions(caFile: ca))
        #expect(response.status == 400)
        #expect(try JSONValue.parse(response.body)["error"]?.stringValue == "invalid_grant")
    }

    @Test func closedPortIsAConnectError() async throws {
        await #expect {
            _ = try await HTTPClient().send(
                HTTPRequest(url: "https://127.0.0.1:9/"), options: HTTPOptions(connectTimeout: 2))
        } throws: { error in
            (error as? HTTPError)?.kind == .connect
        }
    }
}
