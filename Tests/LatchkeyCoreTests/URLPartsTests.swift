import LatchkeyCore
import PropertyBased
import Testing

/// The one URL reader: each shape of authority, the hostile ones of issue 14, and properties
/// over generated and mutated URLs (never a trap; a host is ASCII; a port is 1-65535).
@Suite struct URLPartsTests {
    @Test func hostsPortsAndLoopback() {
        #expect(URLParts("https://[::1]:8443/x")?.host == "::1")
        #expect(URLParts("https://[::1]:8443/x")?.port == 8443)
        #expect(URLParts("https://[::1]/")?.isLoopback == true)
        #expect(URLParts("https://[2001:DB8::1]/")?.host == "2001:db8::1")
        #expect(URLParts("https://[::ffff:127.0.0.1]:1/")?.host == "::ffff:127.0.0.1")
        #expect(URLParts("http://127.0.0.1/x")?.isLoopback == true)
        #expect(URLParts("HTTPS://Mail.Example.COM")?.host == "mail.example.com")
        #expect(URLParts("HTTPS://Mail.Example.COM")?.scheme == "https")
        #expect(URLParts("https://mail.example.com")?.isLoopback == false)
        #expect(URLParts("https://mail.example.com:/")?.port == nil)
        #expect(URLParts("https://mail.example.com:65535/")?.port == 65535)
        #expect(URLParts("https://mail.example.com?x=1")?.host == "mail.example.com")
        #expect(URLParts("https://mail.example.com#f")?.host == "mail.example.com")
        #expect(URLParts("http://localhost:8080/")?.isLoopback == true)
        // Names that only look like loopback do not count.
        #expect(URLParts("http://127.0.0.1.evil.com/")?.isLoopback == false)
        #expect(URLParts("http://127.example.net/")?.isLoopback == false)
        #expect(URLParts("http://127.0.0.1:8080@evil.com/")?.isLoopback == false)
        #expect(URLParts("http://[::1]@evil.com/")?.isLoopback == false)
        #expect(URLParts("http://evil.com\\@127.0.0.1/") == nil)
        #expect(URLParts("http://127.1.2.3/")?.isLoopback == true)
        #expect(URLParts("http://127.0.0.256/")?.isLoopback == false)
        #expect(URLParts("http://127.0.0.0001/")?.isLoopback == false)
    }

    @Test func userinfoIsKeptApartFromTheHost() throws {
        let parts = try URLParts(parsing: "https://alice:p%40ss@mail.example.com:8443/ews")
        #expect(parts.userinfo == "alice:p%40ss")
        #expect(parts.host == "mail.example.com" && parts.port == 8443)
        #expect(URLParts("https://@mail.example.com/")?.userinfo == "")
        #expect(URLParts("https://mail.example.com/")?.userinfo == nil)
    }

    /// Issue 14 item 1: an Arabic-Indic digit reached `Int(part)!` and killed the daemon.
    @Test(arguments: [
        ("http://127.0.0.\u{663}/", "ASCII"),
        ("http://\u{663}27.0.0.1/", "ASCII"),
        ("http://127.0.0.%D9%A3/", "percent"),
        ("http://127.0.0.%31/", "percent"),
        ("http://127.0.0.1:99999/", "port"),
        ("http://127.0.0.1:0/", "port"),
        ("http://127.0.0.1:-80/", "port"),
        ("http://127.0.0.1:+80/", "port"),
        ("http://127.0.0.1: 80/", "port"),
        ("http://127.0.0.1:\u{663}/", "port"),
        ("http://127.0.0.1:99999999999999999999999/", "port"),
        ("http://[::1/", "closing bracket"),
        ("http://[::1]x/", "follows"),
        ("http://[127.0.0.1]/", "IPv6"),
        ("http://[fe80::1%25eth0]/", "IPv6"),
        ("http://[::\u{663}]/", "IPv6"),
        ("http://a]b/", "bracket"),
        ("http:///x", "no host"),
        ("http://:80/", "no host"),
        ("mail.example.com", "scheme"),
        ("1http://x/", "scheme"),
        ("http://a b/", "cannot have"),
    ])
    func hostileShapesAreRefusedWithTheirReason(url: String, words: String) {
        #expect(URLParts(url) == nil)
        #expect { try URLParts(parsing: url) } throws: { ($0 as? URLProblem)?.reason.contains(words) == true }
    }

    // MARK: Properties

    static let hostCharacters = Array("abcdefghijklmnopqrstuvwxyz0123456789-._")
    static let hostileCharacters: [Character] =
        Array(":@[]/?#%\\+- .0123456789abcfAF") + ["\u{663}", "é", "١", "\u{FF11}"]

    static var host: Generator<String, some SendableSequenceType> {
        Gen<Character?>.element(of: hostCharacters).map { $0! }.string(of: 1...20)
    }

    @Test func aWellFormedURLReadsBack() async {
        await propertyCheck(count: 500, input: Self.host, Gen.int(in: 1...65535), Gen.bool) { host, port, withPort in
            let url = "https://" + host + (withPort ? ":\(port)" : "") + "/path?q=1"
            let parts = URLParts(url)
            #expect(parts?.host == host)
            #expect(parts?.port == (withPort ? port : nil))
        }
    }

    @Test func anyTextReadsWithoutTrappingAndOnlyToASCII() async {
        let text = Gen<Character?>.element(of: Self.hostileCharacters).map { $0! }.string(of: 0...40)
        await propertyCheck(count: 2000, input: text) { authority in
            guard let parts = URLParts("http://" + authority + "/") else { return }
            #expect(parts.host.utf8.allSatisfy { $0 < 0x80 && $0 != UInt8(ascii: "%") })
            #expect(parts.port.map { (1...65535).contains($0) } ?? true)
            _ = parts.isLoopback
        }
    }

    /// Mutations of a loopback URL: one character replaced, inserted or removed. Whatever
    /// reads as loopback still has a host of exactly localhost, ::1 or 127.x.y.z in ASCII.
    @Test func mutatedLoopbackURLsNeverReadAsAnotherHost() async {
        let base = Array("http://127.0.0.1:8080/")
        let mutation = zip(
            Gen.int(in: 0...(base.count - 1)), Gen<Character?>.element(of: Self.hostileCharacters).map { $0! },
            Gen.int(in: 0...2))
        await propertyCheck(count: 2000, input: mutation) { position, character, kind in
            var chars = base
            switch kind {
            case 0: chars[position] = character
            case 1: chars.insert(character, at: position)
            default: chars.remove(at: position)
            }
            guard let parts = URLParts(String(chars)), parts.isLoopback else { return }
            let octets = parts.host.split(separator: ".")
            #expect(parts.host == "localhost" || parts.host == "::1" || (octets.count == 4 && octets[0] == "127"))
            #expect(parts.host.utf8.allSatisfy { $0 < 0x80 })
        }
    }
}
