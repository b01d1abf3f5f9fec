import AuditReport

/// Policy limits on deltas (`--base`, LoRA; spectral-audit-formats(5) POLICY FILE): a rule whose
/// metric is one of `DeltaReport.metricNames` applies to every delta entry whose tensor name (or
/// layer) matches its glob — check id `policy.delta.<metric>_max|_min`, scope the tensor; the
/// policy's `network` keys `delta_log10_lipschitz_bound_max` and `lipschitz_bound_ratio_max`
/// give `policy.delta.network.<name>_max`. Vectors have only the relative norms: the spectral
/// delta metrics skip them. A value that cannot be computed fails unless unavailable values are
/// allowed, like every other check.
enum DeltaChecks {
    static func evaluate(delta: DeltaReport?, configuration: AuditConfiguration) -> [Check] {
        guard let policy = configuration.policy else { return [] }
        let allowUnavailable = configuration.allowUnavailable || (policy.allowUnavailable ?? false)
        let rules = policy.rules.filter { DeltaReport.metricNames.contains($0.metric) }
        let network = DeltaReport.networkMetricNames.filter { policy.networkMax[$0] != nil }
        guard !rules.isEmpty || !network.isEmpty else { return [] }
        let fmt = Checks.fmt
        guard let delta else {
            return [Check(id: "policy.delta.unavailable", layer: nil, metric: "delta", value: nil, limit: nil, comparison: "<=",
                          passed: allowUnavailable,
                          message: "the policy limits delta metrics but no --base or adapter was given"
                              + (allowUnavailable ? "; allowed" : " (pass --allow-unavailable to accept)"))]
        }
        var checks: [Check] = []
        let vectorMetrics: Set<String> = ["delta_relative_spectral_norm", "delta_relative_frobenius"]
        for e in delta.entries {
            for rule in rules where Policy.matches(rule.layers, e.name) || (e.layer.map { Policy.matches(rule.layers, $0) } ?? false) {
                if e.kind == "vector" && !vectorMetrics.contains(rule.metric) { continue }
                guard let v = e.value(named: rule.metric) else {
                    checks.append(Check(id: "policy.delta.\(rule.metric)", layer: e.name, metric: rule.metric, value: nil,
                                        limit: rule.max ?? rule.min, comparison: rule.max != nil ? "<=" : ">=", passed: allowUnavailable,
                                        message: "'\(e.name)': \(rule.metric) unavailable" + (e.reason.map { " (\($0))" } ?? "")
                                            + (allowUnavailable ? "; allowed" : " (pass --allow-unavailable to accept)")))
                    continue
                }
                if let mx = rule.max {
                    checks.append(Check(id: "policy.delta.\(rule.metric)_max", layer: e.name, metric: rule.metric, value: v, limit: mx,
                                        comparison: "<=", passed: v <= mx,
                                        message: "'\(e.name)': \(rule.metric) \(fmt(v)) \(v <= mx ? "≤" : ">") \(fmt(mx)) (rule '\(rule.layers)')"))
                }
                if let mn = rule.min {
                    checks.append(Check(id: "policy.delta.\(rule.metric)_min", layer: e.name, metric: rule.metric, value: v, limit: mn,
                                        comparison: ">=", passed: v >= mn,
                                        message: "'\(e.name)': \(rule.metric) \(fmt(v)) \(v >= mn ? "≥" : "<") \(fmt(mn)) (rule '\(rule.layers)')"))
                }
            }
        }
        for name in network {
            let limit = policy.networkMax[name]!
            let value = delta.network?.value(named: name)
            let ok = value.map { $0 <= limit } ?? allowUnavailable
            checks.append(Check(id: "policy.delta.network.\(name)_max", layer: nil, metric: name, value: value, limit: limit,
                                comparison: "<=", passed: ok,
                                message: value.map { "\(name) \(fmt($0)) \(ok ? "≤" : ">") \(fmt(limit))" }
                                    ?? "\(name) unavailable: \(delta.network?.reason ?? "no base model")"))
        }
        return checks
    }
}
