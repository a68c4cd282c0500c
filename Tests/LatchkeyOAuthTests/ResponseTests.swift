import LatchkeyCore
import LatchkeyHTTP
import LatchkeyOAuth
import Testing

/// Tolerant reading of what real providers send, and plain-words errors for what they should not.
@Suite struct ResponseTests {
    func response(
        _ status: Int, _ body: String, contentType: String = "application/json",
        headers: [(name: String, value: String)] = []
    ) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", contentType)] + headers, body: Array(body.utf8))
    }

    @Test func rfc8628DeviceAuthorization() throws {
        let json = try OAuthClient.read(
            response(
                200,
                #"{"device_code":"GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS","user_code":"WDJB-MJHT","verification_uri":"https://example.com/device","verification_uri_complete":"https://example.com/device?user_code=WDJB-MJHT","expires_in":1800,"interval":5}"#
            ))
        let device = try DeviceAuthorization(json: json)
        #expect(device.userCode == "WDJB-MJHT")
        #expect(device.verificationURIComplete == "https://example.com/device?user_code=WDJB-MJHT")
        #expect(device.interval == 5)
        #expect("\(device.deviceCode)" == "<redacted>")
    }

    @Test func microsoftDeviceAuthorization() throws {
        let json = try JSONValue.parse(
            #"{"user_code":"FZ8YSBHFM","device_code":"DAQABAAEAAAD--DLA3VO7QrddgJg7Wevr","verification_url":"https://microsoft.com/devicelogin","expires_in":"900","interval":"5","message":"To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code FZ8YSBHFM to authenticate."}"#
        )
        let device = try DeviceAuthorization(json: json)
        #expect(device.verificationURI == "https://microsoft.com/devicelogin")
        #expect(device.expiresIn == 900)
        #expect(device.interval == 5)
        #expect(device.message?.hasPrefix("To sign in") == true)
    }

    @Test func tokenResponseWithStringExpiresIn() throws {
        let token = try TokenResponse(
            json: try JSONValue.parse(
                #"{"token_type":"Bearer","scope":"EAS.AccessAsUser.All","expires_in":"3599","ext_expires_in":"3599","access_token":"eyJ0","refresh_token":"0.AAA"}"#
            ))
        #expect(token.expiresIn == 3599)
        #expect(token.refreshToken?.reveal() == "0.AAA")
        #expect(token.scope == ["EAS.AccessAsUser.All"])
    }

    @Test(arguments: [
        (#"{"access_token":"a","token_type":"Bearer","expires_in":-5}"#, "expired at once"),
        (#"{"access_token":"a","token_type":"Bearer","expires_in":0}"#, "expired at once"),
        (#"{"access_token":"a","token_type":"Bearer","expires_in":"soon"}"#, "not a number"),
        (#"{"token_type":"Bearer","expires_in":60}"#, "no access_token"),
        (#"{"access_token":"a","token_type":"mac"}"#, "'mac' token"),
        (#"[1,2]"#, "not a JSON object"),
    ])
    func absurdTokenResponsesAreRefused(_ body: String, _ words: String) throws {
        #expect {
            try TokenResponse(json: try JSONValue.parse(body))
        } throws: { error in
            (error as? OAuthError)?.message.contains(words) == true
        }
    }

    @Test func hugeLifetimesAreCapped() throws {
        let token = try TokenResponse(json: try JSONValue.parse(#"{"access_token":"a","expires_in":315360000000}"#))
        #expect(token.expiresIn == TokenResponse.maximumLifetime)
    }

    @Test func microsoftErrorIsExplained() {
        let body =
            #"{"error":"invalid_grant","error_description":"AADSTS700082: The refresh token has expired due to inactivity.\r\nTrace ID: 1\r\nCorrelation ID: 2","error_codes":[700082],"timestamp":"2026-11-22 10:00:00Z"}"#
        #expect {
            try OAuthClient.read(response(400, body))
        } throws: { error in
            let e = error as! OAuthError
            return e.code == "invalid_grant" && e.errorCodes == [700082] && !e.isTransient
                && e.message.contains("90 days of inactivity") && e.providerDescription?.contains("Trace ID") == false
        }
    }

    @Test func aadstsCodeFoundInTheDescriptionAlone() {
        #expect(ProviderErrors.aadstsCode(in: "AADSTS50076: Due to a configuration change") == 50076)
    }

    @Test func htmlErrorPageIsTransientAndNeverEchoed() {
        let html = "<html><body>502 Bad Gateway secret-looking-text</body></html>"
        #expect {
            try OAuthClient.read(response(502, html, contentType: "text/html", headers: [("Retry-After", "7")]))
        } throws: { error in
            let e = error as! OAuthError
            return e.isTransient && e.retryAfter == 7 && e.message.contains("HTML page")
                && !e.description.contains("secret-looking")
        }
    }

    @Test func emptyAndBrokenBodies() {
        #expect { try OAuthClient.read(response(200, "")) } throws: { ($0 as! OAuthError).message.contains("empty") }
        #expect { try OAuthClient.read(response(200, #"{"access_token": "#)) } throws: {
            ($0 as! OAuthError).message.contains("not JSON")
        }
        #expect { try OAuthClient.read(response(429, "")) } throws: { ($0 as! OAuthError).isTransient }
    }

    @Test func discoveryDocumentNeedsATokenEndpoint() throws {
        #expect(throws: OAuthError.self) {
            try ProviderMetadata(discoveryDocument: try JSONValue.parse(#"{"issuer":"x"}"#))
        }
        let microsoft = ProviderMetadata.microsoft(tenant: "organizations")
        #expect(
            microsoft.deviceAuthorizationEndpoint
                == "https://login.microsoftonline.com/organizations/oauth2/v2.0/devicecode")
        #expect(microsoft.tokenEndpoint == "https://login.microsoftonline.com/organizations/oauth2/v2.0/token")
    }

    @Test func providerTextIsPrintableAndShort() throws {
        let body =
            #"{"error":"invalid_grant","error_description":"AADSTS70000: bad \u001b[31mred\u001b[0m grant\r\nTrace ID: 1"}"#
        #expect {
            try OAuthClient.read(HTTPResponse(status: 400, headers: [], body: Array(body.utf8)))
        } throws: { error in
            let text = (error as! OAuthError).providerDescription ?? ""
            return text == "AADSTS70000: bad [31mred[0m grant" && !text.unicodeScalars.contains { $0.value < 0x20 }
        }
    }
}
