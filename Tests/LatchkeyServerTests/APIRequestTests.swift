import LatchkeyCore
import Testing

@testable import LatchkeyServer

/// The socket API's request line is decoded by the one percent-decoder (`FormEncoding`):
/// malformed escapes stay as they are, nothing is dropped (issue 16: a second copy here lost
/// the two bytes after a '%' that did not start an escape).
@Suite struct APIRequestTests {
    @Test func malformedEscapesStayAsTheyAre() {
        let request = APIRequest(method: "GET", target: "/v1/accounts/a%zzb/header?url=x%2y&note=100%")
        #expect(request.segments == ["v1", "accounts", "a%zzb", "header"])
        #expect(request.queryValue("url") == "x%2y")
        #expect(request.queryValue("note") == "100%")
    }

    @Test func escapesAndPlusAreDecodedWhereTheyMeanSomething() {
        let request = APIRequest(
            method: "GET", target: "/v1/accounts/my%20work/header?url=https%3A%2F%2Fa.example%2Fb+c&x=1&x=2")
        #expect(request.segments == ["v1", "accounts", "my work", "header"])
        #expect(request.queryValue("url") == "https://a.example/b c")
        #expect(request.queryValues("x") == ["1", "2"])
        // '+' is a space in a query only, not in a path segment.
        #expect(APIRequest(method: "GET", target: "/a+b").segments == ["a+b"])
    }
}
