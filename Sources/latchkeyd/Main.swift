import LatchkeyServer

/// The process's entry point: Swift concurrency's executors go onto SwiftNIO's event loops
/// before any task starts (`EventLoopExecutors`, issue 18), then the command line runs.
@main
enum Main {
    static func main() {
        EventLoopExecutors.run { await Latchkeyd.main() }
    }
}
