import Foundation

/// The demo company's hub, as a user would write it: all four patterns, against the mocks.
enum DemoConfig {
    static func yaml(hubPort: Int, mocks: String, exports: String) -> String {
        """
        server:
          listen: 127.0.0.1:\(hubPort)
        delivery:
          lease: 45s
          poll: 200ms
        retry:
          max_attempts: 8
          base_delay: 5s
          max_delay: 5m
        retention:
          keep_delivered: 30d
          every: 1h
        # Alerts go to the on-call Slack channel (the demo serves a mock of Slack's incoming webhook).
        alerts:
          every: 5s
          repeat: 1h
          notify: [oncall-slack]
          rules:
            hub-paused-a-connector: {kind: connector_paused}
            erp-failing: {kind: connector_failing, connector: erp-sync, for: 2m}
            xero-dead-letters: {kind: dead_letters, connector: xero-invoices, above: 25}
            storefront-quiet: {kind: source_quiet, connector: storefront-events, below: 20%}
            erp-queue-age: {kind: queue_age, connector: erp-sync, older_than: 10m}
            quickbooks-late: {kind: batch_late, job: quickbooks-ar, for: 26h}
            overdue-eur: {kind: invoices_overdue, above: "EUR 100000"}
            xero-quota: {kind: quota_low, connector: xero-invoices, below: 10%}
        connectors:
          oncall-slack:
            module: slack
            system: Slack
            url: ${DEMO_SLACK_WEBHOOK}

          # Point-to-point: a Shopify order becomes a Xero invoice.
          shopify-orders:
            module: webhook
            pattern: point_to_point
            system: Shopify
            signature: shopify
            secret: ${DEMO_SHOPIFY_SECRET}
            transform: shopify-order
          xero-invoices:
            module: xero
            pattern: point_to_point
            system: Xero
            url: \(mocks)/xero/api.xro/2.0/Invoices
            from: [shopify-orders]
            concurrency: 2
            rate_limit: 30/min
            timeout: 20s
            # Xero's access tokens expire (the demo's every 3 minutes): the hub refreshes them, one
            # node at a time, and the rotated refresh token is stored before it is used again.
            auth:
              type: oauth2
              token_url: \(mocks)/xero/identity/connect/token
              client_id: ${DEMO_XERO_CLIENT_ID}
              client_secret: ${DEMO_XERO_CLIENT_SECRET}
              grant: refresh_token
              scopes: [accounting.transactions, offline_access]
              refresh_token: ${DEMO_XERO_REFRESH_TOKEN}
          # Point-to-point back: the invoices Xero holds (and those the hub created) pulled for the aging
          # panel; the runs between daily full ones ask only for what changed.
          xero-ar:
            module: xero-invoices-pull
            system: Xero
            base_url: \(mocks)/xero
            headers:
              Xero-Tenant-Id: demo-organisation
            schedule: every 1m
            auth:
              type: oauth2
              token_url: \(mocks)/xero/identity/connect/token
              client_id: ${DEMO_XERO_CLIENT_ID}
              client_secret: ${DEMO_XERO_CLIENT_SECRET}
              grant: client_credentials
              scopes: [accounting.transactions.read]

          # Hub-and-spoke: the CRM talks only to the hub; the hub feeds the ERP and the warehouse.
          crm-contacts:
            module: webhook
            pattern: hub
            system: HubSpot CRM
            signature: github
            secret: ${DEMO_CRM_SECRET}
          erp-sync:
            module: http
            pattern: hub
            system: ERP
            url: \(mocks)/erp/records
            subscribe: [contact_updated, shipment_confirmed]
            concurrency: 4
            timeout: 10s
            # The ERP's maintenance windows open the breaker; a probe every 10 s closes it after.
            breaker: {after: 4, probe_every: 10s}
          warehouse-sync:
            module: http
            pattern: hub
            system: Warehouse
            url: \(mocks)/warehouse/records
            subscribe: [contact_updated, stock_level_changed]
            concurrency: 4
            timeout: 10s
          crm-sync:
            module: http
            pattern: hub
            system: HubSpot CRM
            url: \(mocks)/crm/timeline
            subscribe: [shipment_confirmed]
            timeout: 10s

          # Event-driven: order_created fans out to three subscribers that never wait for each other.
          storefront-events:
            module: webhook
            pattern: event
            system: Storefront
            signature: standard-webhooks
            secret: ${DEMO_STOREFRONT_SECRET}
          inventory-reserve:
            module: http
            pattern: event
            system: Inventory
            url: \(mocks)/inventory/reservations
            subscribe: [order_created]
            concurrency: 4
            timeout: 10s
          shipping-labels:
            module: http
            pattern: event
            system: Shipping
            url: \(mocks)/shipping/labels
            subscribe: [order_created]
            concurrency: 2
            timeout: 10s
            retry: {max_attempts: 6}
          accounting-invoices:
            module: http
            pattern: event
            system: Xero
            url: \(mocks)/accounting/invoices
            subscribe: [order_created]
            timeout: 10s

          # Batch ETL: file drops loaded on a schedule.
          erp-stock-export:
            module: csv-events
            system: ERP
            path: \(exports)/erp-stock.csv
            topic: stock_level_changed
            key_column: sku
            schedule: every 1m
          reporting-warehouse:
            module: file
            pattern: batch
            system: Data warehouse
            directory: \(exports)/warehouse
            format: csv
            columns: [sku, on_hand, warehouse]
            subscribe: [stock_level_changed]
          quickbooks-ar:
            module: quickbooks-csv
            system: QuickBooks
            path: \(exports)/quickbooks-ar-eur.csv
            currency: EUR
            schedule: every 1m
        """
    }

    static let secrets: [String: String] = [
        "DEMO_SHOPIFY_SECRET": "shpss_demo_secret_\(UInt32.random(in: 0...UInt32.max))",
        "DEMO_CRM_SECRET": "crm-demo-\(UInt32.random(in: 0...UInt32.max))",
        // Standard Webhooks secrets are base64 after `whsec_`.
        "DEMO_STOREFRONT_SECRET": "whsec_" + Data((0..<24).map { _ in UInt8.random(in: 0...255) }).base64EncodedString(),
        "DEMO_XERO_CLIENT_ID": "DEMOXEROCLIENT\(UInt32.random(in: 0...UInt32.max))",
        "DEMO_XERO_CLIENT_SECRET": "demo-xero-secret-\(UUID().uuidString)",
        "DEMO_XERO_REFRESH_TOKEN": "demo-xero-rt-0-\(UUID().uuidString.prefix(8))",
    ]
}
