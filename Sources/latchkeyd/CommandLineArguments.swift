import LatchkeyClient

#if canImport(Glibc)
    import Glibc
#endif

/// The daemon's own command line, read by hand: swift-argument-parser would link
/// FoundationEssentials into the daemon, 3 MB of resident code (docs/performance.md "Idle
/// memory"). It reads what argument-parser reads for these commands: `--name value` and
/// `--name=value` (the last one given wins, unless the option is repeatable), flags, one
/// positional argument anywhere, `--` before arguments that start with a dash, `-h`/`--help`
/// and `--version`; a mistake is reported as argument-parser reports it, with exit status 64.
struct CommandLineArguments {
    /// What a command accepts: options that take a value, flags, and its positional argument.
    struct Grammar {
        var options: Set<String>
        var repeatable: Set<String> = []
        var flags: Set<String> = []
        var positional: String?
    }

    /// A mistake in the command line: the message after "Error: ".
    struct Mistake: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }

    private(set) var values: [String: [String]] = [:]
    private(set) var flags: Set<String> = []
    private(set) var positional: String?

    /// Reads `arguments` (after the subcommand's name); help and version are asked for before
    /// this is called (`asksFor`).
    init(_ arguments: [String], _ grammar: Grammar) throws(Mistake) {
        var rest = arguments[...]
        var optionsEnded = false
        while let argument = rest.popFirst() {
            if optionsEnded || !argument.hasPrefix("-") || argument == "-" {
                guard grammar.positional != nil, positional == nil else {
                    throw Mistake("Unexpected argument '\(argument)'")
                }
                positional = argument
                continue
            }
            if argument == "--" {
                optionsEnded = true
                continue
            }
            let equals = argument.firstIndex(of: "=")
            let name = String(argument[..<(equals ?? argument.endIndex)]).dropFirst(2)
            guard argument.hasPrefix("--"), !name.isEmpty else { throw Mistake("Unknown option '\(argument)'") }
            let option = String(name)
            if grammar.flags.contains(option) {
                if let equals {
                    let value = argument[argument.index(after: equals)...]
                    throw Mistake("The option '--\(option)' does not take any value, but '\(value)' was specified.")
                }
                flags.insert(option)
            } else if grammar.options.contains(option) {
                let value: String
                if let equals {
                    value = String(argument[argument.index(after: equals)...])
                } else if let next = rest.first, !next.hasPrefix("-") || next == "-" {
                    value = next
                    rest = rest.dropFirst()
                } else {
                    throw Mistake("Missing value for '--\(option) <\(option)>'")
                }
                values[option] = grammar.repeatable.contains(option) ? (values[option] ?? []) + [value] : [value]
            } else {
                throw Mistake("Unknown option '--\(option)'")
            }
        }
    }

    /// The value of a single option, when given.
    func value(_ option: String) -> String? { values[option]?.last }

    /// `--help`/`-h` or `--version` anywhere before `--`.
    static func asksFor(_ word: String, in arguments: [String]) -> Bool {
        let options = arguments.prefix { $0 != "--" }
        switch word {
        case "help": return options.contains("--help") || options.contains("-h")
        default: return options.contains("--\(word)")
        }
    }

    /// Prints the mistake and the command's usage to standard error, as argument-parser does.
    static func fail(_ mistake: Mistake, usage: String, command: String) -> Never {
        printError("Error: \(mistake.message)")
        printError("Usage: \(usage)")
        printError("  See 'latchkeyd \(command) --help' for more information.")
        exit(64)
    }
}

/// The exit status a command ends with (no message: it has said what went wrong).
struct ExitCode: Error {
    let status: Int32
    init(_ status: Int32) { self.status = status }
}
