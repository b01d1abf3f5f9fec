import AuditReport

/// A compact Markdown summary for `$GITHUB_STEP_SUMMARY`: verdict line (✓/✗ text, no emoji),
/// checks (failed first), a per-layer table, network bounds, GMSI, data measurements and
/// assumptions. Every piece of report text is escaped for table cells.
public enum MarkdownRenderer {
    /// Layer names are printed whole (policies select layers by their full names).
    public static func render(_ report: AuditReportV1) -> String {
        let e = Escape.markdownCell
        let f = { (x: Double?) in ReportNumber.format(x) }
        var md: [String] = []
        let mark = report.verdict == .pass ? "✓ PASS" : "✗ FAIL"
        md.append("## spectral-audit: \(mark) (\(CheckText.verdictSummary(report)))")
        md.append("")
        var header = "\(e(report.input.path)) · \(e(report.input.format)) · sha256 \(e(ReportText.sha256Prefix(report.input.sha256)))"
        header += " · architecture from \(e(report.input.architectureSource))"
        if let shard = report.shard { header += " · shard \(shard.index) of \(shard.count)" }
        md.append(header)

        md.append("")
        md.append("### Checks")
        md.append("")
        if report.checks.isEmpty {
            md.append("No checks configured.")
        } else {
            md.append("| | check | scope | metric | value | limit | message |")
            md.append("|---|---|---|---|---:|---|---|")
            for c in CheckText.failedFirst(report.checks) {
                let value = c.comparison == "finite" ? (c.passed ? "finite" : "not finite") : f(c.value)
                md.append("| \(c.passed ? "✓" : "✗ **fail**") | \(e(c.id)) | \(e(CheckText.scope(c))) | \(e(CheckText.quantity(c))) | \(e(value)) | \(e(CheckText.limit(c))) | \(e(c.message)) |")
            }
        }

        md.append("")
        md.append("### Layers")
        md.append("")
        let heavy = report.settings.heavyTail
        md.append("| layer | kind | shape | σ_max | H (nats) | eff. rank | condition |" + (heavy ? " ww_alpha | ww_alpha_weighted |" : "") + " status |")
        md.append("|---|---|---|---:|---:|---:|---:|" + (heavy ? "---:|---:|" : "") + "---|")
        for l in report.layers {
            let m = l.metrics
            let status: String
            switch l.status {
            case .analyzed:
                let failed = report.failedCheckIDs(forLayer: l.name)
                status = (failed.isEmpty ? "ok" : "✗ " + failed.joined(separator: ", ")) + (l.folded == nil ? "" : StructureText.rawStatusSuffix)
            default:
                status = l.status.rawValue + (l.reason.map { ": " + $0 } ?? "")
            }
            let ht = heavy ? " \(l.heavyTail.map { f($0.wwAlpha) } ?? "") | \(l.heavyTail.map { f($0.wwAlphaWeighted) } ?? "") |" : ""
            md.append("| \(e(StructureText.layerName(l))) | \(e(l.kind)) | \(ReportText.shape(l.shape)) | \(m.map { f($0.spectralNorm) } ?? "") | \(m.map { f($0.spectralEntropy) } ?? "") | \(m.map { f($0.effectiveRank) } ?? "") | \(m.map { f($0.condition) } ?? "") |\(ht) \(e(status)) |")
            if let fv = l.folded {
                let fm = fv.metrics
                md.append("| \(e(StructureText.foldedName(fv))) | \(e(StructureText.foldedKind)) | \(ReportText.shape(fv.shape)) | \(fm.map { f($0.spectralNorm) } ?? "") | \(fm.map { f($0.spectralEntropy) } ?? "") | \(fm.map { f($0.effectiveRank) } ?? "") | \(fm.map { f($0.condition) } ?? "") |\(heavy ? " | |" : "") \(e(StructureText.foldedStatus)) |")
            }
        }
        if report.layers.contains(where: { $0.guessed != nil }) {
            md.append("")
            md.append(e(StructureText.guessLegend))
        }

        let n = report.network
        md.append("")
        md.append("### Network bounds (weights only)")
        md.append("")
        if let h = n.horizon { md.append("- Domain: horizon T = \(h) time steps (--horizon), zero initial states") }
        for rec in n.recurrent ?? [] { md.append("- Recurrent: " + e(RecurrentText.line(rec))) }
        if let l = n.lipschitzBound {
            md.append("- Lipschitz bound L = \(f(l)) (log10 L = \(f(n.log10LipschitzBound)))")
        } else if let lg = n.log10LipschitzBound {
            md.append("- Lipschitz bound L beyond Float64: log10 L = \(f(lg))")
        } else {
            md.append("- Lipschitz bound unavailable" + (n.reason.map { ": " + e($0) } ?? ""))
        }
        if let t = report.transformer { md.append("- domain: " + e(TransformerSection.domainLabel(t))) }
        if n.typicalBound != nil || n.typicalBoundStableRank != nil {
            let d = n.inputDimension.map { ", d = \($0)" } ?? ""
            md.append("- typical bound T = \(f(n.typicalBound)) (e^H form\(d)); stable-rank form \(f(n.typicalBoundStableRank))")
        }
        let shares = report.layersByShare.prefix(3)
        if !shares.isEmpty {
            md.append("- largest layer shares: " + shares.map { "\(e($0.name)) \(ReportNumber.percent($0.share))" }.joined(separator: ", "))
        }
        if let line = StructureText.networkLine(report) { md.append("- structure: " + e(line)) }
        let guesses = StructureText.guessLines(report)
        if !guesses.isEmpty {
            md.append("")
            md.append("### Structure (guessed, not read from the file)")
            md.append("")
            for g in guesses { md.append("- " + e(g)) }
        }

        if let t = report.transformer {
            md.append("")
            md += TransformerSection.markdown(t)
        }
        md.append("")
        md.append("### GMSI")
        md.append("")
        if let g = report.gmsi {
            md.append("GMSI = \(f(g)) (mode \(e(report.gmsiMode)): the weights-only Lipschitz bound, judged by --threshold"
                      + (report.network.horizon.map { "; for sequences of ≤ \($0) steps, --horizon" } ?? "") + ")")
        } else {
            md.append("GMSI unavailable (mode \(e(report.gmsiMode)))" + (report.gmsiReason.map { ": " + e($0) } ?? ""))
        }
        if report.data != nil || report.dataGmsiComponents != nil {
            md.append("")
            let agg = report.dataGmsiAggregate ?? "max"
            if let g = report.dataGmsi {
                md.append("data GMSI = \(f(g)) (\(e(agg)) of the components measured on probe inputs, judged by --data-threshold)")
            } else {
                md.append("data GMSI unavailable" + (report.dataGmsiReason.map { ": " + e($0) } ?? ""))
            }
            let dc = report.sortedDataGMSIComponents
            if !dc.isEmpty {
                md.append("")
                md.append("| data component | value |")
                md.append("|---|---:|")
                for c in dc { md.append("| \(e(c.name)) | \(f(c.value)) |") }
            }
        }
        let components = report.sortedGMSIComponents
        if !components.isEmpty {
            md.append("")
            md.append("| component | value |")
            md.append("|---|---:|")
            for c in components { md.append("| \(e(c.name)) | \(f(c.value)) |") }
        }

        if let d = report.data {
            md.append("")
            md.append("### Data (\(ReportText.count(d.probeCount, "probe")))")
            md.append("")
            md.append("| g_J | g_θ | g_K | g_H |")
            md.append("|---:|---:|---:|---:|")
            md.append("| \(f(d.gJ)) | \(f(d.gTheta)) | \(f(d.gK)) | \(f(d.gH)) |")
            if let ratio = d.boundRatio {
                md.append("")
                md.append("The bound is \(ReportNumber.ratio(ratio))× loose (L / g_J = \(f(ratio))).")
            }
            if d.gH == nil, let reason = d.gHReason {
                md.append("")
                md.append("g_H: \(e(reason))")
            }
            if let traj = d.recurrentTrajectory, !traj.isEmpty {
                md.append("")
                for t in traj { md.append("- " + e(RecurrentText.trajectoryLine(t))) }
            }
        }

        if let d = report.delta {
            md.append("")
            md.append("### " + e(DeltaRendering.title(d)))
            md.append("")
            for line in DeltaRendering.summary(d) { md.append("- " + e(line)) }
            let rows = DeltaRendering.rows(d)
            if !rows.isEmpty {
                md.append("")
                md.append("| " + DeltaRendering.header.joined(separator: " | ") + " |")
                md.append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
                for r in rows { md.append("| " + DeltaRendering.cells(r).map(e).joined(separator: " | ") + " |") }
            }
            let q = DeltaRendering.quantizationLines(d)
            if !q.isEmpty {
                md.append("")
                md.append("Quantization damage (most damaged first):")
                md.append("")
                for line in q { md.append("- " + e(line)) }
            }
        }

        if !report.assumptions.isEmpty {
            md.append("")
            md.append("### Assumptions")
            md.append("")
            for a in report.assumptions { md.append("- " + e(a)) }
        }
        if let warnings = report.warnings, !warnings.isEmpty {
            md.append("")
            md.append("### Warnings")
            md.append("")
            for w in warnings { md.append("- " + e(w)) }
        }
        return md.joined(separator: "\n") + "\n"
    }
}
