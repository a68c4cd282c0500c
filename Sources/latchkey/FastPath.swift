#if canImport(Glibc)
import Glibc
#endif
import LatchkeyClient
import LatchkeyCore

/// `latchkey token NAME` exactly as sync tools run it: one request, no argument parser.
/// Anything else (options, errors, no daemon) falls through to the full command line.
enum FastPath {
    static func tokenIfPlain() {
        let args = CommandLine.arguments
        guard args.count == 3, args[1] == "token", Configuration.isValidAccountName(args[2]) else { return }
        let paths = Paths(environment: { getenv($0).map { String(cString: $0) } }, uid: getuid())
        guard let response = try? DaemonClient(socketPath: paths.socket).request("GET", "/v1/accounts/\(args[2])/token"),
            response.status == 200, let token = response.json?["access_token"]?.stringValue
        else { return }
        printOut(token)
        exit(0)
    }
}
