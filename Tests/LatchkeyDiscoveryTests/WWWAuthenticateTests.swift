import LatchkeyDiscovery
import Testing

@Suite("WWW-Authenticate parsing")
struct WWWAuthenticateTests {
    @Test(arguments: realWorldHeaders)
    func parsesRealWorldHeaders(_ header: HeaderCase) {
        let parsed = WWWAuthenticate.parse(header.fields)
        #expect(parsed == header.challenges)
        #expect(parsed.map(\.offeredMethod) == header.methods)
    }

    @Test(arguments: realWorldHeaders)
    func canonicalTextParsesBack(_ header: HeaderCase) {
        let parsed = WWWAuthenticate.parse(header.fields)
        #expect(WWWAuthenticate.parse(parsed.map(\.headerValue)) == parsed)
    }

    /// Found by the fuzz target `www-authenticate`: a megabyte of `a,` made half a million
    /// challenges (and `a b=c, b=c, …` as many parameters), each allocated. A real field has a
    /// handful: what lies beyond the limits is skipped, not kept.
    @Test func challengesAndParametersAreBounded() {
        let many = WWWAuthenticate.parse([String(repeating: "a,", count: 100_000), "Bearer realm=\"x\""])
        #expect(many.count == WWWAuthenticate.maximumChallenges)
        let params = WWWAuthenticate.parse(["Bearer " + String(repeating: "b=c, ", count: 100_000)])
        #expect(params.count == 1)
        #expect(params.first?.parameters.count == WWWAuthenticate.maximumParameters)
        let ordinary = WWWAuthenticate.parse(["Negotiate, NTLM", "Bearer realm=\"x\", error=\"invalid_token\""])
        #expect(ordinary.map(\.scheme) == ["Negotiate", "NTLM", "Bearer"])
    }

    @Test func headerValueQuotesOnlyWhenNeeded() {
        let built = challenge(
            "Bearer",
            ["Realm": "", "error": "invalid_token", "title": #"say "hi" \ bye, now"#]
        )
        #expect(
            built.headerValue == #"Bearer realm="", error=invalid_token, title="say \"hi\" \\ bye, now""#
        )
        #expect(challenge("Negotiate", token68: "YII=").headerValue == "Negotiate YII=")
        #expect(challenge("NTLM").headerValue == "NTLM")
    }

    @Test func parameterLookupIsCaseInsensitiveAndKeepsTheFirst() throws {
        let parsed = try #require(WWWAuthenticate.parse([#"Basic REALM=a, realm="b""#]).first)
        #expect(parsed.parameter("Realm") == "a")
        #expect(parsed.parameters.map(\.name) == ["realm", "realm"])
        #expect(parsed.parameter("charset") == nil)
    }

    @Test func schemePredicatesIgnoreCase() {
        #expect(challenge("bEaReR").isBearer)
        #expect(challenge("NEGOTIATE").isNegotiate)
        #expect(challenge("basic").isBasic)
        #expect(challenge("ntlm").isNTLM)
        #expect(!challenge("Bearerx").isBearer)
        #expect(challenge("Basic") == challenge("BASIC"))
    }

    @Test func hostileInputIsLinearAndNeverCrashes() {
        // 64 KiB of deterministic garbage drawn from the characters the grammar cares about.
        let alphabet: [Character] = [
            "\"", "\"", "\\", "\\", ",", ",", "=", "=", " ", "\t", "a", "/", "Z", "9", "é",
        ]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var garbage: [Character] = []
        while garbage.count < 64 * 1024 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            garbage.append(alphabet[Int(state >> 33) % alphabet.count])
        }
        let inputs = [
            String(garbage),
            String(repeating: #"a="x,"#, count: 13_000),
            String(repeating: #""\"#, count: 32_000),
            String(repeating: "Negotiate ", count: 6_500),
            String(repeating: "=", count: 65_536),
        ]
        let clock = ContinuousClock()
        for input in inputs {
            let elapsed = clock.measure { _ = WWWAuthenticate.parse([input]) }
            #expect(elapsed < .seconds(1), "took \(elapsed) for \(input.prefix(16))…")
        }
    }
}
