import LatchkeyCore
import LatchkeyOAuth
import LatchkeyStore

/// What the broker remembers of failed sign-ins and refreshes (issue 19), for `diagnose`:
/// the journal on disk, and while a sign-in runs, its flow and the provider's last error.
struct ErrorMemory {
    var journal: ErrorJournal?
    /// The flow each running sign-in uses ("device", "browser").
    var flows: [String: String] = [:]
    /// The provider's error behind a failing sign-in, until `endLogin` records it.
    var provider: [String: OAuthError] = [:]

    mutating func attempt(_ account: String, flow: String) {
        flows[account] = flow
        provider[account] = nil
    }

    mutating func noteProvider(_ account: String, _ error: OAuthError) {
        provider[account] = error
    }
}

extension Broker {
    /// Keeps the last sign-in and refresh error of each account in `journal`, across restarts.
    public func rememberErrors(in journal: ErrorJournal) {
        errorMemory.journal = journal
    }

    /// `GET /v1/accounts/{name}/errors`: the account's last sign-in and refresh errors.
    public func recordedErrors(account name: String) throws(LatchkeyError) -> JSONValue {
        guard accounts[name] != nil else { throw .unknownAccount(name) }
        return errorMemory.journal?.json(account: name) ?? .object([("sign_in", .null), ("refresh", .null)])
    }

    /// Called when a sign-in ends: an error is recorded with the provider's codes, a success
    /// clears the sign-in error (and the refresh error the new sign-in supersedes).
    func rememberSignIn(_ name: String, _ event: LoginEvent) {
        let flow = errorMemory.flows.removeValue(forKey: name)
        let provider = errorMemory.provider.removeValue(forKey: name)
        guard let journal = errorMemory.journal else { return }
        switch event {
        case .done:
            journal.clear(name, .signIn)
            journal.clear(name, .refresh)
        case .error(let error):
            let method =
                flow ?? accounts[name].map {
                    $0.config.method == .oauth ? $0.config.flow.rawValue : $0.config.method.rawValue
                } ?? "?"
            journal.record(
                name, .signIn,
                RecordedError(
                    time: clock().secondsSinceEpoch, method: method, error: provider?.code,
                    errorCodes: provider?.errorCodes ?? [],
                    suberror: provider?.suberror, message: error.message))
        default:
            break
        }
    }

    /// Called when the account's own refresh ends (`error` nil: it succeeded).
    func rememberRefresh(_ name: String, _ error: OAuthError?) {
        guard let journal = errorMemory.journal else { return }
        guard let error else { return journal.clear(name, .refresh) }
        journal.record(
            name, .refresh,
            RecordedError(
                time: clock().secondsSinceEpoch, method: "refresh", error: error.code, errorCodes: error.errorCodes,
                suberror: error.suberror, message: error.description))
    }
}
