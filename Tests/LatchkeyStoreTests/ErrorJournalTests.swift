import LatchkeyCore
import LatchkeyStore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The daemon's memory of failed sign-ins (issue 19): kept across a restart, cleared by a
/// success, and never holding a secret or a control character.
@Suite struct ErrorJournalTests {
    @Test func keptAcrossARestartAndClearedBySuccess() async throws {
        try await withTemporaryFolder { folder in
            let path = folder + "/state/latchkey/errors.json"
            let journal = ErrorJournal(path: path)
            journal.record(
                "work", .signIn,
                RecordedError(
                    time: 1_700_000_000, method: "device", error: "invalid_grant", errorCodes: [53003], suberror: nil,
                    message: "Signing in failed: AADSTS53003: blocked.\r\nTrace ID: 1"))
            let again = ErrorJournal.read(path: path)
            #expect(again["work"]?[.signIn]?.errorCodes == [53003])
            #expect(again["work"]?[.signIn]?.message == "Signing in failed: AADSTS53003: blocked.")
            var info = stat()
            #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o600)
            ErrorJournal(path: path).clear("work", .signIn)
            #expect(ErrorJournal.read(path: path)["work"] == nil)
        }
    }

    @Test func tokensAndControlCharactersNeverReachTheFile() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
        let kept = RecordedError(
            time: 0, method: "refresh", error: "invalid_grant\u{1B}[31m", errorCodes: Array(0..<50),
            suberror: "bad_token",
            message: "refused \(jwt) at https://idp.example/token \u{1B}]0;x\u{07}"
                + String(repeating: "a ", count: 400))
        #expect(!kept.message.contains(jwt) && kept.message.contains("[redacted]"))
        #expect(kept.message.contains("https://idp.example/token"))
        #expect(!kept.message.unicodeScalars.contains { $0.value < 0x20 } && kept.message.count <= 301)
        #expect(kept.error?.unicodeScalars.contains { $0.value < 0x20 } == false && kept.errorCodes.count == 8)
    }

    @Test func aHostileFileIsIgnored() async throws {
        try await withTemporaryFolder { folder in
            let path = folder + "/errors.json"
            for text in ["", "{", "[]", #"{"accounts":{"w":{"sign_in":{"time":"x"}}}}"#, #"{"accounts":7}"#] {
                let fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0o600)
                _ = text.withCString { write(fd, $0, strlen($0)) }
                close(fd)
                #expect(ErrorJournal.read(path: path).isEmpty)
            }
        }
    }
}
