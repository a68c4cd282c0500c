import ArgumentParser
import LatchkeyClient
import LatchkeyCore

/// `latchkey challenge ACCOUNT --www-authenticate VALUE`: a sync client got a 401 and reports
/// the challenge, so that the refused token is dropped and a claims challenge is answered.
struct Challenge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Report a 401 challenge a client received (e.g. insufficient_claims).",
        discussion: "The cached token is dropped; the next token comes from a refresh or sign-in carrying the claims.")

    @Argument(help: "The account.", completion: AccountCompletion.kind) var account: String
    @Option(name: .customLong("www-authenticate"), help: "The WWW-Authenticate value of the 401, as received.")
    var wwwAuthenticate: String?
    @Option(
        name: .customLong("activesync-status"),
        help: "An ActiveSync answer asking for provisioning: HTTP 449, or status 140, 142, 143 or 144.")
    var activesyncStatus: Int?
    @Flag(help: "Print the daemon's answer as JSON.") var json = false
    @OptionGroup var options: ClientOptions

    func validate() throws {
        try validateAccount(account)
        guard (wwwAuthenticate == nil) != (activesyncStatus == nil) else {
            throw ValidationError("Give either --www-authenticate or --activesync-status.")
        }
    }

    func run() throws {
        if let activesyncStatus {
            // Latchkey provisions again; the answer carries the new policy key.
            let answer = try options.call(
                "POST", "/v1/accounts/\(account)/challenge",
                body: .object([("activesync_status", .number(Double(activesyncStatus)))]))
            if json { return print(answer.encoded) }
            printError("Provisioned '\(account)' again; the next header carries the new policy key.")
            return
        }
        let answer = try options.call(
            "POST", "/v1/accounts/\(account)/challenge",
            body: .object([("www_authenticate", .string(wwwAuthenticate ?? ""))]))
        if json {
            print(answer.encoded)
        } else {
            printError(TerminalText.visible(answer["message"]?.stringValue ?? "Reported."))
        }
    }
}
