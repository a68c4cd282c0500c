import Dispatch
import LatchkeyCore
import Synchronization

/// Carries questions from a blocking library callback (libkrb5's prompter runs on a worker
/// thread) to the person over the login stream, and their answers back.
///
/// The callback thread calls `ask`, which hands the question to the broker and blocks until
/// `deliver` or `cancel` is called from the actor side. Answers are secrets: they never leave
/// this box except to the library that asked.
final class PromptRelay: Sendable {
    private struct State {
        var answers: [Secret<String>]?
        var cancelled = false
        var waiting = false
    }

    private let state = Mutex(State())
    private let ready = DispatchSemaphore(value: 0)
    /// Shows a question to the watchers of the sign-in (hops to the broker actor).
    private let show: @Sendable (String?, [(text: String, echo: Bool)]) -> Void

    init(show: @escaping @Sendable (String?, [(text: String, echo: Bool)]) -> Void) {
        self.show = show
    }

    /// Blocking: shows the question and waits for the answers; nil when the sign-in was cancelled.
    func ask(banner: String?, prompts: [(text: String, echo: Bool)]) -> [Secret<String>]? {
        let proceed = state.withLock { s -> Bool in
            if s.cancelled { return false }
            s.answers = nil
            s.waiting = true
            return true
        }
        guard proceed else { return nil }
        show(banner, prompts)
        ready.wait()
        return state.withLock { s in
            s.waiting = false
            defer { s.answers = nil }
            return s.cancelled ? nil : s.answers
        }
    }

    /// The person's answers; false when no question is waiting for them.
    func deliver(_ answers: [Secret<String>]) -> Bool {
        let accepted = state.withLock { s -> Bool in
            guard s.waiting, s.answers == nil, !s.cancelled else { return false }
            s.answers = answers
            return true
        }
        if accepted { ready.signal() }
        return accepted
    }

    func cancel() {
        let wake = state.withLock { s -> Bool in
            s.cancelled = true
            return s.waiting
        }
        if wake { ready.signal() }
    }
}
