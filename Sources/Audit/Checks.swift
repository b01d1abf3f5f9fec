import Foundation
import AuditReport

/// The verdict's checks (SPEC §6), in a fixed order: non-finite weights, the GMSI threshold,
/// policy limits (network, then per layer in report order), then baseline regressions.
enum Checks {
    static func evaluate(report: AuditReportV1, configuration: AuditConfiguration) -> [Check] {
        var checks: [Check] = []
        let policy = configuration.policy
        let allowUnavailable = configuration.allowUnavailable || (policy?.allowUnavailable ?? false)

        for layer in report.layers where layer.status == .nonFinite {
            checks.append(Check(id: "layer.finite", layer: layer.name, metric: "finite", value: nil, limit: nil,
                                comparison: "finite", passed: false,
                                message: "layer '\(layer.name)': \(layer.reason ?? "non-finite weights")"))
        }

        func gmsiCheck(id: String, limit: Double) {
            if let g = report.gmsi {
                checks.append(Check(id: id, layer: nil, metric: "gmsi", value: g, limit: limit, comparison: "<=",
                                    passed: g <= limit,
                                    message: (g <= limit ? "gmsi \(fmt(g)) ≤ \(fmt(limit))" : "gmsi \(fmt(g)) exceeds the threshold \(fmt(limit))")
                                        + (report.transformer.map { " (transformer bound, local on \($0.domain.summary))" } ?? "")))
            } else {
                let why = report.gmsiReason ?? "unavailable"
                checks.append(Check(id: id, layer: nil, metric: "gmsi", value: nil, limit: limit, comparison: "<=",
                                    passed: allowUnavailable,
                                    message: allowUnavailable ? "gmsi unavailable (\(why)); allowed by --allow-unavailable"
                                                              : "gmsi unavailable: \(why) (pass --allow-unavailable to accept)"))
            }
        }
        if let t = configuration.threshold { gmsiCheck(id: "gmsi.threshold", limit: t) }
        if let t = configuration.dataThreshold, configuration.data != nil { checks.append(dataGMSICheck(report: report, limit: t, allowUnavailable: allowUnavailable)) }
        if let policy {
            if let t = policy.gmsiMax { gmsiCheck(id: "policy.gmsi_max", limit: t) }
            for name in Policy.networkMetrics {
                guard let limit = policy.networkMax[name] else { continue }
                let value: Double?
                switch name {
                case "lipschitz_bound": value = report.network.lipschitzBound
                case "log10_lipschitz_bound": value = report.network.log10LipschitzBound
                case "typical_bound": value = report.network.typicalBound
                default: value = report.network.typicalBoundStableRank
                }
                let ok = value.map { $0 <= limit } ?? allowUnavailable
                checks.append(Check(id: "policy.network.\(name)_max", layer: nil, metric: name, value: value, limit: limit,
                                    comparison: "<=", passed: ok,
                                    message: value.map { "\(name) \(fmt($0)) \(ok ? "≤" : ">") \(fmt(limit))" }
                                        ?? "\(name) unavailable: \(report.network.reason ?? "no value")"))
            }
            for layer in report.layers where layer.status == .analyzed {
                // Delta metrics (`delta_…`) are judged on the delta section (DeltaChecks).
                for rule in policy.rules where !DeltaReport.metricNames.contains(rule.metric) && Policy.matches(rule.layers, layer.name) {
                    let value = rule.metric == "operator_norm" ? layer.operatorNorm : layer.metrics?.value(named: rule.metric)
                    if rule.metric == "operator_norm" && layer.operatorNorm == nil && !layer.kind.hasPrefix("conv")
                        && !layer.kind.hasPrefix("depthwise") { continue } // only conv layers have one
                    guard let v = value else {
                        checks.append(Check(id: "policy.layer.\(rule.metric)", layer: layer.name, metric: rule.metric, value: nil,
                                            limit: rule.max ?? rule.min, comparison: rule.max != nil ? "<=" : ">=",
                                            passed: allowUnavailable,
                                            message: "layer '\(layer.name)': \(rule.metric) unavailable (method \(layer.method ?? "?"))"
                                                + (allowUnavailable ? "; allowed" : " (pass --allow-unavailable to accept)")))
                        continue
                    }
                    if let mx = rule.max {
                        checks.append(Check(id: "policy.layer.\(rule.metric)_max", layer: layer.name, metric: rule.metric,
                                            value: v, limit: mx, comparison: "<=", passed: v <= mx,
                                            message: "layer '\(layer.name)': \(rule.metric) \(fmt(v)) \(v <= mx ? "≤" : ">") \(fmt(mx)) (rule '\(rule.layers)')"))
                    }
                    if let mn = rule.min {
                        checks.append(Check(id: "policy.layer.\(rule.metric)_min", layer: layer.name, metric: rule.metric,
                                            value: v, limit: mn, comparison: ">=", passed: v >= mn,
                                            message: "layer '\(layer.name)': \(rule.metric) \(fmt(v)) \(v >= mn ? "≥" : "<") \(fmt(mn)) (rule '\(rule.layers)')"))
                    }
                }
            }
        }
        if let base = configuration.baseline, let pct = configuration.maxIncreasePercent {
            checks += regressionChecks(report: report, baseline: base, percent: pct, allowUnavailable: allowUnavailable)
        }
        if let policy { checks += TransformerChecks.evaluate(report: report, policy: policy, allowUnavailable: allowUnavailable) }
        // Policy limits on deltas (`--base`; replaced by the real ones once the delta section exists).
        checks += DeltaChecks.evaluate(delta: report.delta, configuration: configuration)
        return checks
    }

    /// `--baseline OLD --max-increase PCT`: GMSI and each common layer's σ_max may grow by at most
    /// PCT percent (relative to the baseline value).
    static func regressionChecks(report: AuditReportV1, baseline: AuditReportV1, percent: Double,
                                 allowUnavailable: Bool) -> [Check] {
        var checks: [Check] = []
        let factor = 1 + percent / 100
        let comparison = BaselineComparison(report: report, baseline: baseline)
        if !comparison.gmsiIncomparable.isEmpty {
            // Not a regression and not a pass: the two numbers measure different things.
            checks.append(Check(id: "baseline.incomparable", layer: nil, metric: "gmsi", value: report.gmsi, limit: nil,
                                comparison: "comparable", passed: allowUnavailable,
                                message: "gmsi not compared with the baseline: " + comparison.gmsiIncomparable.joined(separator: "; ")
                                    + (allowUnavailable ? " (allowed)" : " (record a new baseline with the same options, or pass --allow-unavailable to accept)")))
        } else if baseline.gmsi == nil || report.gmsi == nil {
            let which = report.gmsi == nil ? "this model's gmsi" : "the baseline's gmsi"
            checks.append(Check(id: "baseline.gmsi", layer: nil, metric: "gmsi", value: report.gmsi, limit: baseline.gmsi.map { $0 * factor },
                                comparison: "<=", passed: allowUnavailable,
                                message: "\(which) is unavailable; cannot compare with the baseline"
                                    + (allowUnavailable ? " (allowed)" : " (pass --allow-unavailable to accept)")))
        }
        if comparison.gmsiIncomparable.isEmpty, let old = baseline.gmsi, let new = report.gmsi {
            let limit = old * factor
            checks.append(Check(id: "baseline.gmsi", layer: nil, metric: "gmsi", value: new, limit: limit, comparison: "<=",
                                passed: new <= limit,
                                message: "gmsi \(fmt(new)) vs baseline \(fmt(old)) (\(pctChange(old, new)); max +\(fmt(percent))%)"))
        }
        let oldLayers = Dictionary(baseline.layers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for layer in report.layers {
            guard let new = layer.metrics?.spectralNorm, let old = oldLayers[layer.name]?.metrics?.spectralNorm else { continue }
            let limit = old * factor
            checks.append(Check(id: "baseline.layer.spectral_norm", layer: layer.name, metric: "spectral_norm", value: new,
                                limit: limit, comparison: "<=", passed: new <= limit,
                                message: "layer '\(layer.name)': spectral_norm \(fmt(new)) vs baseline \(fmt(old)) (\(pctChange(old, new)))"))
        }
        return checks
    }

    static func pctChange(_ old: Double, _ new: Double) -> String {
        guard old != 0 else { return "baseline 0" }
        let p = (new - old) / old * 100
        return (p >= 0 ? "+" : "") + String(format: "%.2f%%", p)
    }

    /// Four significant digits (`%g` switches to an exponent for large and small values).
    static func fmt(_ v: Double) -> String {
        v == 0 ? "0" : String(format: "%.4g", v)
    }
}
