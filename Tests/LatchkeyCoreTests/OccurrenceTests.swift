import LatchkeyCore
import Testing

/// Occurrence.swift answers as the _StringProcessing searches it replaces (this test module may
/// use them: only the daemon's modules must not).
@Suite struct OccurrenceTests {
    /// Every string of up to 5 letters over "ab\u{301}c", every pattern of up to 3.
    static let texts = strings(upTo: 5)
    static let patterns = strings(upTo: 3)

    static func strings(upTo length: Int) -> [String] {
        var all = [""]
        var last = [""]
        for _ in 0..<length {
            last = last.flatMap { prefix in ["a", "b", "\u{301}", "c"].map { prefix + $0 } }
            all += last
        }
        return all
    }

    /// _StringProcessing's `contains`: in a generic context Foundation's (for strings, which
    /// this module sees through PropertyBased) cannot be chosen.
    static func regexModuleContains<C: Collection>(_ text: C, _ pattern: some Collection<C.Element>) -> Bool
    where C.Element: Equatable {
        text.contains(pattern)
    }

    @Test func findsWhatTheRegexModuleFinds() {
        for text in Self.texts {
            for pattern in Self.patterns {
                #expect(text.includes(pattern) == Self.regexModuleContains(text, pattern), "\(text) / \(pattern)")
                #expect(text.firstOccurrence(of: pattern) == text.firstRange(of: pattern), "\(text) / \(pattern)")
                #expect(
                    Array(text.utf8).firstOccurrence(of: pattern.utf8) == Array(text.utf8).firstRange(of: pattern.utf8))
                if !pattern.isEmpty {
                    #expect(
                        text.replacingEvery(pattern, with: "<\(pattern)>")
                            == text.replacing(pattern, with: "<\(pattern)>"))
                }
            }
        }
    }

    @Test func comparesCharactersNotBytes() {
        #expect(!"cafe\u{301}".includes("cafe"))
        #expect("cafe\u{301}!".includes("e\u{301}!"))
        #expect("it's".replacingEvery("'", with: "'\\''") == "it'\\''s")
        #expect("x".replacingEvery("", with: "y") == "x")
    }
}
