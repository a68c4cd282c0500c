import ArgumentParser
import LatchkeyCore

/// The thin client. Sync tools run it once per connection: it parses arguments, asks the
/// daemon over the socket and prints the answer. No libcurl, GSSAPI, libsecret or Foundation.
@main
struct Latchkey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "latchkey",
        abstract: "Sign in once with MFA; hand ready Authorization headers to mail, calendar and file sync tools.",
        discussion:
            "Exit status: 0 done, 64 usage, 69 daemon unreachable, 75 try again later, 77 sign-in needed or not allowed, 78 configuration error.",
        version: LatchkeyVersion.current,
        subcommands: [
            Serve.self, Setup.self, Diagnose.self, Login.self, Challenge.self, Token.self, Header.self, Sasl.self,
            Status.self, Logout.self, GitCredential.self,
        ])

    /// `latchkey token NAME` and `header NAME`, as sync tools run them, skip the argument parser
    /// (docs/performance.md). Anything else, and any failure, takes the full command line,
    /// which reports errors and starts the daemon.
    static func main() {
        FastPath.answerIfPlain()
        main(nil)
    }
}

/// Options every client command shares.
struct ClientOptions: ParsableArguments {
    @Option(help: "The daemon's socket (default: $XDG_RUNTIME_DIR/latchkey/latchkey.sock).", completion: .file())
    var socket: String?

    @Flag(help: "Do not start the daemon when none is running.")
    var noAutostart = false
}
