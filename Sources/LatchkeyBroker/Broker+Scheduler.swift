import LatchkeyCore
import Logging

extension Broker {
    /// Proactive refresh (SPEC.md §6): every `tick` seconds, start a refresh for each account
    /// whose refresh is due, so clients in steady state never wait on the provider. Due times
    /// are judged by the wall clock on every tick, so a machine that slept through one
    /// refreshes on waking; a transient failure's backoff is honoured the same way, so an
    /// account recovers by itself when the provider does.
    public func runScheduler(tick: Double = 1) async {
        while !Task.isCancelled {
            refreshDueAccounts()
            await checkTickets()
            try? await Task.sleep(for: .milliseconds(Int(clamping: tick * 1000, to: 1...3_600_000) ?? 1000))
        }
    }

    /// Starts the refreshes that are due now; returns how many it started.
    @discardableResult
    public func refreshDueAccounts() -> Int {
        let now = clock()
        var started = 0
        for name in order {
            guard let account = accounts[name], account.config.method == .oauth else { continue }
            let minValid = account.config.minValid ?? settings.minValid
            guard let due = account.machine.refreshDue(refreshBefore: settings.refreshBefore, minValid: minValid, jitter: account.jitter),
                due <= now, accounts[name]!.machine.startProactiveRefresh(now: now)
            else { continue }
            guard startRefresh(name, trigger: "proactive") else { break }
            started += 1
            metrics.refreshesProactive += 1
        }
        return started
    }
}
