internal import CGSSAPI
public import LatchkeyCore

/// One question libkrb5 asks during sign-in.
public struct KerberosPrompt: Sendable, Equatable {
    /// The library's own prompt text, such as "Password for alice@LATCHKEY.TEST" or "Enter new password".
    public var text: String
    /// Whether the answer is secret (a password or a one-time code) and must not be echoed.
    public var hidden: Bool
    public var kind: Kind

    public enum Kind: String, Sendable {
        case password, newPassword, newPasswordAgain, otp, other
    }

    public init(text: String, hidden: Bool, kind: Kind) {
        self.text = text
        self.hidden = hidden
        self.kind = kind
    }
}

/// Whoever answers libkrb5's questions for a sign-in: the broker relays them to the person.
public protocol KerberosPrompter: Sendable {
    /// Blocking: shows `banner` (when not nil) and asks `prompts`; nil means the person cancelled.
    /// `prompts` may be empty: then only the banner is shown (a password expiry warning, say).
    func answer(banner: String?, prompts: [KerberosPrompt]) -> [Secret<String>]?
}

// libkrb5 calls a C function pointer for every prompt, with the `data` pointer it was given.
// `PromptRelay` is that data: it lives for the whole `krb5_get_init_creds_password` call (the
// caller holds it), so the callback takes it unretained.

/// What the prompter callback needs and what it learns, for the duration of one sign-in.
final class PromptRelay {
    let prompter: any KerberosPrompter
    /// The person cancelled (the prompter returned nil).
    var cancelled = false
    /// The last banner shown: after a rejected new password it holds the KDC's reason.
    var lastBanner: String?
    /// Why the callback failed on its own (an answer too long for libkrb5's buffer).
    var failure: String?
    /// The password's expiry the KDC reported (seconds since the epoch), from the expire callback.
    var passwordExpiresAt: Int?

    init(prompter: any KerberosPrompter) {
        self.prompter = prompter
    }

    /// Relays one prompter call; returns a krb5 error code (0 when answered).
    func relay(
        context: krb5_context?, name: String?, banner: String?, prompts: UnsafeMutableBufferPointer<krb5_prompt>
    ) -> krb5_error_code {
        // libkrb5 passes the KDC's words (a rejected password's reason, an expiry warning) in
        // `banner`, and sometimes a heading in `name`: the person sees both.
        let heading = [name, banner].compactMap { $0.map(Self.trimmed) }.filter { !$0.isEmpty }
            .joined(separator: "\n")
        let shown = heading.isEmpty ? nil : heading
        if let shown { lastBanner = shown }
        let types = context.flatMap { krb5_get_prompt_types($0) }
        let questions = prompts.indices.map { index in
            KerberosPrompt(
                text: prompts[index].prompt.map { String(cString: $0) } ?? "",
                hidden: prompts[index].hidden != 0,
                kind: Self.kind(types?[index]))
        }
        guard let answers = prompter.answer(banner: shown, prompts: questions) else {
            cancelled = true
            return krb5_error_code(KRB5_LIBOS_PWDINTR)
        }
        guard answers.count >= prompts.count else {
            failure = "the prompter gave \(answers.count) answers to \(prompts.count) questions"
            return krb5_error_code(KRB5_LIBOS_CANTREADPWD)
        }
        for index in prompts.indices {
            guard let reply = prompts[index].reply else { continue }
            // Copy straight into libkrb5's buffer (which it zeroes and frees): no copy of the
            // answer is left in memory this module owns.
            let answer = answers[index].reveal().utf8
            guard let buffer = reply.pointee.data, answer.count <= Int(reply.pointee.length) else {
                failure = "an answer is longer than the \(reply.pointee.length) bytes Kerberos accepts"
                return krb5_error_code(KRB5_LIBOS_CANTREADPWD)
            }
            buffer.withMemoryRebound(to: UInt8.self, capacity: answer.count) { bytes in
                for (offset, byte) in answer.enumerated() { bytes[offset] = byte }
            }
            if answer.count < Int(reply.pointee.length) { buffer[answer.count] = 0 }
            reply.pointee.length = UInt32(answer.count)
        }
        return 0
    }

    /// The expiry warning libkrb5 shows when no expire callback is set, in its own terms: a
    /// banner when the password expires in less than 7 days.
    func warnOfPasswordExpiry(now: Int) {
        guard let expires = passwordExpiresAt, expires > now, expires - now < 7 * 86_400 else { return }
        let left = expires - now
        let within =
            left < 3600
            ? "less than one hour"
            : left < 86_400 ? "\(left / 3600) hours" : "\(left / 86_400) days"
        let date = Timestamp(secondsSinceEpoch: Double(expires))
        _ = prompter.answer(banner: "Warning: Your password will expire in \(within) on \(date)", prompts: [])
    }

    /// Text without the trailing newlines and spaces libkrb5 leaves on banners.
    private static func trimmed(_ text: String) -> String {
        var text = Substring(text)
        while let last = text.last, last == "\n" || last == " " || last == "\0" { text.removeLast() }
        return String(text)
    }

    private static func kind(_ type: krb5_prompt_type?) -> KerberosPrompt.Kind {
        guard let type else { return .other }
        return switch type {
        case KRB5_PROMPT_TYPE_PASSWORD: .password
        case KRB5_PROMPT_TYPE_NEW_PASSWORD: .newPassword
        case KRB5_PROMPT_TYPE_NEW_PASSWORD_AGAIN: .newPasswordAgain
        case KRB5_PROMPT_TYPE_PREAUTH: .otp
        default: .other
        }
    }
}

/// The `krb5_prompter_fct` handed to libkrb5: a plain function, its context in `data`.
func lkKrb5Prompter(
    context: krb5_context?, data: UnsafeMutableRawPointer?, name: UnsafePointer<CChar>?,
    banner: UnsafePointer<CChar>?, count: Int32, prompts: UnsafeMutablePointer<krb5_prompt>?
) -> krb5_error_code {
    guard let data else { return krb5_error_code(KRB5_LIBOS_CANTREADPWD) }
    let relay = Unmanaged<PromptRelay>.fromOpaque(data).takeUnretainedValue()
    let list = UnsafeMutableBufferPointer(start: prompts, count: prompts == nil ? 0 : Int(max(count, 0)))
    return relay.relay(
        context: context, name: name.map { String(cString: $0) }, banner: banner.map { String(cString: $0) },
        prompts: list)
}
