import LatchkeyCore
import LatchkeyHTTP
import LatchkeyOAuth
import Testing

/// Issue 14 items 2 and 7: numbers and JSON a hostile provider sends give clear errors that
/// name the field or the provider; nothing traps.
@Suite struct HostileAnswerTests {
    func response(_ status: Int, _ body: String, headers: [(name: String, value: String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: Array(body.utf8))
    }

    @Test(arguments: [
        ("120", 120.0), (" 120 ", 120), ("0", 0), ("3600", 3600), ("3601", 3600), ("99999999999999999999999", 3600),
    ])
    func retryAfterIsDelaySecondsClampedToAnHour(header: String, seconds: Double) throws {
        #expect(OAuthError.retryAfter(header: header) == seconds)
        #expect {
            try OAuthClient.read(
                response(503, #"{"error":"temporarily_unavailable"}"#, headers: [("Retry-After", header)]))
        } throws: {
            ($0 as? OAuthError)?.retryAfter == seconds
        }
    }

    @Test(arguments: ["inf", "nan", "1e19", "-1", "+5", "1.5", "٣", "", "Wed, 21 Oct 2026 07:28:00 GMT"])
    func aRetryAfterThatIsNotSecondsIsIgnoredAndSaidSo(header: String) {
        #expect(OAuthError.retryAfter(header: header) == nil)
        #expect { try OAuthClient.read(response(503, "", headers: [("Retry-After", header)])) } throws: {
            let error = $0 as? OAuthError
            return error?.retryAfter == nil && error?.isTransient == true
                && error?.message.contains("Retry-After") == true
        }
    }

    @Test(arguments: [
        (#"{"access_token":"a","expires_in":-1e300}"#, "expires_in is -1e+300 s, outside"),
        (#"{"access_token":"a","expires_in":1e300}"#, "expires_in is 1e+300 s, outside"),
        (#"{"access_token":"a","expires_in":"nan"}"#, "expires_in is not a number"),
        (#"{"access_token":"a","expires_in":"-1e300"}"#, "expires_in is -1e+300 s, outside"),
        (#"{"access_token":"a","expires_in":-5}"#, "expires_in is -5: the token would be expired at once"),
    ])
    func absurdLifetimesAreRefusedNamingTheField(body: String, words: String) throws {
        let json = try JSONValue.parse(body)
        #expect { try TokenResponse(json: json) } throws: { ($0 as? OAuthError)?.message.contains(words) == true }
    }

    @Test func aLongLifetimeIsReadAsAYear() throws {
        let answer = try TokenResponse(json: try JSONValue.parse(#"{"access_token":"a","expires_in":315360000}"#))
        #expect(answer.expiresIn == TokenResponse.maximumLifetime)
    }

    @Test(arguments: ["-1e300", "1e300", "\"nan\"", "0"])
    func deviceCodeLifetimesAreChecked(value: String) throws {
        let json = try JSONValue.parse(
            #"{"device_code":"d","user_code":"U","verification_uri":"https://x/","expires_in":\#(value)}"#)
        #expect { try DeviceAuthorization(json: json) } throws: {
            ($0 as? OAuthError)?.message.contains("expires_in") == true
        }
    }

    @Test(arguments: [
        (200, #"{"access_token":"a","access_token":"b","token_type":"Bearer"}"#, "'access_token' appears twice"),
        (200, #"{"access_token":"a","expires_in":0360}"#, "leading zero"),
        (200, #"{"access_token":"a","expires_in":1e400}"#, "out of range"),
        (400, #"{"error":"invalid_grant","error":"server_error"}"#, "'error' appears twice"),
    ])
    func malformedJSONNamesTheProvider(status: Int, body: String, words: String) {
        #expect { try OAuthClient.read(response(status, body), provider: "login.example.com") } throws: {
            let error = $0 as? OAuthError
            return error?.kind == .invalidResponse && error?.isTransient == true
                && error?.message.contains("login.example.com sent a malformed answer") == true
                && error?.message.contains(words) == true
        }
    }

    @Test func aReadersComplaintBecomesAMalformedAnswerOfTheProvider() {
        let error = OAuthError.invalidResponse("the token answer has no access_token").malformed(
            from: "login.example.com")
        #expect(error.message == "login.example.com sent a malformed answer: the token answer has no access_token")
        let unavailable = OAuthError(kind: .httpStatus(503), message: "the provider answered HTTP 503")
        #expect(unavailable.malformed(from: "x") == unavailable)
    }

    @Test func aadstsCodesAreASCIIDigits() {
        #expect(ProviderErrors.aadstsCode(in: "AADSTS50076: MFA") == 50076)
        #expect(ProviderErrors.aadstsCode(in: "AADSTS٥٠٠٧٦") == nil)
        #expect(ProviderErrors.aadstsCode(in: "AADSTS99999999999999999999999") == nil)
    }
}
