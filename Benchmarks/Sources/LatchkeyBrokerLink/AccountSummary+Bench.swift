import LatchkeyCore

// The memberwise initialiser is internal to its module; the benchmarks make summaries here.
extension AccountSummary {
    public static func bench(name: String, state: TokenMachine.State, expiresAt: Timestamp?, scopes: [String])
        -> AccountSummary
    {
        AccountSummary(
            name: name, method: .oauth, state: state, expiresAt: expiresAt, lastError: nil, lastRefresh: nil,
            scopes: scopes,
            store: "memory", persisted: false)
    }
}
