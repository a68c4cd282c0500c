import ArgumentParser

/// `latchkey diagnose ACCOUNT|EMAIL|--all …`: the checks need libcurl, OpenSSL and GSSAPI, so the
/// daemon executable runs them (`latchkeyd diagnose`), with or without a running daemon.
struct Diagnose: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find out why signing in or syncing fails, and how to fix it.",
        discussion: "Options: --json, --trace (HTTP exchanges, secrets redacted), --config PATH, --socket PATH.")

    @Argument(
        parsing: .captureForPassthrough,
        help: "ACCOUNT, EMAIL or --all, and options, as `latchkeyd diagnose` takes them.")
    var arguments: [String] = []

    func run() throws {
        execDaemon(["diagnose"] + arguments)
    }
}
