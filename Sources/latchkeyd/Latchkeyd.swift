import ArgumentParser
import LatchkeyCore

/// The daemon executable: `latchkey serve` runs it. It owns every flow, secret and cache.
/// (`Main` is the entry point.)
struct Latchkeyd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "latchkeyd",
        abstract: "The Latchkey daemon: signs in, keeps tokens fresh, hands out Authorization headers.",
        version: LatchkeyVersion.current,
        subcommands: [Serve.self, Setup.self, Diagnose.self],
        defaultSubcommand: Serve.self)
}
