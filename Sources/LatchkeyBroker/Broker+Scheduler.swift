import LatchkeyCore
import Logging

extension Broker {
    /// The longest single sleep of the scheduler, in seconds. The sleep runs on a monotonic
    /// timer, while due times are wall-clock times: the kernel's notice of a wall-clock step or
    /// a resume (`clockChanged`) wakes the scheduler at once; where that notice is missing, it
    /// judges them again by the wall clock at the latest this long after the change.
    public static let longestSleep: Double = 60

    /// Proactive refresh (SPEC.md §6, issue 18): starts what is due (`RefreshSchedule`: a
    /// refresh ahead of expiry for an account in use, a keep-alive for an idle one, a retry
    /// after a backoff, a Kerberos renewal), then sleeps until the next thing is due — or
    /// `longestSleep` — unless something that changes what is due rings `doorbell` first.
    /// With nothing due, it wakes once a `longestSleep`. It runs as a service of the daemon
    /// and ends when cancelled.
    public func runScheduler(longestSleep: Double = Broker.longestSleep) async {
        while !Task.isCancelled {
            let (_, nextRefresh) = refreshDueAccounts()
            let nextTicket = await checkTickets()
            let nextWarning = await warnOfSignins()
            let next = [nextRefresh, nextTicket, nextWarning].compactMap { $0 }.min()
            metrics.schedulerPasses += 1
            await doorbell.wait(seconds: RefreshSchedule.sleep(until: next, now: clock(), cap: longestSleep))
        }
    }

    /// How use decides refreshes, from `[broker] active_window` and `keepalive_interval`.
    var schedule: RefreshSchedule {
        RefreshSchedule(activeWindow: settings.activeWindow, keepaliveInterval: settings.keepaliveInterval)
    }

    /// Starts the refreshes that are due now; returns how many it started and when the next
    /// one is due (nil: none until something changes).
    @discardableResult
    public func refreshDueAccounts() -> (started: Int, next: Timestamp?) {
        let now = clock()
        let schedule = self.schedule
        var started = 0
        var next: Timestamp?
        for name in order {
            guard let account = accounts[name], account.config.method == .oauth else { continue }
            // Requests the server answered from its table count as use too.
            let lastUsed = [account.lastUsed, publisher?.lastServed(account: name)].compactMap { $0 }.max()
            if lastUsed != account.lastUsed { accounts[name]?.lastUsed = lastUsed }
            let minValid = account.config.minValid ?? settings.minValid
            let due = account.machine.refreshDue(
                refreshBefore: settings.refreshBefore, minValid: minValid, jitter: account.jitter)
            switch schedule.decide(
                refreshDue: due, retryAt: account.machine.retryAt, issuedAt: account.machine.token?.issuedAt,
                lastUsed: lastUsed, now: now, jitter: account.jitter)
            {
            case .wait(let until):
                if let until { next = min(next ?? until, until) }
            case .refreshNow(let reason):
                guard accounts[name]!.oauth.machine.startProactiveRefresh(now: now) else { continue }
                guard startRefresh(name, trigger: reason == .active ? "proactive" : reason.rawValue) else {
                    return (started, next)
                }
                started += 1
                metrics.refreshesProactive += 1
                if reason == .keepAlive { metrics.refreshesKeepAlive += 1 }
            }
        }
        return (started, next)
    }

    /// A client asked for the account's credential: it is in use. A request after a quiet
    /// spell wakes the scheduler, which refreshes the account ahead of expiry again.
    func noteUse(_ name: String) {
        let now = clock()
        let wasIdle = schedule.becomesActive(lastUsed: accounts[name]?.lastUsed, now: now)
        accounts[name]?.lastUsed = now
        if wasIdle { doorbell.ring() }
    }

    /// Something changed what is due (a token, a sign-in, a reload): the scheduler decides again.
    func wakeScheduler() {
        doorbell.ring()
    }

    /// The wall clock was set, or the machine woke from a suspend (`ClockChangeService`): the
    /// scheduler judges every due time again by the wall clock now, not at its next wake-up.
    public nonisolated func clockChanged() {
        doorbell.ring()
    }
}
