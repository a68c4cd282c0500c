import LatchkeyCore
import PropertyBased
import Testing

/// Issue 14 item 7: provider JSON read as RFC 8259 defines it — numbers without leading zeros
/// and within a double's range, and no member given twice.
@Suite struct JSONNumberTests {
    @Test(arguments: [
        ("[012]", "leading zero"), ("[-012]", "leading zero"), ("[00]", "leading zero"), ("[01.5]", "leading zero"),
        ("[1e400]", "out of range"), ("[-1e400]", "out of range"),
        ("[1" + String(repeating: "0", count: 400) + "]", "out of range"),
        (#"{"access_token":"a","access_token":"b"}"#, "'access_token' appears twice"),
        (#"{"refresh_token":"a","x":1,"refresh_token":"b"}"#, "'refresh_token' appears twice"),
        (#"{"error":"invalid_grant","error":"server_error"}"#, "'error' appears twice"),
        (#"{"a":{"k":1,"k":2}}"#, "'k' appears twice"),
        (#"{"\u0061":1,"a":2}"#, "'a' appears twice"),
        ("[+1]", "unexpected character"), ("[.5]", "unexpected character"), ("[1.]", "bad number"),
        ("[NaN]", "unexpected"),
        ("[Infinity]", "unexpected"), ("[-]", "unexpected character"),
    ])
    func nonConformingDocumentsAreRefused(text: String, words: String) {
        #expect { try JSONValue.parse(text) } throws: { ($0 as? JSONParseError)?.reason.contains(words) == true }
    }

    @Test func aLongOrOddMemberNameIsNotEchoed() {
        let name = String(repeating: "s", count: 80)
        #expect { try JSONValue.parse(#"{"\#(name)":1,"\#(name)":2}"#) } throws: {
            ($0 as? JSONParseError)?.reason == "the member with a name of 80 bytes appears twice"
        }
    }

    @Test func conformingNumbersRead() throws {
        #expect(
            try JSONValue.parse("[0, -0, 0.5, 10, 1e3, 1E-2, -1.5e+2, 1e-400]")
                == .array([0, 0, .number(0.5), 10, 1000, .number(0.01), .number(-150), 0]))
        #expect(try JSONValue.parse("1.7976931348623157e308") == .number(.greatestFiniteMagnitude))
    }

    @Test func numbersInStringsFollowTheSameGrammar() throws {
        #expect(JSONValue.string("3599").doubleValue == 3599)
        #expect(JSONValue.string(" 3599 ").intValue == 3599)
        for text in ["inf", "nan", "-inf", "infinity", "0x10", "1e400", "0360", "+5", "٣", "", "1 2"] {
            #expect(JSONValue.string(text).doubleValue == nil, "\(text)")
            #expect(JSONValue.string(text).intValue == nil, "\(text)")
        }
        #expect(JSONValue.number(.infinity).doubleValue == nil)
        #expect(JSONValue.number(1e300).intValue == nil)
        #expect(JSONValue.number(.nan).encoded == "null")
    }

    /// Any document made of the grammar's characters parses or is refused, without trapping,
    /// and whatever parses writes back to a document that parses to the same value.
    @Test func whateverParsesRoundTrips() async {
        let alphabet = #"{}[]:,"ae-+.0123456789 E\"#.map { String($0) } + ["1e400", "012", "nan"]
        let text = Gen<String?>.element(of: alphabet).map { $0! }.array(of: 0...30).map { $0.joined() }
        await propertyCheck(count: 3000, input: text) { document in
            guard let value = try? JSONValue.parse(document) else { return }
            #expect((try? JSONValue.parse(value.encoded)) == value)
        }
    }
}
