import Foundation
import PatchbayStore
import PatchbayValues
import TerminalUI

extension Dashboard {
    /// Applies one input: a key, a mouse action or a resize.
    public func handle(_ event: InputEvent) {
        switch event {
        case .resize:
            break
        case .mouse(let action, let x, let y):
            handleMouse(action, x: x, y: y)
        case .key(let key):
            if state.confirmation != nil { handleConfirmation(key) }
            else if state.input != nil { handleInput(key) }
            else { handleKey(key) }
        }
    }

    private func handleConfirmation(_ key: Key) {
        switch key {
        case .character("y"), .character("Y"):
            if let confirmation = state.confirmation { perform(confirmation.action) }
            state.confirmation = nil
        case .character("n"), .character("N"), .escape, .character("q"):
            state.confirmation = nil
            toast("Cancelled")
        case .ctrl("c"):
            shouldQuit = true
        default:
            break  // only y or n answer a question: no action happens without a real key
        }
    }

    private func handleInput(_ key: Key) {
        guard var input = state.input else { return }
        switch key {
        case .escape:
            state.input = nil
            if state.inputPurpose == .filter { setFilter("") }
            return
        case .enter:
            state.input = nil
            if state.inputPurpose == .command { runCommand(input.text) } else { setFilter(input.text) }
            return
        case .backspace: input.backspace()
        case .left: input.moveLeft()
        case .right: input.moveRight()
        case .character(let c): input.insert(c)
        case .ctrl("c"): shouldQuit = true
        case .ctrl("u"): input = InputLine(prompt: input.prompt)
        default: break
        }
        state.input = input
        if state.inputPurpose == .filter, state.screen != .events { setFilter(input.text) }
    }

    private func setFilter(_ text: String) {
        if state.screen == .events {
            state.eventFilter.text = text.isEmpty ? nil : text
            state.eventBefore = nil
            state.eventCursors = []
            state.lists["events", default: ListState()].selected = 0
            reload()
            return
        }
        state.lists[state.listKey, default: ListState()].filter = text
        state.lists[state.listKey, default: ListState()].selected = 0
    }

    private func handleKey(_ key: Key) {
        if state.showHelp {
            if key == .character("?") || key == .escape || key == .character("q") { state.showHelp = false }
            return
        }
        let rows = currentRows()
        let count = rows?.ids.count ?? 0
        let key_ = state.listKey
        let page = 10
        switch key {
        case .character("q"), .ctrl("c"): shouldQuit = true
        case .character("?"): state.showHelp = true
        case .escape: back()
        case .character("1"): go(.overview)
        case .character("2"): go(.connectors)
        case .character("3"): go(.failed)
        case .character("4"): go(.retryQueue)
        case .character("5"): go(.events)
        case .character("6"):
            if let id = lastEventId() { go(.detail(id)) } else { toast("No event selected yet: open one from the history (5)") }
        case .character("7"): go(.aging)
        case .character("8"): go(.map)
        case .character("9"): go(.alerts)
        case .tab, .backTab:
            let forward = key == .tab
            if state.screen == .map, count > 0 {
                // Next (previous) integration, round the end.
                var list = state.list(key_)
                list.selected = (min(list.selected, count - 1) + (forward ? 1 : count - 1)) % count
                state.lists[key_] = list
            } else if state.screen == .overview {
                let all = OverviewPanel.allCases
                let next = (state.panel.rawValue + (forward ? 1 : all.count - 1)) % all.count
                state.panel = all[next]
            } else if case .detail = state.screen, let detail = state.detail, !detail.deliveries.isEmpty {
                state.detailDelivery = (state.detailDelivery + (forward ? 1 : detail.deliveries.count - 1)) % detail.deliveries.count
            }
        case .character("j"), .down: move(1, count: count)
        case .character("k"), .up: move(-1, count: count)
        case .character("g"), .home: move(-Int.max / 2, count: count)
        case .character("G"), .end: move(Int.max / 2, count: count)
        case .pageDown:
            if state.screen == .events, state.list(key_).selected >= count - 1 { nextEventPage() }
            else { move(page, count: count) }
        case .pageUp:
            if state.screen == .events, state.list(key_).selected == 0 { previousEventPage() }
            else { move(-page, count: count) }
        case .character("h"), .left: moveColumn(-1, rows: rows)
        case .character("l"), .right: moveColumn(1, rows: rows)
        case .character("s"): sort(rows: rows)
        case .enter: drillIn()
        case .character("/"):
            state.input = InputLine(prompt: state.screen == .events ? "search: " : "filter: ",
                                    text: state.screen == .events ? (state.eventFilter.text ?? "") : state.list(key_).filter)
            state.inputPurpose = .filter
        case .character(":"):
            state.input = InputLine(prompt: ":")
            state.inputPurpose = .command
        case .character(" "):
            if let id = selectedId(), markable {
                var list = state.list(key_)
                if list.marked.contains(id) { list.marked.remove(id) } else { list.marked.insert(id) }
                list.move(by: 1, count: count)
                state.lists[key_] = list
            }
        case .character("r"): retrySelected()
        case .character("R"): retryAll()
        case .character("d"): discardSelected()
        case .character("p"): togglePause()
        case .character("x"): askRunNow()
        case .character("+"), .character("="):
            state.window = state.window.wider
            reload()
        case .character("-"), .character("_"):
            state.window = state.window.narrower
            reload()
        case .ctrl("r"):
            if state.screen == .map { state.mapRequestedAt = nil }
            state.moneyRequestedAt = nil
            reload()
            toast("Refreshed")
        case .character("L"):
            state.live.toggle()
            toast(state.live ? "Live updates on" : "Live updates paused (ctrl-r refreshes)")
        case .character("v") where state.screen == .failed:
            state.failedGrouped.toggle()
            state.failedGroupFilter = nil
            reload()
        case .character("b") where state.screen == .aging:
            state.agingBasis = state.agingBasis == .due ? .invoice : .due
            reload()
        default:
            break
        }
    }

    private var markable: Bool {
        switch state.screen {
        case .failed: return !(state.failedGrouped && state.failedGroupFilter == nil)
        case .retryQueue: return true
        default: return false
        }
    }

    private func move(_ delta: Int, count: Int) {
        if case .detail = state.screen {
            state.detailScroll = max(0, state.detailScroll + max(-1000, min(1000, delta)))
            return
        }
        state.lists[state.listKey, default: ListState()].move(by: delta, count: count)
        // The failed list loads a page at a time: reaching its last loaded row loads one more.
        if delta > 0, state.listKey == "failed.rows", state.failures.count >= state.failedLimit,
           state.list("failed.rows").selected >= state.failures.count - 1 {
            state.failedLimit += DashboardState.failedPage
            reload()
        }
    }

    private func moveColumn(_ delta: Int, rows: RowSet?) {
        guard let rows, !rows.columns.isEmpty else { return }
        var list = state.list(state.listKey)
        list.focusedColumn = min(rows.columns.count - 1, max(0, list.focusedColumn + delta))
        state.lists[state.listKey] = list
    }

    private func sort(rows: RowSet?) {
        guard rows != nil, state.screen != .overview else { return }
        var list = state.list(state.listKey)
        if list.sortColumn == list.focusedColumn {
            if list.sortDescending { list.sortColumn = nil; list.sortDescending = false } else { list.sortDescending = true }
        } else {
            list.sortColumn = list.focusedColumn
            list.sortDescending = false
        }
        state.lists[state.listKey] = list
    }

    private func lastEventId() -> EventID? {
        for screen in state.history.reversed() { if case .detail(let id) = screen { return id } }
        if case .detail(let id) = state.screen { return id }
        return nil
    }

    private func nextEventPage() {
        guard let next = state.eventPage?.nextCursor else { toast("End of the log"); return }
        state.eventCursors.append(state.eventBefore)
        state.eventBefore = next
        state.lists["events", default: ListState()].selected = 0
        reload()
    }

    private func previousEventPage() {
        guard let previous = state.eventCursors.popLast() else { return }
        state.eventBefore = previous
        state.lists["events", default: ListState()].selected = Int.max / 2
        reload()
    }

    private func drillIn() {
        switch state.screen {
        case .overview:
            switch state.panel {
            case .throughput: go(.connectors)
            case .failed:
                if let id = selectedId(), let group = state.overview?.groups.first(where: { $0.id == id }) {
                    state.failedGroupFilter = group
                }
                go(.failed)
            case .retryQueue:
                if let id = selectedId(), let row = state.overview?.retryQueue.first(where: { $0.id == id }) {
                    go(.detail(row.eventId))
                } else { go(.retryQueue) }
            case .aging: go(.aging)
            }
        case .failed:
            guard let id = selectedId() else { return }
            if state.failedGrouped && state.failedGroupFilter == nil {
                if let group = state.groups.first(where: { $0.id == id }) {
                    state.history.append(.failed)
                    state.failedGroupFilter = group
                    state.lists["failed.rows"] = ListState()
                    reload()
                }
            } else if let row = state.failures.first(where: { $0.id == id }) {
                go(.detail(row.eventId))
            }
        case .retryQueue:
            if let id = selectedId(), let row = state.retryRows.first(where: { $0.id == id }) { go(.detail(row.eventId)) }
        case .events:
            if let id = selectedId() { go(.detail(id)) }
        case .connectors:
            if let id = selectedId() {
                state.failedConnector = id
                state.failedGroupFilter = nil
                state.failedGrouped = false
                go(.failed)
            }
        case .aging:
            guard let rows = currentRows(), !rows.rows.isEmpty else { return }
            let row = rows.rows[min(state.list("aging").selected, rows.rows.count - 1)]
            go(.invoices(customer: row[1].plainText, currency: row[0].plainText))
        case .map:
            openSelectedEdge()
        case .alerts:
            openSelectedAlert()
        case .detail, .invoices:
            break
        }
    }

    /// `enter` on an alert: where its subject is. A sink's failures (flat), a source or batch job in
    /// the connectors view, a currency's invoice aging; an alert about the whole hub (`*`), all failures.
    private func openSelectedAlert() {
        guard let id = selectedId(), let alert = state.alertRows.first(where: { $0.id == id }) else { return }
        if alert.kind == .invoicesOverdue { go(.aging); return }
        let statuses = state.overview?.statuses ?? state.connectorStatuses
        if let connector = statuses.first(where: { $0.connector.name == alert.subject })?.connector {
            if connector.direction == .sink {
                state.failedConnector = connector.id
                state.failedGroupFilter = nil
                state.failedGrouped = false
                go(.failed)
            } else {
                state.focusConnector = connector.name
                go(.connectors)
                applyConnectorFocus()
            }
        } else if alert.subject == "*" {
            state.failedConnector = nil
            state.failedGroupFilter = nil
            go(.failed)
        } else {
            toast("No connector named '\(alert.subject)' (removed from the hub?)", error: true)
        }
    }

    // MARK: Actions

    /// Deliveries the operator means: the marked ones, else the selected one.
    private func targetDeliveries() -> [DeliveryID] {
        if case .detail = state.screen {
            guard let detail = state.detail, !detail.deliveries.isEmpty else { return [] }
            return [detail.deliveries[min(state.detailDelivery, detail.deliveries.count - 1)].delivery.id]
        }
        guard markable else { return [] }
        let marked = state.list(state.listKey).marked
        if !marked.isEmpty { return marked.sorted() }
        return selectedId().map { [$0] } ?? []
    }

    private func selectedGroup() -> ErrorGroup? {
        guard let id = selectedId() else { return nil }
        if state.screen == .overview, state.panel == .failed { return state.overview?.groups.first { $0.id == id } }
        if state.screen == .failed, state.failedGrouped, state.failedGroupFilter == nil {
            return state.groups.first { $0.id == id }
        }
        return nil
    }

    private func retrySelected() {
        if let group = selectedGroup() { askRetry(group: group); return }
        let ids = targetDeliveries()
        guard !ids.isEmpty else { toast("Select a delivery or an error group to retry"); return }
        perform(.retry(ids))
    }

    private func retryAll() {
        if let group = selectedGroup() { askRetry(group: group); return }
        switch state.screen {
        case .failed, .retryQueue:
            guard let rows = currentRows(), !rows.ids.isEmpty else { toast("Nothing to retry"); return }
            let filterText = state.list(state.listKey).filter
            if !filterText.isEmpty || state.screen == .retryQueue {
                state.confirmation = Confirmation(
                    title: "Retry",
                    message: "Retry \(rows.ids.count) deliveries shown\(filterText.isEmpty ? "" : " by the filter '\(filterText)'")?",
                    action: .retry(rows.ids))
            } else {
                let filter = failureFilter()
                let description = state.failedGroupFilter.map { "in error group \($0.id) (\($0.connector))" }
                    ?? (state.failedConnector.flatMap { id in state.overview?.statuses.first { $0.connector.id == id }?.connector.name }
                        .map { "for \($0)" } ?? "across all connectors")
                askRetry(filter: filter, description: description)
            }
        default:
            toast("R retries what a failed list or error group shows")
        }
    }

    private func askRetry(group: ErrorGroup) {
        askRetry(filter: FailureFilter(connectorId: group.connectorId, errorGroupId: group.id),
                 description: "for \(group.connector) (\(group.signature))")
    }

    private func askRetry(filter: FailureFilter, description: String) {
        guard let actor else { toast("Read-only: retry is disabled (opened with --read-only)", error: true); return }
        executor.submit {
            do {
                let count = try actor.countFailing(filter)
                if count == 0 { return .actionDone("Nothing to retry \(description)", isError: false) }
                return .confirm(Confirmation(
                    title: "Retry", message: "Retry \(count) failing deliveries \(description)?",
                    action: .retryMatching(filter, description: description)))
            } catch {
                return .actionDone("\(error)", isError: true)
            }
        }
    }

    private func discardSelected() {
        let ids = targetDeliveries()
        guard !ids.isEmpty else { toast("Select a delivery to discard"); return }
        state.confirmation = Confirmation(
            title: "Discard",
            message: ids.count == 1 ? "Discard delivery \(ids[0])? It will not be tried again unless retried."
                : "Discard \(ids.count) deliveries? They will not be tried again unless retried.",
            action: .discard(ids))
    }

    private func togglePause() {
        guard state.screen == .connectors, let id = selectedId(),
              let status = state.connectorStatuses.first(where: { $0.connector.id == id }) else {
            toast("p pauses or resumes the selected connector (2)")
            return
        }
        perform(.pause(status.connector.name, !status.connector.paused))
    }

    /// `x` on a batch job in the connectors view: asks, then has the hub run it now.
    private func askRunNow() {
        guard state.screen == .connectors, let id = selectedId(),
              let status = state.connectorStatuses.first(where: { $0.connector.id == id }) else {
            toast("x runs the selected batch job now (2)")
            return
        }
        guard state.connectorHealth.jobs[id] != nil else {
            toast("\(status.connector.name) is not a batch job: x runs batch jobs now", error: true)
            return
        }
        guard actor != nil else { toast("Read-only: actions are disabled (opened with --read-only)", error: true); return }
        state.confirmation = Confirmation(
            title: "Run now", message: "Run \(status.connector.name) now? The hub starts it within seconds.",
            action: .runNow(status.connector.name))
    }

    /// Carries out an operator's action through the store, off the loop, then reports and reloads.
    func perform(_ action: OperatorAction) {
        guard let actor else {
            toast("Read-only: actions are disabled (opened with --read-only)", error: true)
            return
        }
        let knownRows = state.failures + state.retryRows + (state.overview?.retryQueue ?? [])
        var names_: [DeliveryID: String] = [:]
        for row in knownRows { names_[row.id] = row.connector }
        if let detail = state.detail { for d in detail.deliveries { names_[d.delivery.id] = d.connector } }
        let connectorOf = names_
        // Clear marks: they were consumed by this action.
        state.lists[state.listKey, default: ListState()].marked = []
        executor.submit {
            do {
                switch action {
                case .retry(let ids):
                    let result = try actor.requeue(ids)
                    return .actionDone(Self.describe(result, verb: "Requeued", connectors: connectorOf), isError: result.changed.isEmpty)
                case .retryMatching(let filter, let description):
                    let result = try actor.requeue(matching: filter)
                    return .actionDone("Requeued \(Self.plural(result.changed.count)) \(description)", isError: false)
                case .discard(let ids):
                    let result = try actor.discardDeliveries(ids)
                    return .actionDone(Self.describe(result, verb: "Discarded", connectors: connectorOf), isError: result.changed.isEmpty)
                case .pause(let name, let paused):
                    _ = try actor.pause(name, paused: paused)
                    return .actionDone(paused ? "Paused \(name): its deliveries wait in the queue" : "Resumed \(name)", isError: false)
                case .runNow(let job):
                    try actor.requestRun(job)
                    return .actionDone("Asked for a run of \(job): the hub starts it within seconds", isError: false)
                case .replay(let filter, let target):
                    let result = try actor.replay(filter, to: target, dryRun: false)
                    return .actionDone(Self.describeReplay(result, to: target), isError: result.queued == 0)
                }
            } catch {
                return .actionDone("\(error)", isError: true)
            }
        }
    }

    /// `:replay to=CONNECTOR` in the event history: the history's filter as a replay's, counted by a
    /// dry run off the loop, then a question with the counts; `y` replays.
    private func askReplay(options: [String: String], positional: [String]) {
        guard let actor else { toast("Read-only: actions are disabled (opened with --read-only)", error: true); return }
        guard state.screen == .events else {
            toast(":replay sends what the event history shows: open it first (5 or :events topic=… since=…)", error: true)
            return
        }
        let unknown = options.keys.filter { $0 != "to" }.sorted() + positional
        guard let target = options["to"], !target.isEmpty, unknown.isEmpty else {
            toast(":replay takes to=CONNECTOR, the sink to send the history's events to", error: true)
            return
        }
        let filter: ReplayFilter
        switch replayFilter(state.eventFilter) {
        case .success(let value): filter = value
        case .failure(let refusal): toast(refusal.message, error: true); return
        }
        executor.submit {
            do {
                let plan = try actor.replay(filter, to: target, dryRun: true)
                if plan.matched == 0 {
                    return .actionDone("Nothing to replay: no event matches the history's filter", isError: false)
                }
                if plan.queued == 0 {
                    return .actionDone("Nothing to replay: \(Self.eventCount(plan.matched)) already queued for \(target)",
                                       isError: false)
                }
                return .confirm(Confirmation(title: "Replay", message: Self.replayQuestion(plan, to: target),
                                             action: .replay(filter, to: target)))
            } catch {
                return .actionDone("\(error)", isError: true)
            }
        }
    }

    struct ReplayRefusal: Error { var message: String }

    /// The event history's filter as a replay's, or why it cannot be one. A replay selects events by
    /// what they are (topic, source, time, payload); the history can also filter by a delivery (its
    /// connector, state or correlation), which a replay cannot express.
    func replayFilter(_ events: EventFilter) -> Result<ReplayFilter, ReplayRefusal> {
        var filter = ReplayFilter(topic: events.topic, since: events.since, until: events.until, text: events.text)
        if let state = events.state {
            return .failure(ReplayRefusal(message:
                "Cannot replay by delivery state (the history shows state=\(state.rawValue)): clear it with :events, or use patchbay replay --state"))
        }
        if events.correlationId != nil {
            return .failure(ReplayRefusal(message:
                "Cannot replay by correlation id: a replay selects by topic, source connector, time and text"))
        }
        if let id = events.connectorId {
            let statuses = state.overview?.statuses ?? state.connectorStatuses
            guard let connector = statuses.first(where: { $0.connector.id == id })?.connector else {
                return .failure(ReplayRefusal(message: "Cannot replay: the history's connector \(id) is not known yet; try again"))
            }
            guard connector.direction == .source else {
                return .failure(ReplayRefusal(message:
                    "Cannot replay by a sink connector (the history shows connector=\(connector.name)): a replay selects events by their source"))
            }
            filter.sourceId = id
        }
        return .success(filter)
    }

    /// "Replay 1,204 events to xero-invoices? 1,180 sent again, 24 new, 3 already queued".
    static func replayQuestion(_ plan: ReplayResult, to target: String) -> String {
        "Replay \(eventCount(plan.queued)) to \(target)? " + replayCounts(sentAgain: plan.requeued.count, new: plan.toCreate,
                                                                         queued: plan.skipped.count)
    }

    /// "Replayed 1,204 events to xero-invoices: 1,180 sent again, 24 new, 3 already queued".
    static func describeReplay(_ result: ReplayResult, to target: String) -> String {
        let sent = result.requeued.count + result.created.count
        return "Replayed \(eventCount(sent)) to \(target): "
            + replayCounts(sentAgain: result.requeued.count, new: result.created.count, queued: result.skipped.count)
    }

    private static func replayCounts(sentAgain: Int, new: Int, queued: Int) -> String {
        "\(MapFormat.grouped(sentAgain)) sent again, \(MapFormat.grouped(new)) new"
            + (queued > 0 ? ", \(MapFormat.grouped(queued)) already queued" : "")
    }

    static func eventCount(_ n: Int) -> String { n == 1 ? "1 event" : "\(MapFormat.grouped(n)) events" }

    static func plural(_ n: Int) -> String { n == 1 ? "1 delivery" : "\(n) deliveries" }

    static func describe(_ result: OperatorResult, verb: String, connectors: [DeliveryID: String]) -> String {
        let names = Set(result.changed.compactMap { connectors[$0] })
        var text = "\(verb) \(plural(result.changed.count))"
        if names.count == 1, let name = names.first { text += " for \(name)" }
        if let skip = result.skipped.first {
            text += result.changed.isEmpty ? ": \(skip.id) \(skip.reason)" : "; skipped \(result.skipped.count)"
        }
        return text
    }

    // MARK: Mouse

    private func handleMouse(_ action: MouseAction, x: Int, y: Int) {
        guard state.confirmation == nil, state.input == nil else { return }
        switch action {
        case .scrollUp: handleKey(.up); handleKey(.up); handleKey(.up)
        case .scrollDown: handleKey(.down); handleKey(.down); handleKey(.down)
        case .click:
            for hit in hits where hit.rect.contains(x: x, y: y) {
                let row = hit.offset + (y - hit.rect.y)
                if hit.listKey.hasPrefix("overview."), let panel = OverviewPanel.allCases.first(where: { "overview.\($0)" == hit.listKey }) {
                    state.panel = panel
                }
                state.lists[hit.listKey, default: ListState()].selected = max(0, row)
                clampSelection()
                return
            }
        }
    }

    // MARK: Commands

    /// `:failed`, `:events topic=order_created connector=shopify-orders state=dead since=2h`,
    /// `:aging 2026-11-30 by=invoice`, `:connectors`, `:retry`, `:overview`, `:alerts`, `:window 6h`, `:q`, and in the event
    /// history `:replay to=xero-invoices`.
    func runCommand(_ text: String) {
        let words = text.split(separator: " ").map(String.init)
        guard let command = words.first?.lowercased() else { return }
        let arguments = Array(words.dropFirst())
        var options: [String: String] = [:]
        var positional: [String] = []
        for argument in arguments {
            if let equal = argument.firstIndex(of: "=") {
                options[String(argument[..<equal]).lowercased()] = String(argument[argument.index(after: equal)...])
            } else {
                positional.append(argument)
            }
        }
        switch command {
        case "q", "quit", "exit": shouldQuit = true
        case "overview", "home": go(.overview)
        case "connectors", "c": go(.connectors)
        case "failed", "f":
            if let name = options["connector"] {
                guard let status = state.overview?.statuses.first(where: { $0.connector.name == name }) else {
                    toast("No connector named '\(name)'", error: true); return
                }
                state.failedConnector = status.connector.id
            } else { state.failedConnector = nil }
            go(.failed)
        case "retry", "retries", "r": go(.retryQueue)
        case "map", "m": go(.map)
        case "alerts", "alert": go(.alerts)
        case "events", "e":
            var filter = EventFilter(topic: options["topic"], correlationId: options["correlation"], text: options["grep"])
            if let stateName = options["state"] {
                guard let value = DeliveryState(rawValue: stateName) else {
                    toast("Unknown state '\(stateName)' (pending, in_flight, delivered, retrying, dead, discarded)", error: true)
                    return
                }
                filter.state = value
            }
            if let name = options["connector"] {
                guard let status = state.overview?.statuses.first(where: { $0.connector.name == name }) else {
                    toast("No connector named '\(name)'", error: true); return
                }
                filter.connectorId = status.connector.id
            }
            if let since = options["since"] {
                do {
                    filter.since = state.now.addingTimeInterval(-(try Durations.parse(since)))
                } catch {
                    toast("since=: \(error.description)", error: true); return
                }
            }
            state.eventFilter = filter
            state.eventBefore = nil
            state.eventCursors = []
            state.lists["events"] = ListState()
            go(.events)
        case "show", "event":
            guard let id = positional.first.flatMap({ Int64($0) }) else { toast(":show takes an event id", error: true); return }
            go(.detail(id))
        case "aging", "a":
            if let date = positional.first {
                guard CivilDate.dayNumber(date) != nil else { toast("Aging date must be YYYY-MM-DD, got '\(date)'", error: true); return }
                state.agingAsOf = date
            }
            if let by = options["by"] {
                guard let basis = AgingBasis(rawValue: by) else { toast("by= takes due or invoice", error: true); return }
                state.agingBasis = basis
            }
            go(.aging)
        case "window", "w":
            guard let label = positional.first, let window = TimeWindow.allCases.first(where: { $0.label == label }) else {
                toast("Windows: 15m, 1h, 6h, 24h, 7d", error: true); return
            }
            state.window = window
            reload()
        case "replay":
            askReplay(options: options, positional: positional)
        case "help":
            state.showHelp = true
        default:
            toast("Unknown command ':\(command)' (? lists them)", error: true)
        }
    }
}
