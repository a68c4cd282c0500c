import LatchkeyCore

/// Where the broker publishes, at every change, the token each account would hand out from
/// memory right now, so the socket server can answer a plain cached request without a hop to
/// the broker (docs/performance.md). The broker stays the one owner: it publishes a token only
/// while its own checks would serve it as it is (an OAuth account with no `allowed_clients`,
/// nothing waiting to be stored, no permanent failure), and withdraws it before anything else
/// happens when that stops being true — a logout, a refresh, a claims challenge, a reload.
/// A request the server cannot answer from here takes the broker's full path.
public protocol TokenPublisher: AnyObject, Sendable {
    /// The account's own token, served while it has at least `minValid` seconds left (nil:
    /// the default set by `setDefaultMinValid`).
    func publish(account: String, token: AccessToken, minValid: Double?)
    /// The account has nothing to hand out from memory (or is gone).
    func withdraw(account: String)
    /// `[broker] min_valid`, used for accounts without their own.
    func setDefaultMinValid(_ seconds: Double)
    /// Tokens handed out from the published table so far (counted in `/metrics` as cache hits
    /// and hand-outs, like those the broker answers itself).
    var handedOut: Int { get }
    /// When the server last answered a request for the account from the table (use-aware
    /// refresh counts it as use; nil: never, or not since the account was withdrawn).
    func lastServed(account: String) -> Timestamp?
}
