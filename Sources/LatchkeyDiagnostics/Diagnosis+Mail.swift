import LatchkeyBlocking
import LatchkeyCore
import LatchkeyCrypto
import LatchkeyStore

extension Diagnosis {
    /// Where the account names its mail servers (`imap`, `smtp`): a login with the current
    /// token — OAUTHBEARER (RFC 7628) when offered, else XOAUTH2 — and the server's answer
    /// verbatim, redacted, with RFC 7628 §3.2.2's failure document (status, scope,
    /// openid-configuration) when it sends one. "Does the server take the token?"
    mutating func mail(_ account: AccountConfig) async {
        guard account.method == .oauth, account.imap != nil || account.smtp != nil else { return }
        guard let token = freshToken else { return }
        let user = account.email ?? account.username ?? ""
        if let server = account.imap, !stopped { await mailLogin(.imap, server, user: user, token: token) }
        if let server = account.smtp, !stopped { await mailLogin(.smtp, server, user: user, token: token) }
    }

    mutating func mailLogin(_ proto: MailLogin.Kind, _ server: HostPort, user: String, token: Secret<String>) async {
        let check = "\(proto.rawValue) \(server)"
        let login = MailLogin(proto: proto, server: server, user: user, caFile: caFile)
        // DNS, TCP and TLS with blocking calls: off the cooperative pool.
        let outcome = await Blocking.run { login.run(token: token) }
        switch outcome {
        case .accepted(let mechanism, let answer):
            add(
                Finding(
                    check, .pass,
                    "\(proto == .imap ? "IMAPS" : "SMTP submission") at \(server) accepted the token (\(mechanism)): \(answer)"
                ))
        case .refused(let mechanism, let answer, let document):
            let details = document.map { " The server's failure document: \($0)." } ?? ""
            add(
                Finding(
                    check, .fail,
                    "\(proto == .imap ? "IMAPS" : "SMTP submission") at \(server) refused the token (\(mechanism) as \(user)): \(answer)\(details)",
                    remedy:
                        "Compare the token's aud and scp (token claims above) with what the server needs (Exchange Online: "
                        + (proto == .imap
                            ? "https://outlook.office.com/IMAP.AccessAsUser.All"
                            : "https://outlook.office.com/SMTP.Send")
                        + "); check that the mailbox allows \(proto == .imap ? "IMAP" : "authenticated SMTP") and that the user name "
                        + "(email in [accounts.\(name)]) is the mailbox's address.",
                    area: .signIn))
        case .unusable(let why, let area):
            add(
                Finding(
                    check, .fail, why,
                    remedy:
                        "Check \(proto.rawValue) = \"\(server)\" in [accounts.\(name)] (IMAPS is TLS at once, usually port 993; "
                        + "submission uses STARTTLS, usually 587), the network and ca_file.",
                    area: area))
        }
    }
}

/// One SASL login at an IMAP (implicit TLS) or SMTP submission (STARTTLS) server.
struct MailLogin {
    enum Kind: String {
        case imap, smtp
    }

    enum Outcome {
        case accepted(mechanism: String, answer: String)
        case refused(mechanism: String, answer: String, document: String?)
        case unusable(String, Finding.Area)
    }

    let proto: Kind
    let server: HostPort
    let user: String
    let caFile: String?
    static let maximumLines = 200

    func run(token: Secret<String>) -> Outcome {
        do {
            let lines = try TLSLines(host: server.host, port: server.port, timeout: 10)
            return try proto == .imap ? imap(lines, token) : smtp(lines, token)
        } catch {
            return .unusable("\(proto.rawValue.uppercased()) at \(server): \(error.message)", .network)
        }
    }

    /// The SASL initial response for `mechanism`.
    func initialResponse(_ mechanism: String, _ token: Secret<String>) -> String {
        let text =
            mechanism == "OAUTHBEARER"
            ? "n,a=\(user),\u{1}host=\(server.host)\u{1}port=\(server.port)\u{1}auth=Bearer \(token.reveal())\u{1}\u{1}"
            : "user=\(user)\u{1}auth=Bearer \(token.reveal())\u{1}\u{1}"
        return Base64.encode(Array(text.utf8))
    }

    func imap(_ lines: TLSLines, _ token: Secret<String>) throws(LatchkeyError) -> Outcome {
        try lines.startTLS(caFile: caFile)
        let greeting = try lines.readLine()
        guard greeting.hasPrefix("* OK") else {
            return .unusable("IMAP at \(server) did not greet with * OK: \(clean(greeting))", .network)
        }
        try lines.send("a1 CAPABILITY")
        var capabilities: [String] = []
        for _ in 0..<Self.maximumLines {
            let line = try lines.readLine()
            if line.hasPrefix("* CAPABILITY ") {
                capabilities = line.split(separator: " ").map { String($0).uppercased() }
            }
            if line.hasPrefix("a1 ") { break }
        }
        guard let mechanism = ["OAUTHBEARER", "XOAUTH2"].first(where: { capabilities.contains("AUTH=" + $0) }) else {
            return .unusable(
                "IMAP at \(server) offers no OAuth login (AUTH=OAUTHBEARER or AUTH=XOAUTH2): "
                    + clean(capabilities.filter { $0.hasPrefix("AUTH=") }.joined(separator: " ")), .configuration)
        }
        try lines.send("a2 AUTHENTICATE \(mechanism) \(initialResponse(mechanism, token))")
        var document: String?
        for _ in 0..<Self.maximumLines {
            let line = try lines.readLine()
            if line.hasPrefix("+") {
                document = failureDocument(String(line.dropFirst()))
                try lines.send(mechanism == "OAUTHBEARER" ? "AQ==" : "")
            } else if line.hasPrefix("a2 OK") {
                return .accepted(mechanism: mechanism, answer: clean(line))
            } else if line.hasPrefix("a2 ") {
                return .refused(mechanism: mechanism, answer: clean(line), document: document)
            }
        }
        return .unusable("IMAP at \(server) did not finish the login.", .network)
    }

    func smtp(_ lines: TLSLines, _ token: Secret<String>) throws(LatchkeyError) -> Outcome {
        guard try reply(lines).code == 220 else {
            return .unusable("SMTP at \(server) did not greet with 220.", .network)
        }
        try lines.send("EHLO latchkey.invalid")
        _ = try reply(lines)
        try lines.send("STARTTLS")
        let ready = try reply(lines)
        guard ready.code == 220 else {
            return .unusable("SMTP at \(server) refused STARTTLS: \(ready.text)", .configuration)
        }
        try lines.startTLS(caFile: caFile)
        try lines.send("EHLO latchkey.invalid")
        let hello = try reply(lines)
        let offered =
            hello.lines.first { $0.uppercased().hasPrefix("AUTH") }.map {
                $0.uppercased().split(separator: " ").map(String.init)
            } ?? []
        guard let mechanism = ["OAUTHBEARER", "XOAUTH2"].first(where: offered.contains) else {
            return .unusable(
                "SMTP at \(server) offers no OAuth login after STARTTLS (AUTH \(clean(offered.dropFirst().joined(separator: " ")))).",
                .configuration)
        }
        // RFC 4954 §4: an initial response that would make the line longer than 512 octets
        // waits for the server's empty 334 challenge instead.
        let response = initialResponse(mechanism, token)
        var answer: (code: Int, lines: [String], text: String)
        if response.utf8.count + mechanism.utf8.count + 7 <= 512 {
            try lines.send("AUTH \(mechanism) \(response)")
            answer = try reply(lines)
        } else {
            try lines.send("AUTH \(mechanism)")
            answer = try reply(lines)
            guard answer.code == 334 else { return .refused(mechanism: mechanism, answer: answer.text, document: nil) }
            try lines.send(response)
            answer = try reply(lines)
        }
        var document: String?
        if answer.code == 334 {
            document = failureDocument(answer.lines.first ?? "")
            try lines.send(mechanism == "OAUTHBEARER" ? "AQ==" : "")
            answer = try reply(lines)
        }
        if answer.code == 235 { return .accepted(mechanism: mechanism, answer: answer.text) }
        return .refused(mechanism: mechanism, answer: answer.text, document: document)
    }

    /// An SMTP reply: its code, its lines' texts and the whole as it was sent (redacted).
    func reply(_ lines: TLSLines) throws(LatchkeyError) -> (code: Int, lines: [String], text: String) {
        var texts: [String] = []
        var raw: [String] = []
        for _ in 0..<Self.maximumLines {
            let line = try lines.readLine()
            raw.append(line)
            texts.append(String(line.dropFirst(4)))
            if line.count < 4 || line.utf8.dropFirst(3).first != UInt8(ascii: "-") {
                return (
                    CheckedNumber.decimal(line.prefix(3), maximum: 999) ?? 0, texts, clean(raw.joined(separator: " | "))
                )
            }
        }
        throw LatchkeyError(.providerUnavailable, "SMTP at \(server) sent more than \(Self.maximumLines) reply lines.")
    }

    /// RFC 7628 §3.2.2: the base64 JSON document a server sends on failure, as key=value.
    func failureDocument(_ text: String) -> String? {
        guard let bytes = Base64.decode(text.trimmed), let json = try? JSONValue.parse(bytes),
            case .object(let members) = json
        else {
            return nil
        }
        return clean(members.prefix(8).map { "\($0.0)=\($0.1.stringValue ?? $0.1.encoded)" }.joined(separator: ", "))
    }

    func clean(_ text: String) -> String { RecordedError.clean(text, limit: 400) }
}
