#!/usr/bin/env python3
"""Writes the seed corpora in Fuzz/Corpus/<target>/seed-*.

Seeds come from the shared fixtures (../shared/fixtures beside the project), the project's own
fixtures, README.md's YAML examples, and hand-made nasty cases. Run it again after changing a
fixture; it only rewrites files named seed-*, so inputs libFuzzer added (and regression inputs,
named crash-* / regression-*) stay.

    python3 Fuzz/make-seeds.py
"""
import base64
import hashlib
import hmac
import json
import os
import re

FUZZ = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(FUZZ)
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "fixtures")
CORPUS = os.path.join(FUZZ, "Corpus")


def write(target, name, data):
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(directory, "seed-" + name), "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


# ---------------------------------------------------------------------------------------------
# FuzzWebhookSignature. Layout: control byte, signature value, webhook-id, webhook-timestamp,
# `Name: value` lines, empty line, body. Control byte 0 = the fixture's `now` and 300 s tolerance
# (see the tables in FuzzWebhookSignature.swift: now = nows[c % 12], tolerance = tolerances[(c / 12) % 9]).

def webhook(name, signature, body=b"", webhook_id="msg_fuzz", timestamp="1795611248", extra=(), control=0):
    lines = [signature, webhook_id, timestamp] + [f"{k}: {v}" for k, v in extra]
    head = b"\n".join(x if isinstance(x, bytes) else x.encode("utf-8") for x in lines)
    if isinstance(body, str):
        body = body.encode("utf-8")
    write("FuzzWebhookSignature", name, bytes([control]) + head + b"\n\n" + body)


vectors = json.loads(read(os.path.join(SHARED, "webhooks", "signature-vectors.json")))
NOW = 1795611248

shopify = vectors["shopify"]
shopify_body = read(os.path.join(SHARED, shopify["body_file"]))
shopify_headers = [tuple(l.split(": ", 1)) for l in read(os.path.join(SHARED, "shopify", "orders-create.headers")).decode().splitlines() if ": " in l]
webhook("shopify-valid", shopify["expected"], shopify_body,
        extra=[(k, v) for k, v in shopify_headers if k != shopify["header"]])
webhook("shopify-bad-mac", base64.b64encode(b"\0" * 32).decode(), shopify_body, extra=shopify_headers)
webhook("shopify-short-mac", base64.b64encode(b"\1" * 31).decode(), shopify_body)
webhook("shopify-mid-padding", "o67CQLYQ/5HW=q7lKFG8bbJgVCBAH0Sebujz4rBLrYA=", shopify_body)

github = vectors["github"]
webhook("github-valid", github["expected"], github["body"])
webhook("github-uppercase-hex", "sha256=" + github["expected"][len("sha256="):].upper(), github["body"])
webhook("github-sha1", "sha1=" + "0" * 40, github["body"])
webhook("github-odd-hex", "sha256=" + "a" * 63, github["body"])
webhook("github-nonhex", "sha256=" + "g" * 64, github["body"])

std = vectors["standard_webhooks"]
webhook("standard-valid", std["expected"], std["body"], webhook_id=std["webhook-id"], timestamp=std["webhook-timestamp"])
webhook("standard-many", "v1a,xx v2,abc  " + std["expected"] + " v1,AAAA", std["body"],
        webhook_id=std["webhook-id"], timestamp=std["webhook-timestamp"])
webhook("standard-stale", std["expected"], std["body"], webhook_id=std["webhook-id"], timestamp=std["webhook-timestamp"], control=1)
webhook("standard-16-digit-ts", std["expected"], std["body"], webhook_id=std["webhook-id"], timestamp="1" * 16)
webhook("standard-negative-ts", std["expected"], std["body"], webhook_id=std["webhook-id"], timestamp="-1795611248")
webhook("standard-nan-now", std["expected"], std["body"], webhook_id=std["webhook-id"], timestamp=std["webhook-timestamp"], control=9)

stripe_secret = "whsec_stripe_fixture_secret_0123"  # FuzzWebhookSignature.swift: stripeSecrets[0]
stripe_body = '{"id":"evt_1Fuzz","type":"invoice.paid","data":{"object":{"id":"in_1"}}}'
stripe_mac = hmac.new(stripe_secret.encode(), f"{NOW}.{stripe_body}".encode(), hashlib.sha256).hexdigest()
webhook("stripe-valid", f"t={NOW},v1={stripe_mac},v0=deadbeef", stripe_body)
webhook("stripe-spaces", f" t = {NOW} , v1 = {'0' * 64} ,v1={stripe_mac}", stripe_body)
webhook("stripe-two-t", f"t={NOW},t={NOW},v1={stripe_mac}", stripe_body)
webhook("stripe-no-v1", f"t={NOW},v0={stripe_mac}", stripe_body)
webhook("stripe-huge-t", f"t=999999999999999,v1={stripe_mac}", stripe_body)
webhook("stripe-infinite-now", f"t={NOW},v1={stripe_mac}", stripe_body, control=7)

webhook("empty-headers", "", "{}")
webhook("long-header", "x" * 9000, "{}")
webhook("non-utf8-header", b"t=\xff\xfe,v1=\xc0\xaf", b"\xff\xfe{}")
webhook("nul-in-header", "sha256=\x00" + "0" * 63, "{}")
webhook("non-utf8-body", github["expected"], b"\xed\xa0\x80\xf4\x90\x80\x80\xc0\xaf{\"type\":\"x\"}")
webhook("deep-json", "", "[" * 700 + "]" * 700)
webhook("json-fields", "", '{"type":"order_created","id":"\\ud800\\u0000\\u202e","x":1e999}',
        extra=[("X-Shopify-Topic", "orders/create"), ("X-Request-Id", "\u202e\u0007"), ("webhook-id", "id\u2028")])
webhook("json-array", "", '[{"type":"a","id":"b"}]')
webhook("shopify-order-minimal", "", json.dumps({
    "id": 1, "name": "#1", "order_number": 1, "created_at": "2026-11-20T09:14:07+01:00", "currency": "JPY",
    "total_price": "100", "subtotal_price": "100", "total_tax": "0", "line_items": [
        {"title": "a", "quantity": 1, "price": "100.5", "sku": None}]}),
        extra=[("X-Shopify-Topic", "orders/create")])
webhook("key-too-long", "", '{"type":"t","id":"' + "k" * 201 + '"}')
webhook("crlf-headers", "sha256=" + "0" * 64 + "\r", "{}")

# ---------------------------------------------------------------------------------------------
# FuzzCSV: files as they are.

qb = read(os.path.join(SHARED, "quickbooks", "ar-aging-detail.csv"))
xero = read(os.path.join(ROOT, "Tests", "Fixtures", "xero", "sales-invoices.csv"))
write("FuzzCSV", "quickbooks-fixture.csv", qb)
write("FuzzCSV", "xero-fixture.csv", xero)
write("FuzzCSV", "quickbooks-bom-crlf.csv", b"\xef\xbb\xbf" + qb.replace(b"\n", b"\r\n"))
write("FuzzCSV", "xero-cr-only.csv", xero.replace(b"\n", b"\r"))
write("FuzzCSV", "quickbooks-report.csv", (
    "A/R Aging Detail\nAtelier Demo\nAs of November 30, 2026\n\n"
    ",Date,Transaction Type,Num,Customer,Due Date,Amount,Open Balance\n"
    "Current,,,,,,,\n"
    ",11/29/2026,Invoice,INV-1,\"Smith, Jones & \"\"Partners\"\"\",12/29/2026,\"1,000.00\",(250.00)\n"
    ",11/29/2026,Payment,,Smith,,-100.00,-100.00\n"
    ",11/29/2026,Payment,,Smith,,-100.00,-100.00\n"
    ",11/30/2026,Payment,7,Smith,,-5.00,-5.00\n"
    "Total for Current,,,,,,\"1,000.00\",\"750.00\"\n"
    "1 - 30 days past due,,,,,,,\n"
    ",10/01/2026,Credit Memo,CM-1,Kowalski,,-50,-50\n"
    "TOTAL,,,,,,\"950.00\",\"700.00\"\n\n"
    "\"Monday, Dec 01, 2026 09:00:00 AM GMT+1\"\nAccrual Basis\n"))
write("FuzzCSV", "quickbooks-bad-date.csv", "Date,Transaction Type,Num,Customer,Due Date,Amount,Open Balance\n"
      "02/30/2026,Invoice,1,A,13/01/2026,1.00,1.00\n")
write("FuzzCSV", "quickbooks-duplicate.csv", "Date,Transaction Type,Num,Customer,Due Date,Amount,Open Balance\n"
      "01/02/2026,Invoice,1,A,,1.00,1.00\n01/03/2026,Invoice,1,B,,2.00,2.00\n")
write("FuzzCSV", "quickbooks-amounts.csv", "Date,Type,No.,Name,Due Date,Amount,Open Balance\n"
      "1/2/2026,Invoice,1,A,,\"1,00.00\",99999999999999999999\n1/2/2026,Invoice,2,A,,1.005,-\n"
      "1/2/2026,Invoice,3,A,,(),$5\n")
write("FuzzCSV", "quickbooks-quotes.csv", "Date,Transaction Type,Num,Customer,Due Date,Amount,Open Balance\n"
      "\"01/02/2026\",\"Invoice\",\"1\",\"multi\nline\r\ncustomer\",,1.00,1.00\n01/02/2026,Invoice,2,a\"b,,1,1\n"
      "\"unterminated,,,\n")
write("FuzzCSV", "xero-mixed.csv", "*ContactName,*InvoiceNumber,*InvoiceDate,*DueDate,Total,InvoiceAmountDue,Currency,Type,Status\n"
      "A,INV-1,20 Nov 2026,2026-12-20T00:00:00,100.00,100.00,jpy,Sales invoice,Awaiting Payment\n"
      "A,INV-1,20 Nov 2026,2026-12-20T00:00:00,100.00,100.00,jpy,Sales invoice,Awaiting Payment\n"
      "A,INV-1,21 Nov 2026,2026-12-20,100.00,100.00,JPY,Sales invoice,Awaiting Payment\n"
      "B,CN-1,01 September 2026,,5.000,5.000,KWD,Sales credit note,Paid\n"
      "C,BILL-1,2026-02-29,,1,1,EUR,Purchase bill,Awaiting Payment\n"
      "D,INV-2,2026/11/20,,1,1,EUR,,Weird\n")
write("FuzzCSV", "xero-duplicate-header.csv", "ContactName,Contact,InvoiceNumber,InvoiceDate,DueDate,Total,InvoiceAmountDue\nA,A,1,2026-01-01,,1,1\n")
write("FuzzCSV", "missing-columns.csv", "Date,Customer,Amount\n01/01/2026,A,1.00\n")
write("FuzzCSV", "not-utf8.csv", b"Date,Transaction Type,Num,Customer,Due Date,Amount,Open Balance\n01/02/2026,Invoice,1,Caf\xe9,,1.00,1.00\n")
write("FuzzCSV", "empty.csv", "")
write("FuzzCSV", "blank-lines.csv", "\n\n ,\t\n\r\n")

# ---------------------------------------------------------------------------------------------
# FuzzSafeText: UTF-8 text; the target also reads the bytes as 3-byte scalars.

texts = {
    "ansi-colour": "plain \x1b[31mred\x1b[0m \x1b]0;title\x07 \x1b]52;c;ZXZpbA==\x07 end",
    "c1-controls": "csi \u009b31m osc \u009d0;t\u009c dcs \u0090q\u009c nel \u0085",
    "bidi": "invoice \u202egnp.exe\u202c \u2066isolate\u2069 \u200f\u200e \u061c \u202a\u202b\u202d",
    "separators": "line\u2028separator\u2029paragraph\r\nwindows\rmac\nunix\ttab\x7fdel\x08bs",
    "annotations": "\ufff9ruby\ufffabase\ufffb \ufeffbom \u200bzwsp \u00a0nbsp",
    "combining": "\x1b\u0301 \u202e\u0301 e\u0301 \U0001F1EB\U0001F1F7 \U0001F469\u200d\U0001F4BB",
    "clean": "Atelier Moreau SARL — INV-0101 141.61 EUR ✓",
}
for name, text in texts.items():
    write("FuzzSafeText", name, text)
write("FuzzSafeText", "invalid-utf8", b"\xff\xfe\xc0\xaf\xed\xa0\x80\xe2\x80\xf4\x90\x80\x80\xc2\x9b[2J")
write("FuzzSafeText", "scalars-3byte", bytes([0, 0, 0x1B, 0, 0x20, 0x2E, 0, 0, 0x9B, 0, 0x20, 0x28, 0x10, 0xFF, 0xFF, 0, 0xD8, 0]))

# ---------------------------------------------------------------------------------------------
# FuzzConfig: README.md's examples, files that load with an empty environment, and broken ones.

readme = read(os.path.join(ROOT, "README.md")).decode()
blocks = re.findall(r"```yaml\n(.*?)```", readme, re.S)
for i, block in enumerate(blocks, 1):
    write("FuzzConfig", f"readme-{i}.yaml", block if block.startswith(("database", "server", "connectors")) else "connectors:\n" + block)
write("FuzzConfig", "readme-all.yaml", blocks[0] + "".join(blocks[1:]))

write("FuzzConfig", "loads.yaml", """\
server: {listen: "[::1]:0", max_body: 4MiB}
delivery: {lease: 2m, poll: 10ms, batch: 10_000}
retry: {max_attempts: 3, base_delay: 250ms, multiplier: 1.5, max_delay: 1h, jitter: 0, max_retry_after: 0}
connectors:
  in:
    module: webhook
    signature: none
    topic: order_created
    path: /hooks/in
    max_body: 512KiB
    tolerance: 10s
    correlation_header: X-Request-Id
  out:
    module: http
    url: https://example.com/orders
    method: PUT
    headers: {X-Static: "1"}
    from: [in]
    rate_limit: 5/s
    timeout: 100s
    retry: {max_attempts: 2}
  xero:
    module: xero
    url: https://api.xero.com/api.xro/2.0/Invoices
    subscribe: ["*"]
    transform: {name: xero-invoice, due_in_days: 30, status: DRAFT}
  files:
    module: file
    directory: out
    format: csv
    columns: [id]
    subscribe: order_created
  run:
    module: exec
    command: cat > /dev/null
    permanent_exit_codes: [1, 255]
    subscribe: [a, b]
  import:
    module: xero-csv
    path: ar.csv
    currency: gbp
    chunk: 1
    schedule: daily 23:59
  events:
    module: csv-events
    path: /srv/e.csv
    topic: t
    schedule: every 1d
""")
write("FuzzConfig", "errors.yaml", """\
database:
server:
  listen: localhost
  max_body: 9999999999999999999GiB
  timout: 5s
delivery: {lease: 1s, poll: -1, batch: 0}
retry: {max_attempts: 1001, jitter: nan, multiplier: .inf}
retention: {keep_delivered: 1s}
log: {level: loud}
connectors:
  "bad name!":
    module: nope
  dup-path-1: {module: webhook, signature: shopify, secret: inline-secret, path: /x}
  dup-path-2: {module: webhook, signature: github, secrets: [plain, "${UNSET}"], path: /x}
  sink:
    module: http
    url: ftp://example.com
    headers: {Authorization: Bearer abc}
    from: [missing]
    rate_limit: 0/s
    timeout: 600s
    concurrency: 0
  job: {module: csv-events, schedule: daily 24:00}
""")
write("FuzzConfig", "yaml-syntax.yaml", "connectors:\n  a: [unclosed\n  b: {x: 1\n\t- tab\n")
write("FuzzConfig", "yaml-anchors.yaml", "base: &b {module: http, url: 'https://x.example', subscribe: [a]}\nconnectors:\n  a: *b\n  c:\n    <<: *b\n")
write("FuzzConfig", "yaml-duplicate-keys.yaml", "connectors:\n  a: {module: webhook}\n  a: {module: webhook}\n")
write("FuzzConfig", "yaml-types.yaml", "connectors: [a, b]\nserver: 3\ndelivery: [1]\n")
write("FuzzConfig", "yaml-deep.yaml", "connectors: " + "[" * 200 + "]" * 200 + "\n")
write("FuzzConfig", "yaml-deepest.yaml", "connectors:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 400)) + "[" * 590 + "]" * 590 + "\n")
write("FuzzConfig", "yaml-interpolation.yaml", "connectors:\n  h:\n    module: http\n    url: 'https://${HOST'\n    headers: {X-A: '${1BAD}', X-B: '${}'}\n    subscribe: [x]\n")
write("FuzzConfig", "yaml-tags-multidoc.yaml", "--- !!map\nconnectors: !!str x\n...\n---\nother: 1\n")
write("FuzzConfig", "empty.yaml", "")
