import Testing

@testable import LatchkeyDiscovery

/// Issue 14 items 4 and 8: Autodiscover answers are read as XML 1.0 defines, in linear time,
/// and ActiveSync comes only from the mobilesync answer.
@Suite struct AutodiscoverXMLTests {
    static let base = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"

    static func mobileSync(value: String) -> String {
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><Autodiscover xmlns=\"\(base)\"><Response xmlns=\""
            + Autodiscover.mobileSyncResponseSchema + "\"><Action><Settings><Server><Type>MobileSync</Type><Url>"
            + value + "</Url></Server></Settings></Action></Response></Autodiscover>"
    }

    static func outlook(protocols: String) -> String {
        "<Autodiscover xmlns=\"\(base)\"><Response xmlns=\"\(Autodiscover.outlookResponseSchema)\"><Account>"
            + "<AccountType>email</AccountType><Action>settings</Action>\(protocols)</Account></Response>"
            + "</Autodiscover>"
    }

    static func read(_ text: String) throws(AutodiscoverXMLError) -> POXAnswer {
        try Autodiscover.readPOX(Array(text.utf8))
    }

    static func failure(_ bytes: [UInt8]) -> AutodiscoverXMLError? {
        do {
            _ = try Autodiscover.readPOX(bytes)
            return nil
        } catch {
            return error
        }
    }

    // MARK: item 8, what the answer means

    @Test func anAnswerWhoseOnlyURLIsASUrlIsNotActiveSync() throws {
        let answer = try Self.read(
            Self.outlook(
                protocols: "<Protocol><Type>EXCH</Type>"
                    + "<ASUrl>https://mail.contoso.example/ews/exchange.asmx</ASUrl></Protocol>"))
        #expect(
            answer
                == .error(
                    "the outlook answer has no EwsUrl in an EXCH or EXPR Protocol "
                        + "(its ASUrl is the Availability service, not ActiveSync)"))
    }

    @Test func theOutlookAnswerGivesEWSFromEwsUrlOfAnEXCHOrEXPRProtocol() throws {
        let both =
            "<Protocol><Type>WEB</Type><EwsUrl>https://web/ews</EwsUrl></Protocol><Protocol><Type>EXPR</Type>"
            + "<ASUrl>https://mail/ews/exchange.asmx</ASUrl><EwsUrl>https://mail/EWS/Exchange.asmx</EwsUrl></Protocol>"
        #expect(
            try Self.read(Self.outlook(protocols: both))
                == .settings(service: .ews, url: "https://mail/EWS/Exchange.asmx"))
    }

    @Test func theMobileSyncAnswerGivesActiveSyncFromTheMobileSyncServerOnly() throws {
        #expect(
            try Self.read(Self.mobileSync(value: "https://m/Microsoft-Server-ActiveSync"))
                == .settings(service: .activeSync, url: "https://m/Microsoft-Server-ActiveSync"))
        let certOnly = Self.mobileSync(value: "x").replacingOccurrences("MobileSync</Type>", "CertEnroll</Type>")
        #expect(try Self.read(certOnly) == .error("the mobilesync answer names no MobileSync server"))
    }

    @Test func prefixesAreResolvedToTheirNamespaces() throws {
        let prefixed =
            "<a:Autodiscover xmlns:a=\"\(Self.base)\"><m:Response xmlns:m=\"\(Autodiscover.mobileSyncResponseSchema)\">"
            + "<m:Action><m:Settings><m:Server><m:Type>MobileSync</m:Type><m:Url>https://p/as</m:Url></m:Server>"
            + "</m:Settings>"
            + "</m:Action></m:Response></a:Autodiscover>"
        #expect(try Self.read(prefixed) == .settings(service: .activeSync, url: "https://p/as"))
        // An outlook-namespace Response is read by the outlook rules even when shaped like mobilesync.
        let disguised = Self.mobileSync(value: "https://x/as")
            .replacingOccurrences(Autodiscover.mobileSyncResponseSchema, Autodiscover.outlookResponseSchema)
        #expect(try Self.read(disguised) == .error("the outlook answer has no Account"))
        #expect(
            Self.failure(Array("<p:Autodiscover><p:Response/></p:Autodiscover>".utf8))?.message
                == "the namespace prefix of <p:Autodiscover> is not declared")
        #expect(
            Self.failure(Array("<Autodiscover xmlns=\"urn:other\"><Response/></Autodiscover>".utf8))?.kind
                == .notAutodiscover)
    }

    // MARK: item 4, XML as XML 1.0 defines it

    @Test(arguments: [
        ("<![CDATA[https://m/a?x=1&y=<2>]]>", "https://m/a?x=1&y=<2>"),
        ("https://m/<!-- a comment <Url>evil</Url> -->as", "https://m/as"),
        ("https://m/<?pi data?>as", "https://m/as"),
        ("&#x68;&#116;tps://m/&amp;&lt;&gt;&quot;&apos;", "https://m/&<>\"'"),
        ("https://m/&#xE9;&#233;&#x1F600;&#x0041;&#0000066;", "https://m/éé😀AB"),
        ("  \n https://m/as\t\r\n", "https://m/as"),
    ])
    func valuesComeBackWithoutMarkup(value: String, expected: String) throws {
        #expect(try Self.read(Self.mobileSync(value: value)) == .settings(service: .activeSync, url: expected))
    }

    @Test(arguments: [
        ("&#0;", "the reference &#0; names a character XML does not allow", 1),
        ("&#xD800;", "the reference &#xD800; names a character XML does not allow", 1),
        ("&#x110000;", "the reference &#x110000; names a character XML does not allow", 1),
        ("&#X41;", "the reference &#X41; is not one XML defines (&amp; &lt; &gt; &quot; &apos; or &#…;)", 1),
        ("&#99999999999999;", "the reference &#99999999999999; names a character XML does not allow", 1),
        ("&#x;", "the reference &#x; is not one XML defines (&amp; &lt; &gt; &quot; &apos; or &#…;)", 1),
        ("&#١٢;", "the reference &#????; is not one XML defines (&amp; &lt; &gt; &quot; &apos; or &#…;)", 1),
        ("&nbsp;", "the reference &nbsp; is not one XML defines (&amp; &lt; &gt; &quot; &apos; or &#…;)", 1),
        ("a & b", "'&' does not start a reference ending in ';' (write &amp; for '&')", 1),
        ("<!-- a -- b -->", "a comment holds '--', which XML allows only in its closing '-->'", 1),
        ("a ]]> b", "text holds ']]>', which XML allows only to close a CDATA section", 1),
        ("<b></c>", "the closing tag </c> does not match <b>", 1),
    ])
    func malformedValuesAreRefusedWithWhereTheyAre(value: String, message: String, line: Int) throws {
        let error = try #require(Self.failure(Array(Self.mobileSync(value: value).utf8)))
        #expect(error.kind == .malformed && error.message == message && error.line == line && error.column > 200)
    }

    @Test(arguments: [
        ("", "the answer has no root element"),
        ("<Autodiscover>", "the answer ends inside <Autodiscover>"),
        ("<Autodiscover/><Autodiscover/>", "a second root element <Autodiscover>"),
        ("<Autodiscover/>x", "text stands outside the root element"),
        ("\n\n<Autodiscover><!-- never", "a comment never ends"),
        (
            "<Autodiscover><![CDATA[<![CDATA[x]]>]]></Autodiscover>",
            "text holds ']]>', which XML allows only to close a CDATA section"
        ),
        ("<Autodiscover><![CDATA[x", "a CDATA section never ends"),
        ("<?xml version=\"1.0\"?><Autodiscover><?pi", "a processing instruction never ends"),
        (" <?xml version=\"1.0\"?><Autodiscover/>", "an XML declaration stands after the start of the answer"),
        ("<Autodiscover a='1' a='2'/>", "<Autodiscover> has the attribute a twice"),
    ])
    func malformedDocumentsAreRefused(document: String, message: String) {
        #expect(Self.failure(Array(document.utf8))?.message == message)
    }

    @Test func aDoctypeIsRefusedAndNeverExpanded() throws {
        let laughs =
            "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">]>"
            + "<Autodiscover xmlns=\"\(Self.base)\"><Response><Error><Message>&lol2;</Message></Error></Response>"
            + "</Autodiscover>"
        let error = try #require(Self.failure(Array(laughs.utf8)))
        #expect(error.kind == .doctype && error.line == 1 && error.column == 22)
        #expect(error.description.contains("Latchkey reads no DTD (line 1, column 22)"))
    }

    @Test func anAnswersOwnErrorMessageIsClipped() throws {
        let long = String(repeating: "x", count: 5000)
        let answer = try Self.read(
            "<Autodiscover xmlns=\"\(Self.base)\"><Response><Error><Message>\(long)</Message></Error></Response>"
                + "</Autodiscover>"
        )
        #expect(answer == .error(String(repeating: "x", count: 200) + "…"))
    }

    @Test func answerTextInMessagesIsShortAndPrintable() throws {
        let longName = "<Autodiscover><" + String(repeating: "n", count: 100_000)
        #expect(
            Self.failure(Array(longName.utf8))?.message == "the tag <" + String(repeating: "n", count: 40)
                + "…> never ends")
        // ESC is no XML character (refused above); the C1 controls CSI and NEL are, and are not echoed.
        let escape =
            "<Autodiscover xmlns=\"\(Self.base)\"><Response><Error><Message>a\u{9B}2Jb&#x85;c é</Message></Error>"
            + "</Response></Autodiscover>"
        #expect(try Self.read(escape) == .error("a?2Jb?c é"))
        #expect(Self.failure(Array("<x\u{9B}y/>".utf8))?.message == "the root element is <x??y>, not Autodiscover's")
    }

    @Test func depthAndElementCountAreBounded() {
        let deep = String(repeating: "<a>", count: 40) + String(repeating: "</a>", count: 40)
        #expect(Self.failure(Array(deep.utf8))?.message == "elements are nested more than 32 deep")
        let wide = "<a>" + String(repeating: "<b/>", count: 20_000) + "</a>"
        #expect(Self.failure(Array(wide.utf8))?.kind == .tooComplex)
        let large = [UInt8](repeating: 0x20, count: Autodiscover.maximumAnswerBytes + 1)
        #expect(Self.failure(large)?.kind == .tooLarge)
    }

    // MARK: encodings

    static func utf16(_ text: String, bigEndian: Bool, bom: Bool) -> [UInt8] {
        var out: [UInt8] = bom ? (bigEndian ? [0xFE, 0xFF] : [0xFF, 0xFE]) : []
        for unit in text.utf16 {
            let pair = [UInt8(unit >> 8), UInt8(unit & 0xFF)]
            out += bigEndian ? pair : pair.reversed()
        }
        return out
    }

    @Test(arguments: [true, false])
    func utf16AnswersAreDecodedWithOrWithoutABOM(bigEndian: Bool) throws {
        let document = Self.mobileSync(value: "https://m/é😀").replacingOccurrences("utf-8", "UTF-16")
        let expected = POXAnswer.settings(service: .activeSync, url: "https://m/é😀")
        #expect(try Autodiscover.readPOX(Self.utf16(document, bigEndian: bigEndian, bom: true)) == expected)
        #expect(try Autodiscover.readPOX(Self.utf16(document, bigEndian: bigEndian, bom: false)) == expected)
        // Declared UTF-8 but sent as UTF-16: refused, not guessed.
        let mismatched = Self.utf16(Self.mobileSync(value: "x"), bigEndian: bigEndian, bom: true)
        #expect(Self.failure(mismatched)?.message == "the answer is UTF-16 but declares the encoding \"utf-8\"")
        #expect(
            Self.failure(Array(Self.utf16(document, bigEndian: bigEndian, bom: true).dropLast()))?.kind == .encoding)
    }

    @Test func aUTF8BOMIsDroppedAndEncodingsMustAgree() throws {
        let document = Self.mobileSync(value: "https://m/as")
        #expect(
            try Autodiscover.readPOX([0xEF, 0xBB, 0xBF] + Array(document.utf8))
                == .settings(service: .activeSync, url: "https://m/as"))
        let latin1 = Array(Self.mobileSync(value: "https://m/~").replacingOccurrences("utf-8", "ISO-8859-1").utf8)
            .map { $0 == UInt8(ascii: "~") ? 0xE9 : $0 }
        #expect(try Autodiscover.readPOX(latin1) == .settings(service: .activeSync, url: "https://m/\u{E9}"))
        let utf16Declared = [0xEF, 0xBB, 0xBF] + Array(document.replacingOccurrences("utf-8", "utf-16").utf8)
        #expect(Self.failure(utf16Declared)?.kind == .encoding)
        #expect(
            Self.failure(Array(document.replacingOccurrences("utf-8", "shift_jis").utf8))?.message
                == "the answer's encoding \"shift_jis\" is not supported (Autodiscover answers are UTF-8 or UTF-16)")
        #expect(Self.failure(Array(document.utf8) + [0xC3, 0x28])?.message == "the answer is not valid UTF-8")
        #expect(Self.failure(Array(Self.mobileSync(value: "a\u{01}b").utf8))?.kind == .encoding)
    }
}

/// Issue 14 item 4: reading is linear in the answer's size. The reader counts its steps (one
/// per byte looked at); a hostile answer of n bytes must take at most a small multiple of n.
/// Before the fix 16 KB of `<!--` in a value took 5.9 million steps, of `<![CDATA[` 38 million.
@Suite struct AutodiscoverLinearReadingTests {
    static func answer(value: String) -> [UInt8] {
        Array(
            ("<?xml version=\"1.0\" encoding=\"utf-8\"?><Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/"
                + "autodiscover/responseschema/2006\"><Response xmlns=\"\(Autodiscover.mobileSyncResponseSchema)\">"
                + "<Action>"
                + "<Error><Status>1</Status><Message>\(value)</Message></Error></Action></Response></Autodiscover>")
                .utf8)
    }

    static let hostile: [(String, [UInt8])] = [
        ("comment openers in a value", answer(value: String(repeating: "<!--", count: 4096) + "-->")),
        ("CDATA openers in a value", answer(value: String(repeating: "<![CDATA[", count: 2048) + "]]>")),
        ("unterminated comment", answer(value: String(repeating: "<!--", count: 4096))),
        ("unterminated CDATA", answer(value: String(repeating: "<![CDATA[", count: 2048))),
        ("processing instructions", answer(value: String(repeating: "<?", count: 8192) + "?>")),
        ("open tags", answer(value: String(repeating: "<a>", count: 4096))),
        ("ampersands", answer(value: String(repeating: "&", count: 16384))),
        ("1 MiB of comment openers", Array(String(repeating: "<!--", count: 262_000).utf8)),
        ("1 MiB of CDATA openers", answer(value: String(repeating: "<![CDATA[", count: 116_000))),
        ("1 MiB CDATA value", answer(value: "<![CDATA[" + String(repeating: "<!--<![CDATA[]]", count: 69_000) + "]]>")),
        ("1 MiB of references", answer(value: String(repeating: "&#x41;&amp;", count: 95_000))),
        ("1 MiB of siblings", answer(value: String(repeating: "<!---->", count: 149_000))),
    ]

    @Test(arguments: hostile.map(\.0))
    func hostileAnswersAreReadInLinearSteps(name: String) throws {
        let bytes = try #require(Self.hostile.first { $0.0 == name }?.1)
        #expect(bytes.count <= Autodiscover.maximumAnswerBytes)
        let steps = POXAnswer.readingSteps(bytes)
        #expect(steps <= 4 * bytes.count, "\(name): \(steps) steps for \(bytes.count) bytes")
    }

    /// Seeded splices of markup openers, closers and references into real answers: whatever
    /// the reader makes of each, it stays within the same linear bound.
    @Test func splicedAnswersStayLinear() {
        let pieces = [
            "<!--", "-->", "<![CDATA[", "]]>", "<?", "?>", "&", "&#x", ";", "<", ">", "</", "<a:", "--", "\u{FEFF}",
        ]
        .map { Array($0.utf8) }
        let answers = [AutodiscoverTests.mobileSync, AutodiscoverTests.outlook].map { Array($0.utf8) }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % UInt64(bound))
        }
        for round in 0..<400 {
            var bytes = answers[round % 2]
            for _ in 0..<(1 + next(200)) {
                let piece = pieces[next(pieces.count)]
                bytes.insert(
                    contentsOf: Array(repeating: piece, count: 1 + next(50)).joined(), at: next(bytes.count + 1))
            }
            let steps = POXAnswer.readingSteps(bytes)
            #expect(steps <= 4 * bytes.count, "round \(round): \(steps) steps for \(bytes.count) bytes")
        }
    }

    @Test func aMegabyteCDATAValueIsReadWhole() throws {
        let value = String(repeating: "<!--&amp;", count: 110_000)
        let answer = try Autodiscover.readPOX(
            AutodiscoverXMLTests.mobileSync(value: "<![CDATA[" + value + "]]>").utf8.map { $0 })
        #expect(answer == .settings(service: .activeSync, url: value))
    }
}

extension String {
    fileprivate func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
