import LatchkeyBroker

/// The broker's background work (refreshes, sign-ins, retried writes) as a service of the
/// daemon. Listed before the socket server, it is shut down after it: requests in flight
/// still get their refreshes. At shutdown every sign-in is cancelled, no new job is taken,
/// and `run` returns once a refresh in flight has finished and stored its rotated refresh
/// token (bounded by the provider timeout every provider call carries).
public struct BrokerService: Service {
    let broker: Broker

    public init(broker: Broker) {
        self.broker = broker
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await broker.work.run() }
            // Returns at graceful shutdown, or throws when the service is cancelled (the jobs
            // are then cancelled with it).
            try? await gracefulShutdown()
            await broker.stop()
        }
    }
}
