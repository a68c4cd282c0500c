import LatchkeyCore
import Testing

@testable import LatchkeyHTTP

/// `diagnose --trace` shows exchanges, never their secrets.
@Suite struct HTTPTraceTests {
    @Test func headersFormsJSONAndQueriesLoseTheirSecrets() {
        #expect(HTTPTrace.redactHeader("Authorization", "Bearer eyJabc.def.ghi") == "Bearer [redacted]")
        #expect(
            HTTPTrace.redactHeader("authorization", "Negotiate YIIGhgYGKwYBBQUCoIIGejCCBnag") == "Negotiate [redacted]")
        #expect(HTTPTrace.redactHeader("Set-Cookie", "session=s3cr3t; HttpOnly") == "[redacted]")
        #expect(HTTPTrace.redactHeader("Content-Type", "application/json") == "application/json")
        let form = HTTPTrace.redactBody(
            Array("grant_type=refresh_token&refresh_token=r3fr3sh&client_id=app&code_verifier=v3r".utf8))
        #expect(form == "grant_type=refresh_token&refresh_token=[redacted]&client_id=app&code_verifier=[redacted]")
        let json = HTTPTrace.redactBody(
            Array(
                #"{"access_token":"a.b.c","expires_in":3600,"nested":{"id_token":"x"},"list":[{"refresh_token":"y"}]}"#
                    .utf8))
        #expect(!json.contains("a.b.c") && !json.contains("\"x\"") && !json.contains("\"y\"") && json.contains("3600"))
        #expect(
            HTTPTrace.redactURL("https://h/authorize?client_id=app&state=s1&code=c2")
                == "https://h/authorize?client_id=app&state=[redacted]&code=[redacted]")
        #expect(HTTPTrace.redactBody(Array("<html>password=hunter2</html>".utf8)).contains("not shown"))
    }

    /// JSON the reader refuses (issue 14: a member twice, a leading zero) is never read as a form.
    @Test(arguments: [
        #"{"access_token":"t0k=","access_token":"b"}"#, #" {"access_token":"t0k=","expires_in":0360}"#,
        #"[{"access_token":"t0k="#,
    ])
    func refusedJSONIsNotShown(_ body: String) {
        let shown = HTTPTrace.redactBody(Array(body.utf8))
        #expect(!shown.contains("t0k") && shown.contains("not shown"))
    }

    @Test func aRecordedExchangeReachesTheSinkRedacted() {
        let seen = Box()
        HTTPTrace.setSink { seen.append($0) }
        defer { HTTPTrace.setSink(nil) }
        let request = HTTPRequest(
            method: "POST", url: "https://id/token", headers: [("Authorization", "Basic dXNlcjpwYXNz")],
            body: Secret(Array("password=hunter2&username=alice".utf8)))
        HTTPTrace.record(
            request, .success(HTTPResponse(status: 200, headers: [], body: Array(#"{"access_token":"T0K3N"}"#.utf8))))
        let text = seen.text
        #expect(text.contains("> POST https://id/token") && text.contains("username=alice") && text.contains("< 200"))
        #expect(!text.contains("hunter2") && !text.contains("dXNlcjpwYXNz") && !text.contains("T0K3N"))
    }
}

final class Box: @unchecked Sendable {
    private var parts: [String] = []
    func append(_ s: String) { parts.append(s) }
    var text: String { parts.joined(separator: "\n") }
}
