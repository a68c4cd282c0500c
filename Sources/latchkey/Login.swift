import ArgumentParser
import LatchkeyClient
import LatchkeyCore

#if canImport(Glibc)
    import Glibc
#endif

struct Login: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sign in interactively (device code or browser, with MFA) and wait until it is done.",
        discussion: "Ctrl-C cancels the sign-in.")

    @Argument(help: "The account.", completion: AccountCompletion.kind) var account: String
    @Option(help: "device or browser for OAuth accounts (default: the account's flow); kerberos or basic.")
    var method: String?
    @Flag(help: "Print the browser sign-in link instead of opening a browser.") var noBrowser = false
    @OptionGroup var options: ClientOptions

    func validate() throws {
        try validateAccount(account)
        if let method, !["device", "browser", "kerberos", "basic"].contains(method) {
            throw ValidationError("--method must be device, browser, kerberos or basic.")
        }
    }

    func run() throws {
        let terminal = isatty(2) != 0
        var deadline: Double?
        var outcome: LatchkeyError?
        var finished = false
        let target = "/v1/accounts/\(account)/login" + (method.map { "?method=" + $0 } ?? "")
        let response: DaemonResponse? = options.withDaemon { client throws(ClientError) in
            try client.stream(
                "POST", target,
                onEvent: { event in
                    let name = event["event"]?.stringValue
                    switch name == "prompt" && event["kind"]?.stringValue == "question" ? "question" : name {
                    case "prompt":
                        let seconds = event["expires_in"]?.doubleValue ?? 0
                        deadline = monotonicNow() + seconds
                        if event["kind"]?.stringValue == "browser" {
                            showBrowserPrompt(event)
                        } else {
                            showPrompt(event)
                        }
                    case "question":
                        if terminal { printError("\r\u{1B}[K", terminator: "") }
                        if !answerQuestion(event, client: client) {
                            outcome = LatchkeyError(
                                .signinRequired, "The sign-in was cancelled.",
                                hint: "Run `latchkey login \(account)` to try again.")
                            return false
                        }
                    case "waiting":
                        if !terminal, let left = event["expires_in"]?.intValue, left % 60 < 5 {
                            printError("Waiting for the sign-in to be completed (\(left / 60) min left)…")
                        }
                    case "done":
                        if terminal { printError("\r\u{1B}[K", terminator: "") }
                        let until =
                            event["expires_at"]?.doubleValue.map { Timestamp(secondsSinceEpoch: $0).description } ?? "?"
                        printError("Signed in to '\(account)'. The access token is valid until \(until).")
                        finished = true
                        return false
                    case "error":
                        if terminal { printError("\r\u{1B}[K", terminator: "") }
                        outcome = LatchkeyError(json: event) ?? LatchkeyError(.internalError, "The sign-in failed.")
                        return false
                    default:
                        break
                    }
                    return true
                },
                onTick: {
                    if terminal, let deadline {
                        let left = Int(clamping: deadline - monotonicNow(), to: 0...Int.max) ?? 0
                        printError(
                            "\r\u{1B}[KWaiting for you to finish signing in… \(left / 60):\(left % 60 < 10 ? "0" : "")\(left % 60) left (Ctrl-C cancels)",
                            terminator: "")
                    }
                    return true
                })
        }
        if let response, let error = response.error { fail(error) }
        if let outcome { fail(outcome) }
        if !finished {
            fail(
                LatchkeyError(.internalError, "The daemon ended the sign-in without a result."),
                exit: ExitStatus.temporaryFailure)
        }
    }

    /// Shows a question's banner, reads each answer (without echo where the prompt says so)
    /// and sends them to the daemon. False when the person gave no answer (end of input).
    private func answerQuestion(_ event: JSONValue, client: DaemonClient) -> Bool {
        guard let id = event["login_id"]?.stringValue else { return false }
        if let banner = event["banner"]?.stringValue, !banner.isEmpty {
            printError(TerminalText.visible(banner, keepNewlines: true))
        }
        var answers: [JSONValue] = []
        for prompt in event["prompts"]?.arrayValue ?? [] {
            let text = TerminalText.visible(prompt["text"]?.stringValue ?? "Answer")
            guard
                let answer = Terminal.readAnswer(
                    prompt: text.hasSuffix(":") || text.hasSuffix(": ") ? text : text + ": ",
                    echo: prompt["echo"]?.boolValue ?? false)
            else {
                return false
            }
            answers.append(.string(answer))
        }
        let body = Array(JSONValue.object([("answers", .array(answers))]).encoded.utf8)
        guard let response = try? client.request("POST", "/v1/logins/\(id)/answer", body: body) else { return false }
        if let error = response.error { printError("latchkey: \(TerminalText.visible(error.message))") }
        return true
    }

    private func showBrowserPrompt(_ event: JSONValue) {
        // The listener's start page: it holds no `state` (argv is readable by every user).
        let raw = event["start_url"]?.stringValue ?? "?"
        let url =
            TerminalText.visible(raw)
            + (TerminalText.isOpenable(raw) ? "" : "   (not an https address: do not trust it)")
        let environment = { (name: String) in getenv(name).map { String(cString: $0) } }
        let graphical = environment("DISPLAY") != nil || environment("WAYLAND_DISPLAY") != nil
        let opened = !noBrowser && graphical && Browser.open(raw)
        printError(
            opened
                ? "A browser was opened to sign in to '\(account)'. If it did not show, open this page:"
                : "To sign in to '\(account)', open this page in a browser:")
        printError("")
        printError("    \(url)")
        printError("")
        if environment("SSH_CONNECTION") != nil, let redirect = event["redirect_uri"]?.stringValue,
            let port = redirect.split(separator: ":").last?.split(separator: "/").first
        {
            printError("This is an SSH session: the browser must reach 127.0.0.1:\(port) on this machine. On the")
            printError("computer with the browser, first run:  ssh -N -L \(port):127.0.0.1:\(port) <this host>")
            printError("")
        }
    }

    private func showPrompt(_ event: JSONValue) {
        // The provider's words: shown with control characters visible, and a page that is not
        // https is marked, not offered as a link (TerminalText).
        let rawURI = event["verification_uri"]?.stringValue ?? "?"
        let uri = TerminalText.visible(rawURI)
        let code = TerminalText.visible(event["user_code"]?.stringValue ?? "?")
        printError("To sign in to '\(account)', open this page in a browser:")
        printError("")
        printError("    \(uri)" + (TerminalText.isOpenable(rawURI) ? "" : "   (not an https address: do not trust it)"))
        printError("")
        printError("and enter the code:  \(code)")
        let complete = event["verification_uri_complete"]?.stringValue.flatMap {
            TerminalText.isOpenable($0) ? $0 : nil
        }
        if let complete {
            printError("")
            printError("(or open \(complete) — it fills in the code)")
        }
        printError("")
        // On a terminal, a QR code of the link (with the code filled in where the provider
        // allows) for a phone's camera; plain lines otherwise.
        if isatty(2) != 0, TerminalText.isOpenable(complete ?? rawURI), let qr = QRCode(complete ?? rawURI) {
            printError("Or scan this with a phone:")
            for line in qr.terminalLines() { printError("  " + line) }
            printError("")
        }
    }
}
