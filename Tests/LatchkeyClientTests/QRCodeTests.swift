import LatchkeyClient
import Testing

/// The QR encoder. Its modules are compared with python-qrcode's, mask by mask, in
/// Tests/e2e/test_login_terminal.py (the block `latchkey login` draws in a pseudo-terminal);
/// here the structure that any reader relies on.
@Suite struct QRCodeTests {
    @Test(arguments: [
        ("https://127.0.0.1:4443/device?user_code=WDJB-MJHT", 4), ("x", 1), (String(repeating: "a", count: 100), 6),
        (String(repeating: "é", count: 100), 10),
    ])
    func versionsGrowWithTheText(text: String, version: Int) throws {
        let code = try #require(QRCode(text))
        #expect(code.version == version && code.size == 17 + 4 * version)
    }

    @Test func tooLongIsNil() {
        #expect(QRCode(String(repeating: "a", count: 214)) == nil)
        #expect(QRCode(String(repeating: "a", count: 213)) != nil)
    }

    @Test func findersTimingAndTheDarkModuleAreInPlace() throws {
        let code = try #require(QRCode("https://login.microsoft.com/device"))
        let n = code.size
        for (cx, cy) in [(3, 3), (n - 4, 3), (3, n - 4)] {
            #expect(code.modules[cy][cx] && code.modules[cy - 3][cx - 3] && !code.modules[cy - 2][cx])
        }
        for i in 8..<(n - 8) { #expect(code.modules[6][i] == (i % 2 == 0) && code.modules[i][6] == (i % 2 == 0)) }
        #expect(code.modules[n - 8][8])
    }

    @Test func theTerminalBlockPacksTwoRowsPerLine() throws {
        let code = try #require(QRCode("abc"))
        let lines = code.terminalLines(border: 2, ansi: false)
        #expect(lines.count == (code.size + 4 + 1) / 2)
        #expect(lines.allSatisfy { $0.count == code.size + 4 })
        #expect(lines[1].dropFirst(2).first == "█")  // rows 2–3, column 2: the finder's dark corner
    }
}
