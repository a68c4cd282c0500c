import LatchkeyCore
import Logging

extension Broker {
    /// Takes a new configuration (SIGHUP). Accounts keep their tokens and sign-ins; new
    /// accounts are read from the store when first asked; removed accounts leave memory (their
    /// store items stay, as after a restart). The store itself changes only with a restart.
    public func reload(_ configuration: Configuration) {
        if configuration.broker.store != settings.store {
            logger.warning(
                "the store setting changes only when the daemon restarts",
                metadata: ["store": "\(configuration.broker.store.rawValue)"])
        }
        settings = configuration.broker
        publisher?.setDefaultMinValid(settings.minValid)
        var newOrder: [String] = []
        for config in configuration.accounts {
            newOrder.append(config.name)
            if var existing = accounts[config.name] {
                if !existing.config.sameProvider(as: config) { existing.oauth.metadata = nil }
                existing.config = config
                accounts[config.name] = existing
            } else {
                var account = Account(config: config, publisher: publisher)
                account.needsRestore = true
                account.generation = nextGeneration()
                accounts[config.name] = account
            }
        }
        let kept = Set(newOrder)
        for name in order where !kept.contains(name) {
            publisher?.withdraw(account: name)
            accounts[name]?.login?.cancel()
            failAllWaiters(name, nil)  // waiters learn the account is gone
            accounts[name] = nil
        }
        order = newOrder
        wakeScheduler()
    }
}

extension AccountConfig {
    /// Whether cached provider metadata still applies.
    func sameProvider(as other: AccountConfig) -> Bool {
        provider == other.provider && tenant == other.tenant && issuer == other.issuer && caFile == other.caFile
            && tokenEndpoint == other.tokenEndpoint && deviceAuthorizationEndpoint == other.deviceAuthorizationEndpoint
            && authorizationEndpoint == other.authorizationEndpoint && revocationEndpoint == other.revocationEndpoint
    }
}
