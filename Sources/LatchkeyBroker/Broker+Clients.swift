import LatchkeyCore
import Logging

#if canImport(Glibc)
    import Glibc
#endif

extension Broker {
    /// `allowed_clients`: when set, only those programs may use the account — get its token or
    /// header, sign it in or out, answer its sign-in's questions, report its challenges. The
    /// program is the one the connection's process ran when the daemon accepted it (its pin),
    /// and that process must still run it: one that connected and then exec'd another program,
    /// or whose PID now names another process, is refused.
    func authorize(_ name: String, _ config: AccountConfig, _ client: ClientIdentity?) throws(LatchkeyError) {
        guard !config.allowedClients.isEmpty else { return }
        if let client, let pin = client.pin {
            guard pin.isCurrent else {
                metrics.refused += 1
                logger.warning(
                    "client refused: it changed its program since it connected",
                    metadata: [
                        "account": "\(name)", "pid": "\(client.pid)", "exe": "\(client.executable ?? "?")",
                    ])
                throw LatchkeyError(
                    .forbidden,
                    "\(client) has changed its program since it connected (or has ended), so it may not use the credentials of '\(name)'.",
                    hint: "Connect again from the program that asks for the credentials.")
            }
            if Self.isSameFile(device: pin.device, inode: pin.inode, asAnyOf: config.allowedClients) { return }
        }
        metrics.refused += 1
        logger.warning(
            "client refused: not in allowed_clients",
            metadata: [
                "account": "\(name)", "pid": "\(client?.pid ?? 0)", "exe": "\(client?.executable ?? "?")",
            ])
        throw LatchkeyError(
            .forbidden, "\(client?.executable ?? "This program") may not use the credentials of '\(name)'.",
            hint:
                "Add its path to allowed_clients in [accounts.\(name)] if it should, then reload the daemon (systemctl --user reload latchkey)."
        )
    }

    /// `allowed_clients` of the account a running sign-in belongs to (its answers are the
    /// account's secrets too).
    func authorize(login session: LoginSession, _ client: ClientIdentity?) throws(LatchkeyError) {
        guard let config = accounts[session.account]?.config else { return }
        try authorize(session.account, config, client)
    }

    /// Whether the program pinned as `device`/`inode` is one of `paths`, compared by device and
    /// inode — not by the name /proc shows, which a private mount namespace can fake.
    static func isSameFile(device: UInt64, inode: UInt64, asAnyOf paths: [String]) -> Bool {
        paths.contains { path in
            var allowed = stat()
            return stat(path, &allowed) == 0 && UInt64(allowed.st_dev) == device && UInt64(allowed.st_ino) == inode
        }
    }
}
