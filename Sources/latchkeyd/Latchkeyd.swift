import LatchkeyClient
import LatchkeyCore

#if canImport(Glibc)
    import Glibc
#endif

/// The daemon executable: `latchkey serve` runs it. It owns every flow, secret and cache.
///
/// `latchkeyd [serve] [options]`, `latchkeyd setup EMAIL [options]`, `latchkeyd diagnose
/// ACCOUNT|EMAIL|--all [options]` (docs/man/latchkeyd.8), read by `CommandLineArguments`.
/// (`Main` is the entry point: it puts Swift concurrency on SwiftNIO's event loops first.)
enum Latchkeyd {
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "help" {
            let command = arguments.dropFirst().first.flatMap(command(named:))
            print(command?.help ?? help, terminator: "")
            exit(0)
        }
        let named = arguments.first.flatMap(command(named:))
        let command = named ?? Serve.self
        let rest = Array(named == nil ? arguments[...] : arguments.dropFirst())
        if CommandLineArguments.asksFor("help", in: rest) {
            print(named == nil ? help : command.help, terminator: "")
            exit(0)
        }
        if CommandLineArguments.asksFor("version", in: rest) {
            print(LatchkeyVersion.current)
            exit(0)
        }
        do {
            try await command.run(rest)
        } catch let code as ExitCode {
            exit(code.status)
        } catch {
            printError("Error: \(error)")
            exit(1)
        }
        exit(0)
    }

    static func command(named name: String) -> (any DaemonCommand.Type)? {
        [Serve.self, Setup.self, Diagnose.self].first { $0.name == name }
    }

    /// `latchkeyd --help`, as argument-parser printed it.
    static let help = """
        OVERVIEW: The Latchkey daemon: signs in, keeps tokens fresh, hands out
        Authorization headers.

        USAGE: latchkeyd <subcommand>

        OPTIONS:
          --version               Show the version.
          -h, --help              Show help information.

        SUBCOMMANDS:
          serve (default)         Run the daemon in the foreground.
          setup                   Discover how an e-mail account signs in and add it to
                                  the configuration.
          diagnose                Find out why signing in or syncing fails, and how to
                                  fix it.

          See 'latchkeyd help <subcommand>' for detailed help.
        """ + "\n"
}

/// A subcommand of the daemon executable: its grammar, its help, and what it does.
protocol DaemonCommand: Sendable {
    static var name: String { get }
    static var grammar: CommandLineArguments.Grammar { get }
    /// The synopsis after "Usage: " in a mistake's report.
    static var usage: String { get }
    static var help: String { get }
    init(_ arguments: CommandLineArguments) throws(CommandLineArguments.Mistake)
    func run() async throws
}

extension DaemonCommand {
    /// Reads the arguments (a mistake ends the process with status 64), then runs.
    static func run(_ arguments: [String]) async throws {
        let command: Self
        do {
            command = try Self(CommandLineArguments(arguments, grammar))
        } catch {
            CommandLineArguments.fail(error, usage: usage, command: name)
        }
        try await command.run()
    }
}
