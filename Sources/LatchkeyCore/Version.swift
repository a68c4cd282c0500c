/// Latchkey's version, reported by `/v1/health` and `--version`.
public enum LatchkeyVersion {
    public static let current = "0.1.0"
}
