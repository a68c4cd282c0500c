import LatchkeyCore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct ProcessPinTests {
    /// This process, pinned: its program is the one /proc/self/exe names, and it stays current.
    @Test func pinsARunningProcess() throws {
        let pin = try #require(ProcessPin.read(pid: getpid()))
        var exe = stat()
        #expect(stat("/proc/self/exe", &exe) == 0)
        #expect(pin.device == UInt64(exe.st_dev) && pin.inode == UInt64(exe.st_ino))
        #expect(pin.startTime > 0)
        #expect(pin.isCurrent)
    }

    /// Another start time (as a recycled PID has) or another program (as after exec) is not current.
    @Test func aChangedProcessIsNotCurrent() throws {
        let pin = try #require(ProcessPin.read(pid: getpid()))
        var recycled = pin
        recycled.startTime += 1
        #expect(!recycled.isCurrent)
        var execed = pin
        execed.inode += 1
        #expect(!execed.isCurrent)
    }

    /// A process that has ended cannot be pinned.
    @Test func anEndedProcessHasNoPin() {
        var pid: pid_t = 0
        var argv: [UnsafeMutablePointer<CChar>?] = [strdup("true"), nil]
        defer { argv.forEach { free($0) } }
        #expect(posix_spawnp(&pid, "true", nil, nil, &argv, environ) == 0)
        var status: Int32 = 0
        #expect(waitpid(pid, &status, 0) == pid)
        #expect(ProcessPin.read(pid: pid) == nil)
    }
}
