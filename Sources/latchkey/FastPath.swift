#if canImport(Glibc)
import Glibc
#endif
import LatchkeyClient
import LatchkeyCore

/// `latchkey token NAME` and `latchkey header NAME` exactly as sync tools run them: one
/// request, no argument parser. Anything else (options, errors, no daemon) falls through to
/// the full command line, which says what went wrong.
enum FastPath {
    static func answerIfPlain() {
        let args = CommandLine.arguments
        guard args.count == 3, args[1] == "token" || args[1] == "header", Configuration.isValidAccountName(args[2]) else { return }
        let field = args[1] == "token" ? "access_token" : "header"
        let paths = Paths(environment: { getenv($0).map { String(cString: $0) } }, uid: getuid())
        guard let response = try? DaemonClient(socketPath: paths.socket).request("GET", "/v1/accounts/\(args[2])/\(args[1])"),
            response.status == 200, let value = response.json?[field]?.stringValue
        else { return }
        printOut(value)
        exit(0)
    }
}
