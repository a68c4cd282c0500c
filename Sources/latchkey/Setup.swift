import ArgumentParser

/// `latchkey setup EMAIL …`: discovery needs libcurl and GSSAPI, so the daemon executable
/// does it (`latchkeyd setup`); this thin client hands over its arguments as they are.
struct Setup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Discover how an e-mail account signs in and add it to the configuration.",
        discussion:
            "Options: --name, --autodiscover URL, --url URL, --client-id ID, --ca-file PATH, --scope S, --username U, --prefer oauth,kerberos,basic, --config PATH, --dry-run. `latchkey setup --help` shows them all."
    )

    @Argument(parsing: .captureForPassthrough, help: "EMAIL and options, as `latchkeyd setup` takes them.")
    var arguments: [String] = []

    func run() throws {
        execDaemon(["setup"] + arguments)
    }
}
