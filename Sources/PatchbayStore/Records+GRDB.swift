import GRDB

// The records' and enums' GRDB conformances: the model module knows nothing of SQLite.

extension IntegrationPattern: DatabaseValueConvertible {}
extension ConnectorDirection: DatabaseValueConvertible {}
extension ConnectorHealth: DatabaseValueConvertible {}
extension DeliveryState: DatabaseValueConvertible {}
extension Actor: DatabaseValueConvertible {}
extension AttemptOutcome: DatabaseValueConvertible {}
extension InvoiceKind: DatabaseValueConvertible {}
extension InvoiceStatus: DatabaseValueConvertible {}
extension BatchRunStatus: DatabaseValueConvertible {}

extension Connector: FetchableRecord, TableRecord {
    public static let databaseTableName = "connectors"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
}

extension Event: FetchableRecord, TableRecord {
    public static let databaseTableName = "events"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
}

extension Delivery: FetchableRecord, TableRecord {
    public static let databaseTableName = "deliveries"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
}

extension Attempt: FetchableRecord, TableRecord {
    public static let databaseTableName = "attempts"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
}

extension Transition: FetchableRecord, TableRecord {
    public static let databaseTableName = "transitions"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
}

extension ErrorGroup: FetchableRecord {
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
}

extension Invoice: FetchableRecord, TableRecord {
    public static let databaseTableName = "invoices"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
}

extension BatchRun: FetchableRecord, TableRecord {
    public static let databaseTableName = "batch_runs"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
}

extension RejectedRequest: FetchableRecord {
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
}

extension FailedDelivery: FetchableRecord {
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
}
