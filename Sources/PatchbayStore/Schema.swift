import GRDB

/// The database schema, as a list of migrations.
///
/// Migrations are frozen once shipped: never edit one, add a new one. They are written in SQL with
/// table and column names as strings, never with app types, so that a later change to a record type
/// cannot change what an old migration does.
///
/// Counters the dashboard reads (`delivery_counts`, `error_groups`, `throughput_minute`,
/// `throughput_hour`) change in the same transaction as the rows they count. Up to v3 row triggers
/// kept them; since v4 the store's batch writes sum their changes and apply them once per
/// transaction (`RollupDelta`), and only deletes keep a trigger.
enum Schema {
    /// Marks a file as a Patchbay database (`PRAGMA application_id`), ASCII "PBAY".
    static let applicationID: Int32 = 0x5042_4159

    /// The largest payload the store accepts, in bytes. Sources enforce their own, smaller limits.
    static let maxPayloadBytes = NewEvent.maxPayloadBytes

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-integration-log", migrate: v1)
        migrator.registerMigration("v2-hub-runtime", migrate: v2)
        migrator.registerMigration("v3-dashboard-reads", migrate: v3)
        migrator.registerMigration("v4-batched-rollups", migrate: v4)
        migrator.registerMigration("v5-orphaned-connectors", migrate: v5)
        migrator.registerMigration("v6-replay-digests", migrate: v6)
        migrator.registerMigration("v7-delivery-replays", migrate: v7)
        migrator.registerMigration("v8-alerts-and-breaker", migrate: v8)
        migrator.registerMigration("v9-oauth-tokens", migrate: v9)
        migrator.registerMigration("v10-attempt-notes-and-api-quotas", migrate: v10)
        return migrator
    }

    private static func v1(_ db: Database) throws {
        // Marks the file as ours in the same transaction that creates the schema, so an interrupted
        // `init` leaves either nothing or a complete, recognisable database.
        try db.execute(sql: "PRAGMA application_id = 1346519385")  // 0x50424159, "PBAY"
        try db.execute(sql: """
            CREATE TABLE settings (
              key TEXT PRIMARY KEY NOT NULL,
              value TEXT NOT NULL
            ) WITHOUT ROWID;

            CREATE TABLE connectors (
              id INTEGER PRIMARY KEY,
              name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
              module TEXT NOT NULL,
              pattern TEXT NOT NULL CHECK (pattern IN ('point_to_point', 'hub', 'event', 'batch')),
              system TEXT NOT NULL,
              direction TEXT NOT NULL CHECK (direction IN ('source', 'sink')),
              paused INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
              paused_reason TEXT,
              health TEXT NOT NULL DEFAULT 'unknown'
                CHECK (health IN ('unknown', 'healthy', 'degraded', 'failing')),
              max_attempts INTEGER CHECK (max_attempts IS NULL OR max_attempts >= 1),
              last_success_at INTEGER,
              last_error_at INTEGER,
              last_error TEXT,
              created_at INTEGER NOT NULL
            );

            CREATE TABLE events (
              id INTEGER PRIMARY KEY,
              topic TEXT NOT NULL CHECK (length(topic) BETWEEN 1 AND 200),
              source_id INTEGER NOT NULL REFERENCES connectors(id),
              received_at INTEGER NOT NULL,
              occurred_at INTEGER,
              correlation_id TEXT,
              idempotency_key TEXT NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 500),
              payload TEXT NOT NULL CHECK (length(CAST(payload AS BLOB)) <= 4194304 AND json_valid(payload)),
              payload_hash TEXT NOT NULL,
              UNIQUE (source_id, idempotency_key)
            );
            CREATE INDEX events_by_topic ON events(topic, id);
            CREATE INDEX events_by_source ON events(source_id, id);
            CREATE INDEX events_by_correlation ON events(correlation_id, id) WHERE correlation_id IS NOT NULL;
            CREATE INDEX events_by_received ON events(received_at);

            CREATE TABLE deliveries (
              id INTEGER PRIMARY KEY,
              event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
              connector_id INTEGER NOT NULL REFERENCES connectors(id),
              state TEXT NOT NULL
                CHECK (state IN ('pending', 'in_flight', 'delivered', 'retrying', 'dead', 'discarded')),
              attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
              max_attempts INTEGER NOT NULL CHECK (max_attempts >= 1),
              next_attempt_at INTEGER,
              lease_owner TEXT,
              lease_token INTEGER,
              lease_expires_at INTEGER,
              last_error TEXT,
              last_status INTEGER,
              error_signature TEXT,
              created_at INTEGER NOT NULL,
              updated_at INTEGER NOT NULL,
              UNIQUE (event_id, connector_id),
              CHECK ((state = 'in_flight') = (lease_token IS NOT NULL AND lease_expires_at IS NOT NULL)),
              CHECK (state NOT IN ('pending', 'retrying') OR next_attempt_at IS NOT NULL)
            );
            CREATE INDEX deliveries_due ON deliveries(connector_id, next_attempt_at)
              WHERE state IN ('pending', 'retrying');
            CREATE INDEX deliveries_retry_queue ON deliveries(next_attempt_at)
              WHERE state = 'retrying';
            CREATE INDEX deliveries_leases ON deliveries(lease_expires_at)
              WHERE state = 'in_flight';
            CREATE INDEX deliveries_failed ON deliveries(updated_at)
              WHERE state IN ('retrying', 'dead');
            CREATE INDEX deliveries_failed_by_connector ON deliveries(connector_id, updated_at)
              WHERE state IN ('retrying', 'dead');
            CREATE INDEX deliveries_failed_by_signature ON deliveries(connector_id, error_signature, updated_at)
              WHERE state IN ('retrying', 'dead');

            CREATE TABLE attempts (
              id INTEGER PRIMARY KEY,
              delivery_id INTEGER NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
              number INTEGER NOT NULL CHECK (number >= 1),
              started_at INTEGER NOT NULL,
              duration_ms INTEGER NOT NULL CHECK (duration_ms >= 0),
              outcome TEXT NOT NULL CHECK (outcome IN ('success', 'failure', 'lease_expired')),
              status_code INTEGER,
              error TEXT,
              response_excerpt TEXT
            );
            CREATE INDEX attempts_by_delivery ON attempts(delivery_id, number);

            CREATE TABLE transitions (
              id INTEGER PRIMARY KEY,
              delivery_id INTEGER NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
              at INTEGER NOT NULL,
              from_state TEXT NOT NULL,
              to_state TEXT NOT NULL,
              actor TEXT NOT NULL CHECK (actor IN ('worker', 'operator', 'system')),
              reason TEXT
            );
            CREATE INDEX transitions_by_delivery ON transitions(delivery_id, id);

            CREATE TABLE delivery_counts (
              connector_id INTEGER NOT NULL,
              state TEXT NOT NULL,
              n INTEGER NOT NULL,
              PRIMARY KEY (connector_id, state)
            ) WITHOUT ROWID;

            CREATE TABLE error_groups (
              id INTEGER PRIMARY KEY,
              connector_id INTEGER NOT NULL REFERENCES connectors(id),
              signature TEXT NOT NULL,
              sample_error TEXT NOT NULL,
              last_status INTEGER,
              retrying INTEGER NOT NULL DEFAULT 0,
              dead INTEGER NOT NULL DEFAULT 0,
              occurrences INTEGER NOT NULL DEFAULT 0,
              first_seen INTEGER NOT NULL,
              last_seen INTEGER NOT NULL,
              UNIQUE (connector_id, signature)
            );
            CREATE INDEX error_groups_by_last_seen ON error_groups(last_seen);

            CREATE TABLE throughput_minute (
              bucket INTEGER NOT NULL,
              connector_id INTEGER NOT NULL,
              received INTEGER NOT NULL DEFAULT 0,
              delivered INTEGER NOT NULL DEFAULT 0,
              failed INTEGER NOT NULL DEFAULT 0,
              retried INTEGER NOT NULL DEFAULT 0,
              dead INTEGER NOT NULL DEFAULT 0,
              PRIMARY KEY (bucket, connector_id)
            ) WITHOUT ROWID;

            CREATE TABLE throughput_hour (
              bucket INTEGER NOT NULL,
              connector_id INTEGER NOT NULL,
              received INTEGER NOT NULL DEFAULT 0,
              delivered INTEGER NOT NULL DEFAULT 0,
              failed INTEGER NOT NULL DEFAULT 0,
              retried INTEGER NOT NULL DEFAULT 0,
              dead INTEGER NOT NULL DEFAULT 0,
              PRIMARY KEY (bucket, connector_id)
            ) WITHOUT ROWID;

            CREATE TABLE invoices (
              id INTEGER PRIMARY KEY,
              source_id INTEGER NOT NULL REFERENCES connectors(id),
              external_id TEXT NOT NULL,
              number TEXT NOT NULL,
              kind TEXT NOT NULL CHECK (kind IN ('invoice', 'credit_memo', 'payment', 'other')),
              customer TEXT NOT NULL,
              currency TEXT NOT NULL CHECK (length(currency) = 3),
              issue_date TEXT NOT NULL CHECK (issue_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
              due_date TEXT NOT NULL CHECK (due_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
              total_minor INTEGER NOT NULL,
              open_minor INTEGER NOT NULL,
              status TEXT NOT NULL CHECK (status IN ('open', 'paid', 'closed')),
              synced_at INTEGER NOT NULL,
              UNIQUE (source_id, external_id)
            );
            CREATE INDEX invoices_open ON invoices(currency, customer) WHERE open_minor <> 0;

            CREATE TABLE batch_runs (
              id INTEGER PRIMARY KEY,
              job TEXT NOT NULL,
              connector_id INTEGER REFERENCES connectors(id),
              started_at INTEGER NOT NULL,
              finished_at INTEGER,
              status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
              rows_read INTEGER NOT NULL DEFAULT 0,
              rows_loaded INTEGER NOT NULL DEFAULT 0,
              rows_rejected INTEGER NOT NULL DEFAULT 0,
              cursor TEXT,
              error TEXT
            );
            CREATE INDEX batch_runs_by_job ON batch_runs(job, id);
            CREATE INDEX batch_runs_recent ON batch_runs(started_at);

            -- Counters. Kept by triggers so that no write path can forget them.

            CREATE TRIGGER events_count_received AFTER INSERT ON events BEGIN
              INSERT INTO throughput_minute(bucket, connector_id, received)
                VALUES (NEW.received_at / 60000, NEW.source_id, 1)
                ON CONFLICT(bucket, connector_id) DO UPDATE SET received = received + 1;
              INSERT INTO throughput_hour(bucket, connector_id, received)
                VALUES (NEW.received_at / 3600000, NEW.source_id, 1)
                ON CONFLICT(bucket, connector_id) DO UPDATE SET received = received + 1;
            END;

            CREATE TRIGGER deliveries_count_insert AFTER INSERT ON deliveries BEGIN
              INSERT INTO delivery_counts(connector_id, state, n) VALUES (NEW.connector_id, NEW.state, 1)
                ON CONFLICT(connector_id, state) DO UPDATE SET n = n + 1;
              INSERT INTO error_groups(connector_id, signature, sample_error, last_status,
                                       retrying, dead, occurrences, first_seen, last_seen)
                SELECT NEW.connector_id, NEW.error_signature, coalesce(NEW.last_error, ''), NEW.last_status,
                       NEW.state = 'retrying', NEW.state = 'dead', 1, NEW.updated_at, NEW.updated_at
                WHERE NEW.error_signature IS NOT NULL AND NEW.state IN ('retrying', 'dead')
                ON CONFLICT(connector_id, signature) DO UPDATE SET
                  retrying = retrying + excluded.retrying,
                  dead = dead + excluded.dead,
                  occurrences = occurrences + 1,
                  sample_error = excluded.sample_error,
                  last_status = excluded.last_status,
                  last_seen = max(last_seen, excluded.last_seen);
            END;

            CREATE TRIGGER deliveries_count_delete AFTER DELETE ON deliveries BEGIN
              UPDATE delivery_counts SET n = n - 1
                WHERE connector_id = OLD.connector_id AND state = OLD.state;
              UPDATE error_groups SET
                  retrying = retrying - (OLD.state = 'retrying'),
                  dead = dead - (OLD.state = 'dead')
                WHERE OLD.state IN ('retrying', 'dead')
                  AND connector_id = OLD.connector_id AND signature = OLD.error_signature;
            END;

            CREATE TRIGGER deliveries_count_state AFTER UPDATE OF state ON deliveries
              WHEN OLD.state <> NEW.state BEGIN
              UPDATE delivery_counts SET n = n - 1
                WHERE connector_id = OLD.connector_id AND state = OLD.state;
              INSERT INTO delivery_counts(connector_id, state, n) VALUES (NEW.connector_id, NEW.state, 1)
                ON CONFLICT(connector_id, state) DO UPDATE SET n = n + 1;
            END;

            -- A failure enters a group when a delivery moves into retrying or dead, and leaves it when
            -- the delivery moves out (claimed again, requeued or discarded by an operator, pruned).
            CREATE TRIGGER deliveries_error_groups AFTER UPDATE OF state, error_signature ON deliveries
              WHEN OLD.state <> NEW.state OR OLD.error_signature IS NOT NEW.error_signature BEGIN
              UPDATE error_groups SET
                  retrying = retrying - (OLD.state = 'retrying'),
                  dead = dead - (OLD.state = 'dead')
                WHERE OLD.state IN ('retrying', 'dead')
                  AND connector_id = OLD.connector_id AND signature = OLD.error_signature;
              INSERT INTO error_groups(connector_id, signature, sample_error, last_status,
                                       retrying, dead, occurrences, first_seen, last_seen)
                SELECT NEW.connector_id, NEW.error_signature, coalesce(NEW.last_error, ''), NEW.last_status,
                       NEW.state = 'retrying', NEW.state = 'dead', OLD.state = 'in_flight',
                       NEW.updated_at, NEW.updated_at
                WHERE NEW.error_signature IS NOT NULL AND NEW.state IN ('retrying', 'dead')
                ON CONFLICT(connector_id, signature) DO UPDATE SET
                  retrying = retrying + excluded.retrying,
                  dead = dead + excluded.dead,
                  occurrences = occurrences + excluded.occurrences,
                  sample_error = excluded.sample_error,
                  last_status = excluded.last_status,
                  last_seen = max(last_seen, excluded.last_seen);
            END;

            -- delivered: a success; failed: a failed attempt (including an expired lease);
            -- retried: a delivery scheduled again, by the policy or by an operator; dead: dead-lettered.
            CREATE TRIGGER deliveries_throughput AFTER UPDATE OF state ON deliveries
              WHEN OLD.state <> NEW.state BEGIN
              INSERT INTO throughput_minute(bucket, connector_id, delivered, failed, retried, dead)
                SELECT NEW.updated_at / 60000, NEW.connector_id, d, f, r, x FROM (SELECT
                  NEW.state = 'delivered' AS d,
                  OLD.state = 'in_flight' AND NEW.state IN ('retrying', 'dead') AS f,
                  NEW.state = 'retrying' OR (NEW.state = 'pending' AND OLD.state <> 'in_flight') AS r,
                  NEW.state = 'dead' AS x)
                WHERE d + f + r + x > 0
                ON CONFLICT(bucket, connector_id) DO UPDATE SET
                  delivered = delivered + excluded.delivered, failed = failed + excluded.failed,
                  retried = retried + excluded.retried, dead = dead + excluded.dead;
              INSERT INTO throughput_hour(bucket, connector_id, delivered, failed, retried, dead)
                SELECT NEW.updated_at / 3600000, NEW.connector_id, d, f, r, x FROM (SELECT
                  NEW.state = 'delivered' AS d,
                  OLD.state = 'in_flight' AND NEW.state IN ('retrying', 'dead') AS f,
                  NEW.state = 'retrying' OR (NEW.state = 'pending' AND OLD.state <> 'in_flight') AS r,
                  NEW.state = 'dead' AS x)
                WHERE d + f + r + x > 0
                ON CONFLICT(bucket, connector_id) DO UPDATE SET
                  delivered = delivered + excluded.delivered, failed = failed + excluded.failed,
                  retried = retried + excluded.retried, dead = dead + excluded.dead;
            END;
            """)
    }

    /// What the hub runtime adds: refused webhooks (counted per minute like everything else), and
    /// resumable batch runs (the input a run reads, and which run last saw each invoice).
    private static func v2(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE rejections (
              id INTEGER PRIMARY KEY,
              connector_id INTEGER REFERENCES connectors(id),
              received_at INTEGER NOT NULL,
              status INTEGER NOT NULL,
              reason TEXT NOT NULL,
              remote TEXT,
              path TEXT NOT NULL,
              body_bytes INTEGER NOT NULL,
              body_excerpt TEXT
            );
            CREATE INDEX rejections_recent ON rejections(received_at);

            ALTER TABLE throughput_minute ADD COLUMN rejected INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE throughput_hour ADD COLUMN rejected INTEGER NOT NULL DEFAULT 0;

            CREATE TRIGGER rejections_count AFTER INSERT ON rejections WHEN NEW.connector_id IS NOT NULL BEGIN
              INSERT INTO throughput_minute(bucket, connector_id, rejected)
                VALUES (NEW.received_at / 60000, NEW.connector_id, 1)
                ON CONFLICT(bucket, connector_id) DO UPDATE SET rejected = rejected + 1;
              INSERT INTO throughput_hour(bucket, connector_id, rejected)
                VALUES (NEW.received_at / 3600000, NEW.connector_id, 1)
                ON CONFLICT(bucket, connector_id) DO UPDATE SET rejected = rejected + 1;
            END;

            ALTER TABLE batch_runs ADD COLUMN input TEXT;
            CREATE INDEX batch_runs_unfinished ON batch_runs(job, input) WHERE status = 'running';
            ALTER TABLE invoices ADD COLUMN seen_run_id INTEGER;
            """)
    }

    /// Indices that let the dashboard's reads follow what they return instead of the size of the log.
    ///
    /// Each one is weighed against the hub's writes (docs/BENCHMARKS.md, "Where the time goes"):
    /// - `deliveries_by_connector`: the events of a connector, newest first, for a sink (a source has
    ///   `events_by_source`). One more entry per delivery at ingest; claims and outcomes never change
    ///   its key.
    /// - `deliveries_failing_by_event`: the events with a delivery in a failure state, newest first.
    ///   Partial: a delivery that goes pending → in flight → delivered never enters it, so the hub's
    ///   usual path pays nothing; a failure enters it, as it enters the other failure indices.
    /// - `invoices_open` again, now covering every column the aging report reads, so that the report
    ///   reads the index alone (it looked up each open invoice in the table).
    private static func v3(_ db: Database) throws {
        try db.execute(sql: """
            CREATE INDEX deliveries_by_connector ON deliveries(connector_id, event_id);
            CREATE INDEX deliveries_failing_by_event ON deliveries(state, event_id)
              WHERE state IN ('retrying', 'dead', 'discarded');
            DROP INDEX invoices_open;
            CREATE INDEX invoices_open ON invoices(currency, customer, due_date, issue_date, open_minor)
              WHERE open_minor <> 0;
            """)
    }

    /// The counters move from row triggers to the store's batch writes (`RollupDelta`), and a
    /// 15-minute rollup joins the minute and hour ones.
    ///
    /// - The triggers ran up to six statements per delivery that changed state and two per event
    ///   ingested: most of the hub's write cost. Every write path of the store sums its changes
    ///   instead and applies them with one upsert per counter row. The counts on file stay as they
    ///   are: they were exact, and the rules are the same. `deliveries_count_delete` stays: deletes
    ///   are rare (`prune`) and may come by cascade.
    /// - `throughput_quarter`: the dashboard's 24-hour chart is drawn in 15-minute bars, and summing
    ///   1,440 minutes per connector for it cost 9–14 ms at 10 M events. Batched, the extra counter
    ///   costs one upsert per connector and quarter per write. Filled from the minutes on file.
    /// - `invoices_version` in settings, moved by triggers on any change to `invoices`: the dashboard
    ///   refreshes on every write to the file, and invoices change only when an import runs, so it
    ///   keeps the aging report until this moves (`Store.agingCached`).
    private static func v4(_ db: Database) throws {
        try db.execute(sql: """
            DROP TRIGGER events_count_received;
            DROP TRIGGER deliveries_count_insert;
            DROP TRIGGER deliveries_count_state;
            DROP TRIGGER deliveries_error_groups;
            DROP TRIGGER deliveries_throughput;

            CREATE TABLE throughput_quarter (
              bucket INTEGER NOT NULL,
              connector_id INTEGER NOT NULL,
              received INTEGER NOT NULL DEFAULT 0,
              delivered INTEGER NOT NULL DEFAULT 0,
              failed INTEGER NOT NULL DEFAULT 0,
              retried INTEGER NOT NULL DEFAULT 0,
              dead INTEGER NOT NULL DEFAULT 0,
              rejected INTEGER NOT NULL DEFAULT 0,
              PRIMARY KEY (bucket, connector_id)
            ) WITHOUT ROWID;
            INSERT INTO throughput_quarter(bucket, connector_id, received, delivered, failed, retried, dead, rejected)
              SELECT bucket / 15, connector_id, sum(received), sum(delivered), sum(failed), sum(retried), sum(dead),
                     sum(rejected)
              FROM throughput_minute GROUP BY 1, 2;

            INSERT INTO settings(key, value) VALUES ('invoices_version', '0') ON CONFLICT(key) DO NOTHING;
            CREATE TRIGGER invoices_version_insert AFTER INSERT ON invoices BEGIN
              UPDATE settings SET value = CAST(value AS INTEGER) + 1 WHERE key = 'invoices_version';
            END;
            CREATE TRIGGER invoices_version_update AFTER UPDATE ON invoices BEGIN
              UPDATE settings SET value = CAST(value AS INTEGER) + 1 WHERE key = 'invoices_version';
            END;
            CREATE TRIGGER invoices_version_delete AFTER DELETE ON invoices BEGIN
              UPDATE settings SET value = CAST(value AS INTEGER) + 1 WHERE key = 'invoices_version';
            END;

            DROP TRIGGER rejections_count;
            CREATE TRIGGER rejections_count AFTER INSERT ON rejections WHEN NEW.connector_id IS NOT NULL BEGIN
              INSERT INTO throughput_minute(bucket, connector_id, rejected)
                VALUES (NEW.received_at / 60000, NEW.connector_id, 1)
                ON CONFLICT(bucket, connector_id) DO UPDATE SET rejected = rejected + 1;
              INSERT INTO throughput_quarter(bucket, connector_id, rejected)
                VALUES (NEW.received_at / 900000, NEW.connector_id, 1)
                ON CONFLICT(bucket, connector_id) DO UPDATE SET rejected = rejected + 1;
              INSERT INTO throughput_hour(bucket, connector_id, rejected)
                VALUES (NEW.received_at / 3600000, NEW.connector_id, 1)
                ON CONFLICT(bucket, connector_id) DO UPDATE SET rejected = rejected + 1;
            END;
            """)
    }

    /// Connectors the hub's configuration no longer names, and deliveries an operator moves away from them.
    ///
    /// - `connectors.orphaned_at`: set by `patchbay run` on every connector its configuration does
    ///   not name (cleared when one names it again). No worker sends such a connector's deliveries;
    ///   `status` and the dashboard show its health as `orphaned`.
    /// - `transitions.connector_id`: the connector a delivery had when the transition happened, set
    ///   only once the delivery moved to another connector (`retry --to`); NULL means the delivery's
    ///   own. The throughput counters count each transition for the connector it happened on, so a
    ///   move leaves the old connector's history where it was.
    private static func v5(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE connectors ADD COLUMN orphaned_at INTEGER;
            ALTER TABLE transitions ADD COLUMN connector_id INTEGER;
            """)
    }

    /// The signed bodies of recent events from senders whose signature covers the body only
    /// (Shopify, GitHub): a captured request replayed with a new delivery id or topic header is
    /// the same signed body, and is recognised as a duplicate within the source's replay window.
    /// Rows older than the window are pruned by the hub's maintenance.
    private static func v6(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE signed_bodies (
              source_id INTEGER NOT NULL,
              digest TEXT NOT NULL,
              event_id INTEGER NOT NULL,
              received_at INTEGER NOT NULL,
              PRIMARY KEY (source_id, digest)
            ) WITHOUT ROWID;
            CREATE INDEX signed_bodies_by_time ON signed_bodies(received_at);
            """)
    }

    /// How many times an operator replayed a delivery (`patchbay replay`): its requests carry
    /// `patchbay-delivery-<id>-replay-<n>` from then on, so a target that dedupes by key takes a
    /// replay as new. 0 for every delivery before this migration.
    private static func v7(_ db: Database) throws {
        try db.execute(sql: "ALTER TABLE deliveries ADD COLUMN replays INTEGER NOT NULL DEFAULT 0 CHECK (replays >= 0)")
    }

    /// Alerts with their times; who paused a connector (the breaker resumes only its own pauses);
    /// an operator's request to run a batch job now, which the hub that runs the job picks up.
    private static func v8(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE connectors ADD COLUMN paused_by TEXT
              CHECK (paused_by IS NULL OR paused_by IN ('operator', 'breaker', 'gone', 'auth'));
            UPDATE connectors SET paused_by = CASE
              WHEN paused_reason LIKE 'paused by the hub:%' THEN 'gone' ELSE 'operator' END
              WHERE paused = 1;
            ALTER TABLE connectors ADD COLUMN run_requested_at INTEGER;

            CREATE TABLE alerts (
              id INTEGER PRIMARY KEY,
              rule TEXT NOT NULL CHECK (length(rule) BETWEEN 1 AND 100),
              kind TEXT NOT NULL,
              subject TEXT NOT NULL,
              state TEXT NOT NULL CHECK (state IN ('firing', 'resolved')),
              summary TEXT NOT NULL,
              value TEXT,
              threshold TEXT,
              fired_at INTEGER NOT NULL,
              last_notified_at INTEGER,
              notifications INTEGER NOT NULL DEFAULT 0 CHECK (notifications >= 0),
              resolved_at INTEGER,
              updated_at INTEGER NOT NULL
            );
            CREATE UNIQUE INDEX alerts_open ON alerts(rule, subject) WHERE state = 'firing';
            CREATE INDEX alerts_recent ON alerts(fired_at);
            """)
    }

    /// OAuth 2.0 tokens of HTTP connectors (`auth: {type: oauth2}`), one row per connector: the
    /// access token and its expiry, the (rotating) refresh token, a version every committed refresh
    /// raises, and the refresh lease that lets one node refresh at a time.
    private static func v9(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE oauth_tokens (
              connector_id INTEGER PRIMARY KEY REFERENCES connectors(id),
              access_token TEXT,
              access_expires_at INTEGER,
              refresh_token TEXT,
              scope TEXT,
              token_type TEXT,
              version INTEGER NOT NULL DEFAULT 0 CHECK (version >= 0),
              refreshing_owner TEXT,
              refreshing_until INTEGER,
              updated_at INTEGER NOT NULL,
              last_error TEXT
            );
            """)
    }

    /// A note on each attempt (what the sink did around the send: an OAuth token refreshed), and
    /// the last rate-limit reading of each connector that talks to a SaaS API (`QuotaLedger`), one
    /// row per connector, overwritten only by a reading at least as new.
    private static func v10(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE attempts ADD COLUMN note TEXT;

            CREATE TABLE api_quotas (
              connector_id INTEGER PRIMARY KEY REFERENCES connectors(id),
              day_remaining INTEGER,
              day_limit INTEGER,
              minute_remaining INTEGER,
              app_minute_remaining INTEGER,
              observed_at INTEGER NOT NULL
            );
            """)
    }
}
