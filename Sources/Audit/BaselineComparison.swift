import AuditReport

/// Whether a `--baseline` report can be compared with this audit (issue 15: no false
/// regressions). The GMSI is the product of the layers' operator norms, so it is comparable only
/// when both reports have the same analysed layers, the same structure source (which decides
/// activations, pooling and folding), the same convolution input size and the same way of
/// computing each convolution's operator norm, and both `gmsi` values are the weights-only bound.
/// Per-layer `spectral_norm` values (of the reshaped kernel matrices) stay comparable layer by
/// layer whatever the structure source or conv-norm method.
struct BaselineComparison {
    /// Why the two `gmsi` values measure different things (empty: comparable).
    var gmsiIncomparable: [String] = []
    /// Everything the report must say about the comparison (includes `gmsiIncomparable`).
    var warnings: [String] = []

    init(report: AuditReportV1, baseline: AuditReportV1) {
        var reasons: [String] = []
        if baseline.input.architectureSource != report.input.architectureSource {
            reasons.append("the network structure comes from '\(baseline.input.architectureSource)' in the baseline but from '\(report.input.architectureSource)' now")
        }
        if baseline.gmsiMode != "weights" {
            reasons.append("the baseline's gmsi is a data-mode aggregate (gmsi_mode '\(baseline.gmsiMode)', report schema \(baseline.schemaVersion)); gmsi is now always the weights-only bound")
        }
        if baseline.settings.inputShape != report.settings.inputShape {
            let f = { (s: [Int]?) in s.map { $0.map(String.init).joined(separator: "×") } ?? "none" }
            reasons.append("--input-shape differs: \(f(baseline.settings.inputShape)) in the baseline, \(f(report.settings.inputShape)) now")
        }
        let old = Dictionary(baseline.layers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for layer in report.layers where layer.status == .analyzed {
            guard let before = old[layer.name], before.status == .analyzed else { continue }
            if before.operatorNormMethod != layer.operatorNormMethod {
                reasons.append("layer '\(layer.name)': operator_norm_method \(before.operatorNormMethod ?? "none") in the baseline, \(layer.operatorNormMethod ?? "none") now")
            }
        }
        let now = Set(report.layers.filter { $0.status == .analyzed }.map(\.name))
        let then = Set(baseline.layers.filter { $0.status == .analyzed }.map(\.name))
        let added = report.layers.map(\.name).filter { now.contains($0) && !then.contains($0) }
        let removed = baseline.layers.map(\.name).filter { then.contains($0) && !now.contains($0) }
        if !added.isEmpty {
            reasons.append("analysed layers not in the baseline: \(added.joined(separator: ", "))")
        }
        if !removed.isEmpty {
            reasons.append("analysed layers only in the baseline: \(removed.joined(separator: ", "))")
        }
        gmsiIncomparable = reasons
        warnings = reasons.map { "baseline: " + $0 }
    }
}
