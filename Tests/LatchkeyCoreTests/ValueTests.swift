import LatchkeyCore
import Testing

@Suite struct SecretTests {
    @Test func neverPrints() {
        let secret = Secret("eyJ-very-secret")
        #expect("\(secret)" == "<redacted>")
        #expect(String(describing: secret) == "<redacted>")
        #expect(String(reflecting: secret) == "<redacted>")
        var dumped = ""
        dump(secret, to: &dumped)
        #expect(!dumped.contains("very-secret"))
        #expect(secret.reveal() == "eyJ-very-secret")
    }
}

@Suite struct JSONTests {
    @Test func roundTripsEscapesAndUnicode() throws {
        let text = #"{"a":"x\"y\\z\n\u00e9\ud83d\ude00","b":[1,2.5,true,false,null],"c":{}}"#
        let value = try JSONValue.parse(text)
        #expect(value["a"]?.stringValue == "x\"y\\z\né😀")
        #expect(try JSONValue.parse(value.encoded) == value)
    }

    @Test func numbersFromStringsAsMicrosoftSendsThem() throws {
        let value = try JSONValue.parse(#"{"expires_in":"3599","interval":5}"#)
        #expect(value["expires_in"]?.intValue == 3599)
        #expect(value["interval"]?.intValue == 5)
    }

    @Test(arguments: ["", "{", "{\"a\":}", "[1,]", "nul", "{\"a\":1}x", "\"\u{01}\"", "<html>"])
    func refusesBrokenInputWithoutEchoingIt(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
    }

    @Test func refusesDeepNesting() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(deep) }
    }
}

@Suite struct Base64Tests {
    @Test func rfc4648Vectors() {
        let vectors = [
            "": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=",
            "foobar": "Zm9vYmFy",
        ]
        for (plain, encoded) in vectors {
            #expect(Base64.encode(Array(plain.utf8)) == encoded)
            #expect(Base64.decode(encoded) == Array(plain.utf8))
        }
        #expect(Base64.encodeURL([0xFB, 0xFF]) == "-_8")
    }
}

@Suite struct TimestampTests {
    @Test func rfc3339() {
        #expect(Timestamp(secondsSinceEpoch: 0).description == "1970-01-01T00:00:00Z")
        #expect(Timestamp(secondsSinceEpoch: 1_795_359_757).description == "2026-11-22T15:02:37Z")
    }
}

@Suite struct ErrorCodeTests {
    @Test func exitStatusesFollowSysexits() {
        #expect(ErrorCode.unknownAccount.exitStatus == 78)
        #expect(ErrorCode.signinRequired.exitStatus == 77)
        #expect(ErrorCode.forbidden.exitStatus == 77)
        #expect(ErrorCode.providerUnavailable.exitStatus == 75)
        #expect(ErrorCode.badRequest.exitStatus == 64)
    }

    @Test func envelopeRoundTrips() {
        let error = LatchkeyError(.providerUnavailable, "down", hint: "later", retryAfter: 30)
        #expect(LatchkeyError(json: error.json) == error)
    }
}
