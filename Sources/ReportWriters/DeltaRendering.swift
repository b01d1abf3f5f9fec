import AuditReport

/// The `delta` section (`--base`, LoRA adapters, quantization damage) for every renderer: one
/// table of matched tensors (largest relative change first), the network change, the
/// quantization ranking, and what could not be paired. Shared so the text, Markdown, HTML and
/// JUnit outputs show the same rows and figures.
enum DeltaRendering {
    struct Row {
        var name: String
        var kind: String
        var shape: String
        var relative: String
        var deltaSigma: String
        var stableRank: String
        var effectiveRank: String
        var sigmaChange: String
        var entropyChange: String
        var topShare: String
        var boundRatio: String
        var note: String
    }

    static let header = ["tensor", "kind", "shape", "‖ΔW‖₂/‖W‖₂", "σ_max(ΔW)", "stable rank", "eff. rank",
                         "Δσ_max", "ΔH", "top-k share", "bound factor", "note"]

    /// Entries by decreasing `delta_relative_spectral_norm` (ties and missing values: report order).
    static func rows(_ d: DeltaReport) -> [Row] {
        let f = { (x: Double?) in ReportNumber.format(x) }
        let order = d.entries.enumerated().sorted { a, b in
            let x = a.element.relativeSpectralNorm ?? -1, y = b.element.relativeSpectralNorm ?? -1
            return x != y ? x > y : a.offset < b.offset
        }
        return order.map { _, e in
            var note: [String] = []
            if let l = e.lora { note.append("r \(l.rank), s \(ReportNumber.short(l.scaling))" + (l.rslora ? " (rsLoRA)" : "")) }
            if let dt = e.dtype, let bt = e.baseDtype, dt != bt { note.append("\(dt) vs \(bt)") }
            if e.matchedBy == "keras_layer_variable" { note.append("matched by layer/variable") }
            if let r = e.reason { note.append(r) }
            let m = e.metrics
            return Row(name: e.name, kind: e.kind, shape: ReportText.shape(e.shape),
                       relative: f(e.relativeSpectralNorm), deltaSigma: m.map { f($0.spectralNorm) } ?? "",
                       stableRank: m.map { f($0.stableRank) } ?? "", effectiveRank: m.map { f($0.effectiveRank) } ?? "",
                       sigmaChange: f(e.spectralNormChange), entropyChange: f(e.entropyChange),
                       topShare: e.topSubspaceShare.map { "\(ReportNumber.percent($0)) (k \(e.topK ?? 0))" } ?? "—",
                       boundRatio: e.boundFactorRatio.map { "×" + ReportNumber.format($0, digits: 6) } ?? "—",
                       note: note.joined(separator: "; "))
        }
    }

    static func cells(_ r: Row) -> [String] {
        [r.name, r.kind, r.shape, r.relative, r.deltaSigma, r.stableRank, r.effectiveRank, r.sigmaChange, r.entropyChange,
         r.topShare, r.boundRatio, r.note]
    }

    /// "Delta (weights) against BASE" / "Delta (LoRA adapter A alone)".
    static func title(_ d: DeltaReport) -> String {
        switch d.mode {
        case "lora": return "Delta (LoRA adapter \(d.model.path) alone: ΔW = s·B·A)"
        case "lora_merged": return "Delta (LoRA adapter \(d.model.path) merged into \(d.base?.path ?? "?"))"
        default: return "Delta (\(d.model.path) against base \(d.base?.path ?? "?"))"
        }
    }

    /// Lines on the network change, the pairing and what was left out.
    static func summary(_ d: DeltaReport) -> [String] {
        let f = { (x: Double?) in ReportNumber.format(x) }
        var out: [String] = []
        if let n = d.network {
            if let r = n.lipschitzBoundRatio {
                out.append("Lipschitz bound L: base \(f(n.lipschitzBoundBase)) → model \(f(n.lipschitzBoundModel)) "
                           + "(×\(ReportNumber.format(r, digits: 6)), Δlog10 L = \(f(n.deltaLog10LipschitzBound)))")
            } else {
                out.append("Lipschitz bound change unavailable: \(n.reason ?? "no bound")")
            }
        }
        if d.mode == "lora" {
            out.append("\(d.entries.count) target module\(d.entries.count == 1 ? "" : "s"); ΔW = s·B·A from the thin factors")
        } else {
            out.append("\(d.entries.count) matched (\(d.matching)); top-k rule: \(d.topKRule)")
        }
        if !d.unmatchedModel.isEmpty { out.append((d.mode == "weights" ? "unmatched in model" : "not applied (no base tensor, or not a LoRA factor pair)") + " (\(d.unmatchedModel.count)): " + d.unmatchedModel.joined(separator: ", ")) }
        if !d.unmatchedBase.isEmpty { out.append("unmatched in base (\(d.unmatchedBase.count)): " + d.unmatchedBase.joined(separator: ", ")) }
        for m in d.mismatched {
            out.append("mismatched: \(m.name) \(ReportText.shape(m.shape)) vs base \(m.baseName) \(ReportText.shape(m.baseShape)): \(m.reason)")
        }
        return out
    }

    /// The quantization ranking: one line per lower-precision tensor, most damaged first.
    static func quantizationLines(_ d: DeltaReport) -> [String] {
        (d.quantization ?? []).map { q in
            "\(q.rank). \(q.name) (\(q.dtype) vs \(q.baseDtype)): ‖W − deq(Q(W))‖₂/‖W‖₂ = \(ReportNumber.format(q.relativeSpectralNorm))"
                + ", Frobenius \(ReportNumber.format(q.relativeFrobenius))"
                + (q.boundFactorRatio.map { ", bound factor ×\(ReportNumber.format($0, digits: 6))" } ?? "")
        }
    }

    /// JUnit `<properties>` of the delta section.
    static func properties(_ d: DeltaReport) -> [(String, String)] {
        var p: [(String, String)] = [("delta_mode", d.mode), ("delta_model", d.model.path)]
        if let b = d.base { p.append(("delta_base", b.path)) }
        p.append(("delta_matched", String(d.entries.count)))
        p.append(("delta_unmatched", String(d.unmatchedModel.count + d.unmatchedBase.count + d.mismatched.count)))
        if let x = d.network?.deltaLog10LipschitzBound { p.append(("delta_log10_lipschitz_bound", ReportNumber.format(x))) }
        if let top = d.quantization?.first {
            p.append(("quantization_worst", "\(top.name) \(ReportNumber.format(top.relativeSpectralNorm))"))
        }
        return p
    }
}
