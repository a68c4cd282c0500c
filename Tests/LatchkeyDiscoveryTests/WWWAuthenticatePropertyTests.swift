import LatchkeyDiscovery
import PropertyBased
import Testing

// Generators for challenges that `headerValue` can write: scheme and parameter names are tokens (names in lower
// case, as the parser reports them), values are arbitrary printable text, and a challenge carries either a
// token68 or parameters.
private enum ChallengeGen {
    static let tokenCharacters = Array(
        "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    )
    static let nameCharacters = Array("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz")
    static let token68Characters = Array(
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-._~+/"
    )
    // Printable ASCII (so commas, quotes, backslashes, '=' and spaces) and a little beyond it.
    static let valueCharacters =
        (0x20...0x7E).map { Character(UnicodeScalar(UInt8($0))) } + ["é", "ß", "→", "日"]

    static func string(
        from characters: [Character],
        of count: ClosedRange<Int>
    )
        -> Generator<String, some SendableSequenceType>
    {
        Gen<Character?>.element(of: characters).map { $0! }.string(of: count)
    }

    static var scheme: Generator<String, some SendableSequenceType> {
        string(from: tokenCharacters, of: 1...12)
    }
    static var name: Generator<String, some SendableSequenceType> {
        string(from: nameCharacters, of: 1...12)
    }
    static var value: Generator<String, some SendableSequenceType> {
        string(from: valueCharacters, of: 0...24)
    }
    static var token68: Generator<String, some SendableSequenceType> {
        zip(string(from: token68Characters, of: 1...40), Gen.int(in: 0...2))
            .map { $0 + String(repeating: "=", count: $1) }
    }

    static var challenge: Generator<AuthChallenge, some SendableSequenceType> {
        zip(scheme, Gen.bool, token68, zip(name, value).array(of: 0...5))
            .map { scheme, usesToken68, token68, parameters in
                usesToken68
                    ? AuthChallenge(scheme: scheme, token68: token68, parameters: [])
                    : AuthChallenge(
                        scheme: scheme,
                        token68: nil,
                        parameters: parameters.map { (name: $0.0, value: $0.1) }
                    )
            }
    }

    // Text that leans on every character the grammar gives a meaning to.
    static var hostileText: Generator<String, some SendableSequenceType> {
        string(from: Array(#"Basic Negotiate realm=,,"\ \"x"= \#t;/é"#), of: 0...120)
    }
}

@Suite("WWW-Authenticate round trips")
struct WWWAuthenticatePropertyTests {
    @Test func oneChallengeParsesBack() async {
        await propertyCheck(count: 500, input: ChallengeGen.challenge) { challenge in
            #expect(WWWAuthenticate.parse([challenge.headerValue]) == [challenge])
        }
    }

    @Test func twoChallengesInOneFieldParseBack() async {
        await propertyCheck(count: 500, input: ChallengeGen.challenge, ChallengeGen.challenge) {
            first,
            second in
            #expect(
                WWWAuthenticate.parse([first.headerValue + ", " + second.headerValue]) == [first, second]
            )
        }
    }

    @Test func challengesInSeparateFieldsParseBack() async {
        await propertyCheck(input: ChallengeGen.challenge.array(of: 0...4)) { challenges in
            #expect(WWWAuthenticate.parse(challenges.map(\.headerValue)) == challenges)
        }
    }

    @Test func whateverParsesIsWrittenBackFaithfully() async {
        await propertyCheck(count: 500, input: ChallengeGen.hostileText) { text in
            let parsed = WWWAuthenticate.parse([text])
            #expect(WWWAuthenticate.parse([parsed.map(\.headerValue).joined(separator: ", ")]) == parsed)
        }
    }
}
