import AuditReport

/// The transformer section in the text and Markdown outputs: the domain every bound holds on,
/// per-block bounds, the strongest head of each block (QK and OV σ_max) and the normalisations'
/// gains. Per-head detail for every head is in the JSON (and HTML) report.
enum TransformerSection {
    /// `local on n ≤ 16 tokens, norm-input scale ≥ 1.0`: printed beside every transformer bound.
    static func domainLabel(_ t: TransformerReportV1) -> String {
        "local on \(t.domain.summary)"
    }

    /// One row per block: bounds and the largest QK / OV σ_max with the head that has it.
    static func blockRows(_ t: TransformerReportV1) -> [[String]] {
        var rows: [[String]] = [["block", "attention bound", "MLP bound", "block bound", "max QK σ (head)", "max OV σ (head)"]]
        for b in t.blocks {
            let heads = t.attentionHeads.filter { $0.layer == b.index }
            let qk = heads.max { $0.qk.spectralNorm < $1.qk.spectralNorm }
            let ov = heads.max { $0.ov.spectralNorm < $1.ov.spectralNorm }
            rows.append([
                "\(b.index)", ReportNumber.format(b.attentionBound),
                ReportNumber.format(b.mlpBound) + (b.mlpBoundKind == "local" ? " (local)" : ""),
                ReportNumber.format(b.blockBound),
                qk.map { "\(ReportNumber.format($0.qk.spectralNorm)) (h\($0.head))" } ?? "—",
                ov.map { "\(ReportNumber.format($0.ov.spectralNorm)) (h\($0.head))" } ?? "—",
            ])
        }
        return rows
    }

    static func summaryLine(_ t: TransformerReportV1) -> String {
        var s = "\(t.modelType) (\(t.family) family): \(t.layers) blocks, \(t.heads) heads"
        if t.keyValueHeads != t.heads { s += " (\(t.keyValueHeads) key/value heads)" }
        s += " of \(t.headDim), width \(t.hiddenSize), \(t.activation)"
        if t.rotary { s += ", rotary positions" }
        return s
    }

    /// Data mode: the measured Jacobian norm beside the bound on the domain the probes met.
    static func dataLine(_ t: TransformerReportV1) -> String? {
        guard let d = t.data, let gJ = d.jacobianNorms.max() else { return nil }
        let bound = d.networkBound.map { ReportNumber.format($0) }
            ?? d.log10NetworkBound.map { "10^" + ReportNumber.format($0) } ?? "unavailable"
        let m = d.measuredDomain
        let f = d.output?.kind == "logits" ? "logits" : "h"
        return "probes (\(d.probes) × \(d.sequenceLength) tokens): max ‖∂\(f)/∂x‖₂ \(ReportNumber.format(gJ)) ≤ bound \(bound) on the measured domain "
            + "(n = \(m.sequenceLength), min norm-input scale \(ReportNumber.format(m.minNormInputScale)), "
            + "max attention-input row norm \(ReportNumber.format(m.attentionInputRowNorms.max())))"
            + (d.boundHolds == false ? " — BOUND VIOLATED" : "")
    }

    /// The task head (weights-only `transformer.head`): its constant and the bound to the logits,
    /// with the domain it holds on (the backbone's).
    static func headLine(_ t: TransformerReportV1) -> String? {
        guard let h = t.head else { return nil }
        guard let kind = h.kind, let b = h.bound else { return "head \(h.architecture): not in the bound (\(h.reason ?? "unavailable"))" }
        return "head \(h.architecture) (\(kind)): Lipschitz constant \(ReportNumber.format(b)); bound to the logits "
            + (h.networkBound.map { ReportNumber.format($0) + " (" + domainLabel(t) + ")" } ?? "unavailable")
    }

    static func normLine(_ t: TransformerReportV1) -> String? {
        guard let top = t.norms.max(by: { $0.maxAbsGamma < $1.maxAbsGamma }) else { return nil }
        let outliers = t.norms.filter { !$0.outlierDimensions.isEmpty }
            .map { "\($0.name) \($0.outlierDimensions.prefix(8).map(String.init).joined(separator: ","))" }
        return "largest max|γ| \(ReportNumber.format(top.maxAbsGamma)) (\(top.name)); outlier dimensions (|γ| > 6·median): "
            + (outliers.isEmpty ? "none" : outliers.joined(separator: "; "))
    }

    /// The text section (no colour codes; the caller styles the title).
    static func text(_ t: TransformerReportV1) -> [String] {
        var out = ["  " + summaryLine(t), "  bounds " + domainLabel(t)]
        out += Table.layout(blockRows(t).map { $0.map { Cell($0) } },
                            align: [.right, .right, .right, .right, .right, .right]).map { "  " + $0 }
        if let n = normLine(t) { out.append("  " + n) }
        if let h = headLine(t) { out.append("  " + h) }
        if let reason = t.reason { out.append("  network bound unavailable: " + reason) }
        if let d = dataLine(t) { out.append("  " + d) }
        return out
    }

    static func markdown(_ t: TransformerReportV1) -> [String] {
        let e = Escape.markdownCell
        var md = ["### Transformer", "", e(summaryLine(t)) + ". Bounds are **" + e(domainLabel(t)) + "**.", ""]
        let rows = blockRows(t)
        md.append("| " + rows[0].joined(separator: " | ") + " |")
        md.append("|" + String(repeating: " ---: |", count: rows[0].count))
        for r in rows.dropFirst() { md.append("| " + r.joined(separator: " | ") + " |") }
        md.append("")
        if let n = normLine(t) { md.append(e(n)); md.append("") }
        if let h = headLine(t) { md.append(e(h)); md.append("") }
        if let reason = t.reason { md.append("Network bound unavailable: " + e(reason)); md.append("") }
        if let d = dataLine(t) { md.append(e(d)); md.append("") }
        return md
    }

    /// The HTML section: the block table and every head's QK / OV spectral norm and bound.
    static func html(_ t: TransformerReportV1) -> String {
        let e = Escape.html
        var h = "<section>\n<h2>Transformer</h2>\n<p>\(e(summaryLine(t))). Bounds are <strong>\(e(domainLabel(t)))</strong>.</p>\n"
        let rows = blockRows(t)
        h += "<table class=\"layers\">\n<thead><tr>" + rows[0].map { "<th>\(e($0))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
        for r in rows.dropFirst() { h += "<tr>" + r.map { "<td>\(e($0))</td>" }.joined() + "</tr>\n" }
        h += "</tbody>\n</table>\n"
        h += "<table class=\"layers\">\n<thead><tr><th>block</th><th>head</th><th>kv head</th><th>QK σ_max</th><th>QK H (nats)</th><th>OV σ_max</th><th>OV H (nats)</th><th>head bound</th></tr></thead>\n<tbody>\n"
        for a in t.attentionHeads {
            let cells = ["\(a.layer)", "\(a.head)", "\(a.keyValueHead)", ReportNumber.format(a.qk.spectralNorm),
                         ReportNumber.format(a.qk.spectralEntropy), ReportNumber.format(a.ov.spectralNorm),
                         ReportNumber.format(a.ov.spectralEntropy), ReportNumber.format(a.bound)]
            h += "<tr>" + cells.map { "<td>\(e($0))</td>" }.joined() + "</tr>\n"
        }
        h += "</tbody>\n</table>\n"
        if let n = normLine(t) { h += "<p>\(e(n))</p>\n" }
        if let reason = t.reason { h += "<p>Network bound unavailable: \(e(reason))</p>\n" }
        return h + "</section>\n"
    }
}
