import LatchkeyCore
import Logging

/// The audit line: who got which account's credential, by which scheme — never the
/// credential. Every hand-out writes it through here: the broker's tokens and headers, and the
/// server's cached answers.
public enum AuditLine {
    /// Logs that `client` was handed a credential of `account` with `scheme` (`Bearer`,
    /// `Negotiate`, `Basic`) and, for tokens, its scopes.
    public static func handedOut(
        _ logger: Logger, account: String, client: ClientIdentity, scheme: String, scopes: String? = nil
    ) {
        var metadata: Logger.Metadata = [
            "account": "\(account)", "pid": "\(client.pid)", "exe": "\(client.executable ?? "?")",
            "scheme": "\(scheme)",
        ]
        if let scopes { metadata["scope"] = "\(scopes)" }
        logger.info("credential handed out", metadata: metadata)
    }

    /// The scheme word of an `Authorization` value, the only part of it the line may show.
    static func scheme(of header: Secret<String>) -> String {
        String(header.reveal().prefix { $0 != " " })
    }
}
