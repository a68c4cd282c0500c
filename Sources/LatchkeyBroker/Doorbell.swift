import Synchronization

/// Wakes the scheduler before its sleep ends: rung when something changes what is due (a new
/// token, a reload, a sign-in, a request that makes an idle account active). A ring while
/// nobody waits is kept, so the next wait returns at once; many rings make one wake-up.
final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    func ring() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.rung = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns after `seconds`, at a ring, or when the task is cancelled, whichever is first.
    /// While it waits, no thread of the daemon runs for it (a timer and a continuation).
    func wait(seconds: Double) async {
        guard !Task.isCancelled else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: .seconds(seconds)) }
            group.addTask { await self.waitForRing() }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForRing() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    if state.rung || Task.isCancelled {
                        state.rung = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            // Resumes the waiter; a ring that finds none is kept for the next wait (harmless:
            // one early pass of the scheduler).
            ring()
        }
    }
}
