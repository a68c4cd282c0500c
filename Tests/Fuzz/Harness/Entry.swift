#if canImport(Glibc)
    import Glibc
#endif

/// libFuzzer's entry points (clang's `-sanitize=fuzzer`). One binary holds every target; `LATCHKEY_FUZZ_TARGET` picks the one to run (scripts/fuzz.sh sets it).
/// Each input is also timed in CPU time of this thread: an input that takes longer than
/// `LATCHKEY_FUZZ_SLOW_MS` (100 ms) in the fastest of three runs is a finding, reported and
/// aborted like a crash.
nonisolated(unsafe) private var selected: FuzzTarget?
nonisolated(unsafe) private var slowLimitNanoseconds: UInt64 = 100_000_000

/// SwiftPM links an executable with `main` defined as `<module>_main` (so that tests can link
/// it): that is this function, and it hands over to libFuzzer's driver, which parses the
/// command line (`-max_total_time=…`, corpus directories, files to replay) and runs the inputs.
@_cdecl("latchkey_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments, fuzzTestOneInput)
}

/// `int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *, size_t))`,
/// in clang's libFuzzer runtime (linked by `-sanitize=fuzzer`).
@_silgen_name("LLVMFuzzerRunDriver")
private func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    let name = getenv("LATCHKEY_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let target = FuzzTarget.all.first(where: { $0.name == name }) else {
        let names = FuzzTarget.all.map(\.name).joined(separator: " ")
        report("set LATCHKEY_FUZZ_TARGET to one of: \(names)")
        exit(2)
    }
    selected = target
    if let raw = getenv("LATCHKEY_FUZZ_SLOW_MS"), let ms = UInt64(String(cString: raw)) {
        slowLimitNanoseconds = ms * 1_000_000
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let target = selected else { return 0 }
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    var spent = timed { target.run(bytes) }
    // A slow input is measured again before it counts: a one-off stall (page faults of the
    // allocator, the kernel's time on this thread) is not the parser's. The targets are pure,
    // so running an input twice more changes nothing; the fastest of the three decides.
    if spent > slowLimitNanoseconds {
        for _ in 0..<2 { spent = min(spent, timed { target.run(bytes) }) }
    }
    if spent > slowLimitNanoseconds {
        report(
            "slow input: \(target.name) took \(spent / 1_000_000) ms of CPU on \(size) bytes (limit \(slowLimitNanoseconds / 1_000_000) ms)"
        )
        abort()
    }
    return 0
}

/// CPU time the calling thread spent in `body`.
private func timed(_ body: () -> Void) -> UInt64 {
    let start = threadCPUTime()
    body()
    return threadCPUTime() &- start
}

/// CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID): other processes on a shared
/// machine do not count against an input.
private func threadCPUTime() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// One line on standard error, written at once (the process may abort right after).
func report(_ message: String) {
    let line = Array("latchkey-fuzz: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}
