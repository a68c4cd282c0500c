import LatchkeyClient
import LatchkeyCore
import LatchkeyOAuth
import LatchkeyStore

#if canImport(Glibc)
    import Glibc
#endif

extension Diagnosis {
    /// What the daemon saw (issue 19): the account's last failed sign-in and last failed
    /// refresh — from the running daemon, else from the journal it keeps in the state folder (a
    /// later success has removed what it superseded). A sign-in the provider refused is the cause (fail); a
    /// failure without a provider's code, and a past refresh failure, are context (warn): the
    /// checks that follow say whether it still holds.
    mutating func remembered() {
        let kept: [ErrorJournal.Kind: RecordedError]
        if let daemon = input.daemon, let answer = try? daemon.request("GET", "/v1/accounts/\(name)/errors"),
            answer.status == 200
        {
            kept = ErrorJournal.kinds(answer.json)
        } else if let path = input.errorJournal, let stored = ErrorJournal.read(path: path)[name] {
            kept = stored
        } else {
            return
        }
        if let signIn = kept[.signIn] {
            let refused = signIn.error != nil || !signIn.errorCodes.isEmpty
            add(
                Finding(
                    "last sign-in", refused ? .fail : .warn,
                    "The last sign-in (\(signIn.method) flow, \(Self.utc(signIn.time))) failed: \(Self.said(signIn)).",
                    remedy: Self.remedy(signIn, account: name), area: .signIn))
        }
        if !stopped, let refresh = kept[.refresh] {
            add(
                Finding(
                    "last refresh", .warn,
                    "The daemon's last refresh (\(Self.utc(refresh.time))) failed: \(Self.said(refresh)).",
                    remedy: Self.remedy(refresh, account: name), area: .signIn))
        }
    }

    /// The provider's answer in plain words, then its codes and text as it gave them.
    static func said(_ error: RecordedError) -> String {
        var parts: [String] = []
        if error.error != nil || !error.errorCodes.isEmpty {
            parts.append(ProviderErrors.explain(code: error.error ?? "", errorCodes: error.errorCodes))
        }
        var codes = error.errorCodes.map { "AADSTS\($0)" }
        if let code = error.error { codes.insert("error \(code)", at: 0) }
        if let suberror = error.suberror { codes.append("suberror \(suberror)") }
        if !codes.isEmpty { parts.append("(\(codes.joined(separator: ", ")))") }
        var message = Substring(error.message)
        while message.last == "." { message = message.dropLast() }
        parts.append("— the daemon said: \(message)")
        return parts.joined(separator: " ")
    }

    static func remedy(_ error: RecordedError, account: String) -> String {
        guard error.error != nil || !error.errorCodes.isEmpty else {
            return "Run `latchkey login \(account)` again; if it fails the same way, the message above says why."
        }
        return ProviderErrors.remedy(code: error.error ?? "", errorCodes: error.errorCodes, account: account)
    }

    /// "2026-12-05 08:01:02 UTC".
    static func utc(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0, seconds < 253_402_300_800 else { return "at an unknown time" }
        var time = time_t(seconds.rounded(.towardZero))
        var parts = tm()
        guard gmtime_r(&time, &parts) != nil else { return "at an unknown time" }
        var buffer = [CChar](repeating: 0, count: 32)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M:%S UTC", &parts)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
