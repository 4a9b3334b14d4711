// The SQLite store plays every role of PatchbayModel/Roles; the runtime, the connectors and the CLI
// talk to those roles, not to `Store`.

extension Store: BatchLedger {}
extension Store: ConnectorCatalog {}
extension Store: DeliveryQueue {}
extension Store: EventIngest {}
extension Store: OperatorActions {}
extension Store: Retention {}
extension Store: TrafficReading {}
