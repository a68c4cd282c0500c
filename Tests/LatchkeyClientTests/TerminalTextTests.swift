import LatchkeyClient
import Testing

/// Text from the daemon or a provider on its way to a terminal (issue 15, attack 7); the
/// end-to-end proof with a provider's answer is in Tests/e2e/test_local_attacks.py.
@Suite struct TerminalTextTests {
    @Test(arguments: [
        ("WDJB-MJHT", "WDJB-MJHT"),
        ("AB\u{1B}]0;owned\u{07}CD", "AB^[]0;owned^GCD"),
        ("\u{1B}[2J\r\n\t\u{7F}", "^[[2J^M^J^I^?"),
        ("x\u{9B}31m", "x\\u{9b}31m"),
        ("abc\u{202E}gpj.exe", "abc\\u{202e}gpj.exe"),
        ("Grüße ✓", "Grüße ✓"),
    ])
    func controlsAreShownNotSent(text: String, shown: String) {
        #expect(TerminalText.visible(text) == shown)
    }

    @Test func aBannerKeepsItsLinesOnly() {
        #expect(TerminalText.visible("one\ntwo\u{1B}[1A", keepNewlines: true) == "one\ntwo^[[1A")
    }

    @Test(arguments: [
        ("https://login.example.com/device", true), ("HTTPS://x.example/", true),
        ("http://127.0.0.1:8123/start", true), ("http://[::1]:8123/", true), ("http://localhost:1/cb", true),
        ("http://example.com/", false), ("http://127.0.0.1.evil.example/", false),
        ("http://127.0.0.1@evil.example/", false),
        ("javascript:alert(1)", false), ("file:///etc/passwd", false), ("https://", false),
        ("https://a.example/\u{1B}[8m", false), ("https://a.example/ b", false), ("-https://x/", false),
    ])
    func onlyHttpsOrLoopbackHttpIsOpenable(url: String, openable: Bool) {
        #expect(TerminalText.isOpenable(url) == openable)
    }
}
