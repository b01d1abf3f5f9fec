import AuditReport

/// The human-readable report for stdout: header, per-layer table, network bounds, GMSI, data
/// measurements, assumptions, checks and verdict. Deterministic; ANSI colours only with
/// `colour: true` (the CLI decides: stdout is a TTY and `NO_COLOR` is unset).
public enum TextRenderer {
    /// Width of the layer-name column; longer names wrap onto continuation lines (never cut).
    public static let defaultNameWidth = 36

    public static func render(_ report: AuditReportV1, colour: Bool, nameWidth: Int = defaultNameWidth) -> String {
        let style = Style(enabled: colour)
        var out: [String] = []
        header(report, style, &out)
        out.append("")
        layerTable(report, style, nameWidth: max(8, nameWidth), &out)
        out.append("")
        network(report, style, &out)
        if let t = report.transformer {
            out.append("")
            out.append(style.bold("Transformer") + " (structure from \(clean(t.config)))")
            out += TransformerSection.text(t).map(clean)
        }
        out.append("")
        gmsi(report, style, &out)
        if let data = report.data {
            out.append("")
            dataSection(report, data, style, &out)
        }
        if let delta = report.delta {
            out.append("")
            deltaSection(delta, style, &out)
        }
        if !report.assumptions.isEmpty {
            out.append("")
            out.append(style.bold("Assumptions"))
            for a in report.assumptions { out.append("  " + style.yellow("- " + clean(a))) }
        }
        if let warnings = report.warnings, !warnings.isEmpty {
            out.append("")
            out.append(style.bold("Warnings"))
            for w in warnings { out.append("  " + style.yellow("! " + clean(w))) }
        }
        out.append("")
        checks(report, style, &out)
        out.append("")
        verdict(report, style, &out)
        return out.joined(separator: "\n") + "\n"
    }

    // MARK: Sections

    private static func header(_ r: AuditReportV1, _ s: Style, _ out: inout [String]) {
        out.append(s.bold("\(clean(r.tool.name)) \(clean(r.tool.version))")
            + " · definitions \(clean(r.definitions)) · report schema \(clean(r.schemaVersion))")
        var rows: [[String]] = [
            ["file", clean(r.input.path)],
            ["format", "\(clean(r.input.format)), \(r.input.bytes) bytes"],
            ["sha256", clean(ReportText.sha256Prefix(r.input.sha256))],
            ["architecture", clean(r.input.architectureSource)],
        ]
        var settings = ["svd \(clean(r.settings.svd))"]
        if let t = r.settings.threshold { settings.append("threshold \(ReportNumber.format(t))") }
        if let p = r.settings.policy { settings.append("policy \(clean(p))") }
        if let b = r.settings.baseline {
            var text = "baseline \(clean(b))"
            if let m = r.settings.maxIncreasePercent { text += " (max +\(ReportNumber.format(m))%)" }
            settings.append(text)
        }
        if let shape = r.settings.inputShape { settings.append("input shape \(ReportText.shape(shape))") }
        if let t = r.settings.dataThreshold { settings.append("data threshold \(ReportNumber.format(t))") }
        if r.settings.heavyTail { settings.append("heavy-tail") }
        settings.append("seed \(r.settings.seed)")
        rows.append(["settings", settings.joined(separator: ", ")])
        if let shard = r.shard { rows.append(["shard", "\(shard.index) of \(shard.count) (partial audit)"]) }
        if let created = r.created { rows.append(["created", clean(created)]) }
        out += Table.layout(rows.map { $0.map { Cell($0) } }, align: [.left, .left]).map { "  " + $0 }
    }

    private static func layerTable(_ r: AuditReportV1, _ s: Style, nameWidth: Int, _ out: inout [String]) {
        let analysed = r.layers.filter { $0.status == .analyzed }.count
        out.append(s.bold("Layers") + " (\(r.layers.count), \(analysed) analysed)")
        let heavy = r.settings.heavyTail
        var head = ["layer", "kind", "shape [out,in]", "σ_max", "H (nats)", "eff. rank", "condition", "op. norm"]
        if heavy { head += ["ww_alpha", "ww_alpha_weighted"] }
        head.append("status")
        var rows: [[Cell]] = [head.map { Cell($0, style: s.bold) }]
        for l in r.layers {
            let pieces = ReportText.wrap(clean(StructureText.layerName(l)), width: nameWidth)
            var row = [Cell(pieces[0]), Cell(clean(l.kind)), Cell(ReportText.shape(l.shape))]
            let m = l.metrics
            row.append(Cell(m.map { ReportNumber.format($0.spectralNorm) } ?? ""))
            row.append(Cell(m.map { ReportNumber.format($0.spectralEntropy) } ?? ""))
            row.append(Cell(m.map { ReportNumber.format($0.effectiveRank) } ?? ""))
            row.append(Cell(m.map { ReportNumber.format($0.condition) } ?? ""))
            row.append(Cell(operatorNorm(l)))
            if heavy {
                row.append(Cell(l.heavyTail.map { ReportNumber.format($0.wwAlpha) } ?? ""))
                row.append(Cell(l.heavyTail.map { ReportNumber.format($0.wwAlphaWeighted) } ?? ""))
            }
            row.append(status(l, r, s))
            rows.append(row)
            // The rest of a long name on continuation lines, in the name column only.
            for piece in pieces.dropFirst() { rows.append([Cell(piece)]) }
            if let f = l.folded { rows.append(foldedRow(f, s, heavy: heavy)) }
        }
        var align: [Table.Align] = [.left, .left, .left, .right, .right, .right, .right, .right]
        if heavy { align += [.right, .right] }
        align.append(.left)
        out += Table.layout(rows, align: align).map { "  " + $0 }
        if r.layers.contains(where: { $0.guessed != nil }) { out.append("  " + s.yellow(StructureText.guessLegend)) }
    }

    private static func network(_ r: AuditReportV1, _ s: Style, _ out: inout [String]) {
        let n = r.network
        out.append(s.bold("Network") + " (from weights alone)")
        var rows: [[Cell]] = []
        if let l = n.lipschitzBound {
            rows.append([Cell("Lipschitz bound L"), Cell("\(ReportNumber.format(l))  (log10 L = \(ReportNumber.format(n.log10LipschitzBound)))")])
        } else if let lg = n.log10LipschitzBound {
            rows.append([Cell("Lipschitz bound L"), Cell("beyond Float64  (log10 L = \(ReportNumber.format(lg)))")])
        } else {
            rows.append([Cell("Lipschitz bound L"), Cell("unavailable" + (n.reason.map { ": " + clean($0) } ?? ""), style: s.yellow)])
        }
        if let t = r.transformer { rows.append([Cell("domain"), Cell(TransformerSection.domainLabel(t))]) }
        // Issue 19: a bound through an LSTM/GRU holds for sequences of length ≤ T only.
        if let h = n.horizon { rows.append([Cell("domain"), Cell("horizon T = \(h) time steps (--horizon), zero initial states")]) }
        for rec in n.recurrent ?? [] { rows.append([Cell("recurrent"), Cell(clean(RecurrentText.line(rec)))]) }
        if n.typicalBound != nil || n.typicalBoundStableRank != nil {
            let d = n.inputDimension.map { "d = \($0)" } ?? "d unknown"
            rows.append([Cell("typical bound T"), Cell("\(ReportNumber.format(n.typicalBound))  (e^H form, \(d))")])
            rows.append([Cell("typical bound T_sr"),
                         Cell("\(ReportNumber.format(n.typicalBoundStableRank))  (stable-rank form, tighter)")])
        }
        let shares = r.layersByShare
        if !shares.isEmpty {
            let top = shares.prefix(3).map { "\(clean($0.name)) \(ReportNumber.percent($0.share))" }
            rows.append([Cell("largest layer shares"), Cell(top.joined(separator: " · "))])
        }
        if !n.chain.isEmpty {
            rows.append([Cell("chain"), Cell(ReportText.count(n.chain.count, "factor"))])
        }
        if n.lipschitzBound != nil || n.log10LipschitzBound != nil, let reason = n.reason {
            rows.append([Cell("note"), Cell(clean(reason))])
        }
        if let why = n.typicalBoundReason {
            rows.append([Cell("typical bounds"), Cell("unavailable: " + clean(why), style: { s.dim($0) })])
        }
        if let line = StructureText.networkLine(r) {
            let inferred = r.network.structure?.declared == false
            rows.append([Cell("structure"), inferred ? Cell(clean(line), style: s.yellow) : Cell(clean(line))])
        }
        out += Table.layout(rows, align: [.left, .left]).map { "  " + $0 }
        let guesses = StructureText.guessLines(r)
        if !guesses.isEmpty {
            out.append("")
            out.append(s.bold("Structure") + " (guessed, not read from the file)")
            for g in guesses { out.append("  " + s.yellow("- " + clean(g))) }
        }
    }

    /// The folded view of an operator, as a labelled sub-row under the layer's own row.
    private static func foldedRow(_ f: FoldedViewV1, _ s: Style, heavy: Bool) -> [Cell] {
        let m = f.metrics
        var row = [Cell(clean(StructureText.foldedName(f))), Cell(StructureText.foldedKind), Cell(ReportText.shape(f.shape))]
        row.append(Cell(m.map { ReportNumber.format($0.spectralNorm) } ?? ""))
        row.append(Cell(m.map { ReportNumber.format($0.spectralEntropy) } ?? ""))
        row.append(Cell(m.map { ReportNumber.format($0.effectiveRank) } ?? ""))
        row.append(Cell(m.map { ReportNumber.format($0.condition) } ?? ""))
        var probe = LayerReport(name: "", kind: "", tensors: [], status: .analyzed)
        probe.operatorNorm = f.operatorNorm
        probe.operatorNormMethod = f.operatorNormMethod
        row.append(Cell(operatorNorm(probe)))
        if heavy { row += [Cell(""), Cell("")] }
        row.append(Cell(StructureText.foldedStatus, style: s.green))
        return row
    }

    private static func gmsi(_ r: AuditReportV1, _ s: Style, _ out: inout [String]) {
        var rows: [[Cell]] = []
        var what = r.gmsiMode == "weights" ? "weights-only Lipschitz bound (judged by --threshold)" : "mode \(clean(r.gmsiMode))"
        if let h = r.network.horizon { what += ", for sequences of ≤ \(h) steps (--horizon)" }
        if let g = r.gmsi {
            rows.append([Cell("GMSI", style: s.bold), Cell(ReportNumber.format(g)), Cell(what)])
        } else {
            rows.append([Cell("GMSI", style: s.bold), Cell("unavailable", style: s.yellow),
                         Cell(what + (r.gmsiReason.map { ": " + clean($0) } ?? ""))])
        }
        for c in r.sortedGMSIComponents {
            rows.append([Cell("  " + clean(c.name)), Cell(ReportNumber.format(c.value)), Cell("")])
        }
        if r.data != nil || r.dataGmsiComponents != nil {
            let agg = r.dataGmsiAggregate ?? "max"
            let note = "\(agg) of the components measured on probe inputs (judged by --data-threshold)"
            if let g = r.dataGmsi {
                rows.append([Cell("data GMSI", style: s.bold), Cell(ReportNumber.format(g)), Cell(note)])
            } else {
                rows.append([Cell("data GMSI", style: s.bold), Cell("unavailable", style: s.yellow),
                             Cell(note + (r.dataGmsiReason.map { ": " + clean($0) } ?? ""))])
            }
            for c in r.sortedDataGMSIComponents {
                rows.append([Cell("  " + clean(c.name)), Cell(ReportNumber.format(c.value)),
                             Cell(r.dataGmsiNullReasons?[c.name].map(clean) ?? "")])
            }
        }
        out += Table.layout(rows, align: [.left, .left, .left])
    }

    private static func dataSection(_ r: AuditReportV1, _ d: DataReport, _ s: Style, _ out: inout [String]) {
        var what = ["\(ReportText.count(d.probeCount, "probe")) from \(clean(d.probePath))"]
        if let l = d.labelsPath { what.append("labels \(clean(l))") }
        if let loss = d.loss { what.append("loss \(clean(loss))") }
        what.append("seed \(d.seed)")
        out.append(s.bold("Data") + " (" + what.joined(separator: ", ") + ")")
        let f = { (x: Double?) in ReportNumber.format(x) }
        var rows: [[Cell]] = []
        rows.append([Cell("g_J"), Cell(f(d.gJ)), Cell("max ‖J_f(x)‖₂; mean \(f(d.gJMean)), p95 \(f(d.gJP95))")])
        rows.append([Cell("g_θ"), Cell(f(d.gTheta)), Cell("max ‖∇_θ f(x)‖₂")])
        rows.append([Cell("g_K"), Cell(f(d.gK)),
                     Cell("λ_max(K/N); λ_min \(f(d.ntkLambdaMin)), condition \(f(d.ntkCondition))")])
        if let gH = d.gH {
            rows.append([Cell("g_H"), Cell(f(gH)),
                         Cell("loss Hessian λ ∈ [\(f(d.hessianLambdaMin)), \(f(d.hessianLambdaMax))]"
                              + (d.gaussNewtonLambdaMax.map { "; Gauss–Newton λ_max \(f($0))" } ?? ""))])
        } else {
            var note = d.gHReason.map(clean) ?? "unavailable"
            if let gn = d.gaussNewtonLambdaMax { note += "; Gauss–Newton λ_max \(f(gn))" }
            rows.append([Cell("g_H"), Cell("—"), Cell(note)])
        }
        if d.attributionInstabilityMean != nil || d.attributionInstabilityMax != nil {
            rows.append([Cell("attribution instability"), Cell(f(d.attributionInstabilityMean)),
                         Cell("mean; max \(f(d.attributionInstabilityMax)), ε = \(f(d.attributionEpsilon))")])
        }
        out += Table.layout(rows, align: [.left, .right, .left]).map { "  " + $0 }
        if let ratio = d.boundRatio {
            out.append("  the bound is \(ReportNumber.ratio(ratio))× loose (L / g_J = \(f(ratio)))")
        }
        for t in d.recurrentTrajectory ?? [] { out.append("  " + RecurrentText.trajectoryLine(t)) }
    }

    private static func checks(_ r: AuditReportV1, _ s: Style, _ out: inout [String]) {
        let failed = r.failedChecks.count
        out.append(s.bold("Checks") + " (\(r.checks.count): \(r.checks.count - failed) passed, \(failed) failed)")
        guard !r.checks.isEmpty else {
            out.append("  none configured (pass --threshold or --policy)")
            return
        }
        var rows: [[Cell]] = []
        for c in CheckText.failedFirst(r.checks) {
            rows.append([
                c.passed ? Cell("pass", style: s.green) : Cell("FAIL", style: s.red),
                Cell(clean(c.id)),
                Cell(clean(CheckText.scope(c))),
                Cell(clean(CheckText.quantity(c))),
                Cell(CheckText.outcome(c)),
                Cell(clean(c.message)),
            ])
        }
        out += Table.layout(rows, align: [.left, .left, .left, .left, .left, .left]).map { "  " + $0 }
    }

    private static func verdict(_ r: AuditReportV1, _ s: Style, _ out: inout [String]) {
        let word = r.verdict == .pass ? s.boldGreen("PASS") : s.boldRed("FAIL")
        out.append("Verdict: \(word) (\(CheckText.verdictSummary(r)))")
        for c in r.failedChecks {
            out.append("  " + s.red("✗") + " \(clean(c.id)) [\(clean(CheckText.scope(c)))]: \(CheckText.outcome(c))")
        }
    }

    /// `--base` / LoRA (DeltaRendering): the change table, network change and quantization ranking.
    private static func deltaSection(_ d: DeltaReport, _ s: Style, _ out: inout [String]) {
        out.append(s.bold(clean(DeltaRendering.title(d))))
        for line in DeltaRendering.summary(d) { out.append("  " + clean(line)) }
        let rows = DeltaRendering.rows(d)
        if !rows.isEmpty {
            var table: [[Cell]] = [DeltaRendering.header.map { Cell($0, style: s.bold) }]
            for r in rows {
                var cells = DeltaRendering.cells(r).map { Cell(clean($0)) }
                cells[0] = Cell(ReportText.truncateMiddle(clean(r.name), width: defaultNameWidth))
                table.append(cells)
            }
            let align: [Table.Align] = [.left, .left, .left, .right, .right, .right, .right, .right, .right, .right, .right, .left]
            out += Table.layout(table, align: align).map { "  " + $0 }
        }
        let q = DeltaRendering.quantizationLines(d)
        if !q.isEmpty {
            out.append("  " + s.bold("Quantization damage") + " (most damaged first: these tensors deserve more bits)")
            for line in q { out.append("    " + clean(line)) }
        }
    }

    // MARK: Cells

    private static func operatorNorm(_ l: LayerReport) -> String {
        guard let n = l.operatorNorm else { return "" }
        switch l.operatorNormMethod {
        case "upper_bound": return "≤ " + ReportNumber.format(n)
        default: return ReportNumber.format(n)
        }
    }

    private static func status(_ l: LayerReport, _ r: AuditReportV1, _ s: Style) -> Cell {
        switch l.status {
        case .analyzed:
            let failed = r.failedCheckIDs(forLayer: l.name)
            if failed.isEmpty { return Cell("ok" + (l.folded == nil ? "" : StructureText.rawStatusSuffix), style: s.green) }
            return Cell("FAIL " + failed.map(clean).joined(separator: ", ") + (l.folded == nil ? "" : StructureText.rawStatusSuffix), style: s.red)
        case .nonFinite, .unsupported, .skipped:
            let text = l.status.rawValue + (l.reason.map { ": " + clean($0) } ?? "")
            if l.status == .nonFinite { return Cell(text, style: s.red) }
            // Skipped by design (folded BatchNorm, activations, pooling, flatten): dim, not a warning.
            if l.isExpectedSkip { return Cell(text, style: { s.dim($0) }) }
            return Cell(text, style: { s.yellow($0) })
        }
    }

    private static func clean(_ s: String) -> String { ReportText.sanitizeLine(s) }
}

// MARK: - Layout

/// A table cell: its visible text, and how to colour it once padded.
struct Cell {
    var text: String
    var style: (String) -> String
    init(_ text: String, style: @escaping (String) -> String = { $0 }) {
        self.text = text
        self.style = style
    }
}

enum Table {
    enum Align { case left, right }

    /// Pads every column to its widest cell (counting characters, not bytes) and joins with two
    /// spaces; colours are applied after padding so escape codes never shift columns. The last
    /// column is not padded, and trailing spaces are trimmed.
    static func layout(_ rows: [[Cell]], align: [Align]) -> [String] {
        let columns = rows.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: columns)
        for row in rows { for (i, c) in row.enumerated() { widths[i] = max(widths[i], c.text.count) } }
        return rows.map { row in
            var line = ""
            for (i, c) in row.enumerated() {
                let pad = String(repeating: " ", count: widths[i] - c.text.count)
                let a = i < align.count ? align[i] : .left
                let last = i == row.count - 1
                let padded = a == .right ? pad + c.style(c.text) : c.style(c.text) + (last ? "" : pad)
                line += (i == 0 ? "" : "  ") + padded
            }
            while line.hasSuffix(" ") { line.removeLast() }
            return line
        }
    }

    static func layout(_ rows: [[Cell]]) -> [String] { layout(rows, align: []) }
}

/// ANSI styling that is the identity when disabled.
struct Style {
    var enabled: Bool
    private func wrap(_ code: String, _ s: String) -> String {
        enabled && !s.isEmpty ? "\u{1B}[\(code)m" + s + "\u{1B}[0m" : s
    }
    func bold(_ s: String) -> String { wrap("1", s) }
    func green(_ s: String) -> String { wrap("32", s) }
    func red(_ s: String) -> String { wrap("31", s) }
    func yellow(_ s: String) -> String { wrap("33", s) }
    func dim(_ s: String) -> String { wrap("2", s) }
    func boldGreen(_ s: String) -> String { wrap("1;32", s) }
    func boldRed(_ s: String) -> String { wrap("1;31", s) }
}
