import LatchkeyCore

/// Counters the broker keeps for `GET /metrics`. Owned by the broker actor; no locks.
public struct BrokerMetrics: Sendable {
    public enum Outcome: String, Sendable, CaseIterable { case ok, transient, permanent }

    /// Token requests answered from memory without waiting on the provider.
    public var cacheHits = 0
    public var refreshesOnRequest = 0
    public var refreshesProactive = 0
    /// Refreshes of idle accounts only to keep their refresh token alive (counted in
    /// `refreshesProactive` too).
    public var refreshesKeepAlive = 0
    /// Times the refresh scheduler woke and looked for due work.
    public var schedulerPasses = 0
    public var refreshes: [Outcome: Int] = [:]
    /// Provider latency of refreshes, as a Prometheus histogram (upper bounds in seconds).
    public static let latencyBuckets: [Double] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
    public var latencyCounts = [Int](repeating: 0, count: BrokerMetrics.latencyBuckets.count)
    public var latencySum = 0.0
    public var latencyCount = 0
    public var handedOut = 0
    public var refused = 0

    mutating func recordRefresh(_ outcome: Outcome, seconds: Double) {
        refreshes[outcome, default: 0] += 1
        latencySum += seconds
        latencyCount += 1
        for (i, bound) in Self.latencyBuckets.enumerated() where seconds <= bound { latencyCounts[i] += 1 }
    }

    /// Prometheus text exposition format 0.0.4.
    public func prometheus(accountsByState: [String: Int]) -> String {
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(String, Double)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (labels, value) in samples { out += "\(name)\(labels) \(Self.number(value))\n" }
        }
        metric(
            "latchkey_token_cache_hits_total", "counter",
            "Tokens handed out from memory without waiting on the provider.", [("", Double(cacheHits))])
        metric(
            "latchkey_credentials_handed_out_total", "counter", "Tokens and headers handed out to clients.",
            [("", Double(handedOut))])
        metric(
            "latchkey_clients_refused_total", "counter", "Requests refused by the peer checks.", [("", Double(refused))]
        )
        metric(
            "latchkey_refreshes_started_total", "counter", "Refreshes started, by trigger.",
            [
                ("{trigger=\"request\"}", Double(refreshesOnRequest)),
                ("{trigger=\"proactive\"}", Double(refreshesProactive)),
            ])
        metric(
            "latchkey_keepalive_refreshes_total", "counter",
            "Refreshes of idle accounts that keep the refresh token alive.", [("", Double(refreshesKeepAlive))])
        metric(
            "latchkey_scheduler_wakeups_total", "counter", "Times the refresh scheduler woke to look for due work.",
            [("", Double(schedulerPasses))])
        metric(
            "latchkey_refreshes_total", "counter", "Finished refreshes, by outcome.",
            Outcome.allCases.map { ("{outcome=\"\($0.rawValue)\"}", Double(refreshes[$0] ?? 0)) })
        var buckets: [(String, Double)] = zip(Self.latencyBuckets, latencyCounts).map {
            ("{le=\"\(Self.number($0))\"}", Double($1))
        }
        buckets.append(("{le=\"+Inf\"}", Double(latencyCount)))
        out += "# HELP latchkey_provider_latency_seconds Time the provider took to answer a refresh.\n"
        out += "# TYPE latchkey_provider_latency_seconds histogram\n"
        for (labels, value) in buckets {
            out += "latchkey_provider_latency_seconds_bucket\(labels) \(Self.number(value))\n"
        }
        out += "latchkey_provider_latency_seconds_sum \(Self.number(latencySum))\n"
        out += "latchkey_provider_latency_seconds_count \(latencyCount)\n"
        metric(
            "latchkey_accounts", "gauge", "Accounts, by state.",
            accountsByState.sorted { $0.key < $1.key }.map { ("{state=\"\($0.key)\"}", Double($0.value)) })
        return out
    }

    static func number(_ value: Double) -> String {
        abs(value) < 1e15 ? Int64(exactly: value).map(String.init) ?? String(value) : String(value)
    }
}
