/// A point where work waits until the test opens it; the test can wait until a number of
/// callers have arrived. Open when made unless told otherwise.
actor Gate {
    private var isOpen: Bool
    private var held: [CheckedContinuation<Void, Never>] = []
    private var arrivals = 0
    private var watchers: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []

    init(open: Bool = true) {
        isOpen = open
    }

    /// Passes when open; otherwise waits until `open()`.
    func pass() async {
        arrivals += 1
        let ready = watchers.filter { $0.count <= arrivals }
        watchers.removeAll { $0.count <= arrivals }
        for watcher in ready { watcher.continuation.resume() }
        if isOpen { return }
        await withCheckedContinuation { held.append($0) }
    }

    func close() {
        isOpen = false
    }

    func open() {
        isOpen = true
        let waiting = held
        held = []
        for continuation in waiting { continuation.resume() }
    }

    /// Lets the caller that has waited longest pass; the gate stays closed.
    func releaseFirst() {
        guard !held.isEmpty else { return }
        held.removeFirst().resume()
    }

    /// Returns once `count` callers have reached `pass()` in all.
    func arrived(_ count: Int) async {
        if arrivals >= count { return }
        await withCheckedContinuation { watchers.append((count, $0)) }
    }
}
