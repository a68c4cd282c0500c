/// The broker's one single-flight mechanism: per key, one piece of work runs (an account's
/// OAuth refresh, a scope set's refresh, a Kerberos renewal), every caller that needs it waits,
/// and its one result is handed to all of them. Actor state: it lives in the broker and is
/// only touched there.
///
/// Who decides that work must start is the caller's business: `TokenMachine` does for OAuth
/// (its `refreshInFlight`), `begin` does for work without a machine.
struct SingleFlight<Key: Hashable, Value: Sendable> {
    private var running: [Key: [CheckedContinuation<Value, Never>]] = [:]

    /// True when no work runs for `key`: the caller starts it, and it counts as running until
    /// `finish`. False when it already runs: the caller only waits.
    mutating func begin(_ key: Key) -> Bool {
        guard running[key] == nil else { return false }
        running[key] = []
        return true
    }

    /// Adds a caller waiting on `key`'s result.
    mutating func join(_ key: Key, _ waiter: CheckedContinuation<Value, Never>) {
        running[key, default: []].append(waiter)
    }

    /// Hands `value` to every caller waiting on `key`; the work no longer runs.
    mutating func finish(_ key: Key, _ value: Value) {
        for waiter in running.removeValue(forKey: key) ?? [] { waiter.resume(returning: value) }
    }

    /// Finishes every key that `matches` with `value` (an account signed out or removed).
    mutating func finishAll(where matches: (Key) -> Bool, _ value: Value) {
        for key in running.keys where matches(key) { finish(key, value) }
    }

    /// How many callers wait on `key`.
    func waiting(_ key: Key) -> Int {
        running[key]?.count ?? 0
    }
}

/// What an OAuth refresh is for: an account's own scopes (`scopes` nil) or another scope set.
struct RefreshKey: Hashable {
    var account: String
    var scopes: String?
}
