import LatchkeyCore

#if canImport(Glibc)
    import Glibc
#endif

/// The wall clock, read where the broker needs `now`. Expiry is judged against it, so a
/// machine that slept through an expiry sees it on waking.
public enum WallClock {
    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(secondsSinceEpoch: Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9)
    }
}
