import AuditReport

/// Issue 15 additions to the verdict: the data-mode gate (`data_gmsi.threshold`) and policy
/// rules that would check nothing.
extension Checks {
    /// `--data-threshold T`: `data_gmsi ≤ T` (SPEC §7: its own option and check id).
    static func dataGMSICheck(report: AuditReportV1, limit: Double, allowUnavailable: Bool) -> Check {
        let id = "data_gmsi.threshold"
        let probes = report.data.map { "\($0.probeCount) probe input\($0.probeCount == 1 ? "" : "s")" } ?? "probe inputs"
        guard let g = report.dataGmsi else {
            let why = report.dataGmsiReason ?? "unavailable"
            return Check(id: id, layer: nil, metric: "data_gmsi", value: nil, limit: limit, comparison: "<=", passed: allowUnavailable,
                         message: allowUnavailable ? "data_gmsi unavailable (\(why)); allowed by --allow-unavailable"
                                                   : "data_gmsi unavailable: \(why) (pass --allow-unavailable to accept)")
        }
        let ok = g <= limit
        return Check(id: id, layer: nil, metric: "data_gmsi", value: g, limit: limit, comparison: "<=", passed: ok,
                     message: ok ? "data_gmsi \(fmt(g)) ≤ \(fmt(limit)) (measured on \(probes))"
                                 : "data_gmsi \(fmt(g)) exceeds the data threshold \(fmt(limit)) (measured on \(probes))")
    }

    /// A policy rule and its place in the file.
    struct RuleRef {
        var index: Int
        var rule: Policy.Rule
    }

    /// Whether `rule` produces a check for `layer` (the same conditions as `evaluate`).
    static func ruleApplies(_ rule: Policy.Rule, to layer: LayerReport) -> Bool {
        guard layer.status == .analyzed, Policy.matches(rule.layers, layer.name) else { return false }
        if rule.metric == "operator_norm" && layer.operatorNorm == nil && !layer.kind.hasPrefix("conv")
            && !layer.kind.hasPrefix("depthwise") { return false }
        return true
    }

    /// Rules that produced no check: their glob matches no analysed layer (or, for
    /// `operator_norm`, no convolution).
    static func unmatchedRules(report: AuditReportV1, policy: Policy) -> [RuleRef] {
        policy.rules.enumerated().compactMap { i, rule in
            report.layers.contains { ruleApplies(rule, to: $0) } ? nil : RuleRef(index: i, rule: rule)
        }
    }

    static func unmatchedMessage(_ ref: RuleRef, report: AuditReportV1, path: String?) -> String {
        let analysed = report.layers.filter { $0.status == .analyzed }.map(\.name)
        let matchedOthers = report.layers.filter { Policy.matches(ref.rule.layers, $0.name) }.map(\.name)
        var what = "policy \(path.map { "'\($0)' " } ?? "")rules[\(ref.index)] (layers '\(ref.rule.layers)', metric \(ref.rule.metric)) "
        if matchedOthers.isEmpty {
            what += "matches no layer"
        } else if ref.rule.metric == "operator_norm" && matchedOthers.contains(where: { n in analysed.contains(n) }) {
            what += "matches no convolution layer (only they have an operator_norm)"
        } else {
            what += "matches only layers that are not analysed (\(matchedOthers.prefix(5).joined(separator: ", ")))"
        }
        what += "; analysed layers: \(analysed.prefix(8).joined(separator: ", "))\(analysed.count > 8 ? ", …" : "")"
        return ref.rule.optional ? what + " (optional rule: no check)" : what + "; fix the glob or mark the rule \"optional\": true"
    }
}
