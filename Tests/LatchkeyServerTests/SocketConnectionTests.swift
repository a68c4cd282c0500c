import Dispatch
import Glibc
import LatchkeyClient
import Testing

/// The thin client's socket: a connection that fails must close its descriptor exactly once.
/// A second close would close whatever another thread had opened under the same number in the
/// meantime (seen once as "Could not close …store.bin.tmp-…: Bad file descriptor").
@Suite struct SocketConnectionTests {
    @Test func aFailedConnectionClosesItsSocketOnce() async throws {
        let missing = "/tmp/latchkey-no-such-socket-\(getpid())"
        let watch = Watch()
        // Another thread keeps opening a file and checks that its descriptor is still open
        // before closing it. With a double close it sees EBADF within a few hundred rounds.
        let finished = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            while !watch.stopped {
                let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { continue }
                sched_yield()
                if fcntl(fd, F_GETFD) < 0 { watch.lost() } else { close(fd) }
            }
            finished.signal()
        }
        var refused = 0
        for _ in 0..<3000 where (try? SocketConnection(path: missing)) == nil { refused += 1 }
        watch.stop()
        await withCheckedContinuation { done in
            DispatchQueue.global().async {
                finished.wait()
                done.resume()
            }
        }
        #expect(refused == 3000)
        #expect(watch.losses == 0, "\(watch.losses) descriptors of another thread were closed under it")
    }
}

/// The watcher thread's state, behind a pthread mutex (the client is Foundation-free, so are
/// its tests).
private final class Watch: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var isStopped = false
    private var lossCount = 0
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }

    var stopped: Bool { locked { isStopped } }
    var losses: Int { locked { lossCount } }
    func stop() { locked { isStopped = true } }
    func lost() { locked { lossCount += 1 } }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }
}
