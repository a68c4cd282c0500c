import Testing

@testable import LatchkeyHTTP

/// libcurl hands each header line over with its "\r\n". In Swift "\r\n" is one Character,
/// equal to neither "\r" nor "\n", so trimming must use `isNewline` (a Location once kept its
/// CR and libcurl refused the redirect target as "bad/illegal format").
@Suite struct HeaderParsingTests {
    @Test func valuesLoseTheirLineEndAndOnlyTheFinalAnswerCounts() {
        let headers = Transfer.parseHeaders([
            "HTTP/1.1 100 Continue\r\n", "\r\n",
            "HTTP/1.1 302 Found\r\n", "Location: https://host/next?x=1\r\n", "Retry-After:  30 \r\n",
            "WWW-Authenticate: Bearer realm=\"a\"\r\n", "WWW-Authenticate: Basic realm=\"b\"\n", "\r\n",
        ])
        let response = HTTPResponse(status: 302, headers: headers, body: [])
        #expect(response.header("location") == "https://host/next?x=1")
        #expect(response.header("Retry-After") == "30")
        #expect(Int(response.header("Retry-After") ?? "") == 30)
        #expect(response.headers(named: "WWW-Authenticate") == ["Bearer realm=\"a\"", "Basic realm=\"b\""])
    }
}
