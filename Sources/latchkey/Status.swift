import ArgumentParser
import LatchkeyClient
import LatchkeyCore

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show each account's state, expiry, last error and store.")

    @Argument(help: "One account (default: all).", completion: AccountCompletion.kind) var account: String?
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var options: ClientOptions

    func validate() throws { if let account { try validateAccount(account) } }

    func run() throws {
        let answer = try options.call("GET", account.map { "/v1/accounts/\($0)" } ?? "/v1/accounts")
        if json { return printOut(answer.encoded) }
        let accounts = account == nil ? (answer["accounts"]?.arrayValue ?? []) : [answer]
        if accounts.isEmpty {
            printOut("No accounts are configured.")
            return
        }
        var rows = [["ACCOUNT", "METHOD", "STATE", "EXPIRES", "LAST ERROR"]]
        for a in accounts {
            let expires = a["expires_at"]?.doubleValue.map { Timestamp(secondsSinceEpoch: $0).description } ?? "-"
            rows.append(
                [
                    a["name"]?.stringValue ?? "?", a["method"]?.stringValue ?? "?", a["state"]?.stringValue ?? "?",
                    expires,
                    a["last_error"]?.stringValue ?? "-",
                ].map { TerminalText.visible($0) })
        }
        let widths = (0..<4).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            var line = ""
            for column in 0..<4 {
                line += row[column] + String(repeating: " ", count: widths[column] - row[column].count + 2)
            }
            printOut(line + row[4])
        }
        for a in accounts { if let line = Self.activeSyncLine(a) { printOut(TerminalText.visible(line)) } }
        for a in accounts {
            guard let by = a["signin_needed_by"]?.doubleValue, by.isFinite else { continue }
            let why = a["signin_reason"]?.stringValue ?? "?"
            printOut(
                TerminalText.visible(
                    "\(a["name"]?.stringValue ?? "?"): sign-in needed by \(Timestamp(secondsSinceEpoch: by)) (\(why))"))
        }
        if let store = answer["store"]?.stringValue {
            let unsaved = accounts.filter { $0["persisted"]?.boolValue == false }.compactMap { $0["name"]?.stringValue }
            printOut(
                "store: \(TerminalText.visible(store))"
                    + (unsaved.isEmpty
                        ? ""
                        : " (not persisted: \(unsaved.joined(separator: ", ")) — kept in memory, written again when the store answers)")
            )
        }
        if let warning = answer["store_warning"]?.stringValue { printOut("warning: \(TerminalText.visible(warning))") }
    }

    /// An ActiveSync account's device and the policy requirements Latchkey does not enforce.
    static func activeSyncLine(_ account: JSONValue) -> String? {
        guard let sync = account["activesync"], let name = account["name"]?.stringValue else { return nil }
        var line = "\(name): ActiveSync device \(sync["device_id"]?.stringValue ?? "-")"
        line +=
            ", protocol \(sync["protocol_version"]?.stringValue ?? "-"); policy \(sync["policy"]?.stringValue ?? "-")"
        let unenforced = (sync["not_enforced"]?.arrayValue ?? []).compactMap(\.stringValue)
        if !unenforced.isEmpty { line += "; not enforced on this machine: " + unenforced.joined(separator: ", ") }
        return line
    }
}
