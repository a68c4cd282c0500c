import LatchkeyCore
import Testing

/// Percent-decoding of socket request targets and form bodies: one decoder, and what is not a
/// `%XX` escape stays as it was (found by the fuzz targets `target` and `form`).
@Suite struct RequestDecodingTests {
    @Test func escapesDecodeAndPlusIsASpaceOnlyInQueries() {
        let target = RequestTarget("/v1/accounts/wo%72k+x/header?url=https%3A%2F%2Fa.example%2F&scope=a+b")
        #expect(target.segments == ["v1", "accounts", "work+x", "header"])
        #expect(target.query.map(\.name) == ["url", "scope"])
        #expect(target.query.map(\.value) == ["https://a.example/", "a b"])
    }

    @Test(arguments: ["%zz", "%4", "%", "%A\u{e9}", "%\u{e9}A", "100%"])
    func aMalformedEscapeIsKeptWhole(_ text: String) {
        #expect(RequestTarget("/\(text)?\(text)=\(text)").segments == [text])
        #expect(RequestTarget("/?\(text)=\(text)").query.map(\.name) == [text])
        #expect(RequestTarget("/?\(text)=\(text)").query.map(\.value) == [text])
        #expect(FormEncoding.unescape(text[...]) == text)
    }

    /// `UInt8("+1", radix: 16)` is 1: a sign is not a hex digit.
    @Test(arguments: ["%+1", "%-0", "%+F", "%-f"])
    func aSignIsNotAHexDigit(_ text: String) {
        #expect(FormEncoding.unescape(text[...]) == text.replacingPlus)
        #expect(RequestTarget("/\(text)").segments == [text])
    }

    @Test func theQueryIsReadAsFormPairs() {
        let query = "a=1&&b=%41%4&c&=d&e=f=g&%2B=+"
        let pairs = FormEncoding.pairs(query[...])
        #expect(RequestTarget("/x?\(query)").query.map(\.name) == pairs.map(\.0))
        #expect(RequestTarget("/x?\(query)").query.map(\.value) == pairs.map(\.1))
    }
}

private extension String {
    /// Form decoding reads `+` as a space.
    var replacingPlus: String { String(map { $0 == "+" ? " " : $0 }) }
}
