import AuditReport

extension AuditReportV1 {
    /// SPEC §7 (`spectral-audit/2`): the data-mode aggregate of SPEC §5 is `data_gmsi`, with its
    /// components and aggregate; `gmsi` stays the weights-only bound.
    mutating func applyDataGMSI(components: [String: Double?], aggregate: GMSIAggregate) {
        dataGmsiComponents = components
        dataGmsi = aggregate.combine(components.values.compactMap { $0 })
        dataGmsiReason = dataGmsi == nil ? "no data-mode component could be measured" : nil
        dataGmsiAggregate = aggregate.rawValue
        var reasons: [String: String] = [:]
        for (name, value) in components where value == nil {
            if name == "sqrt_g_H", let why = data?.gHReason {
                reasons[name] = why
            } else {
                reasons[name] = "not measured on these probe inputs"
            }
        }
        dataGmsiNullReasons = reasons.isEmpty ? nil : reasons
        if aggregate != .max {
            assumptions.append("data_gmsi aggregates the data components by \(aggregate.rawValue) (--gmsi-aggregate), not the default max")
        }
    }

    /// The forward engine's limit, not the file's fault: `data_gmsi` is unavailable with the reason
    /// (a `--data-threshold` check then fails unless `--allow-unavailable`); the weights-only
    /// results and `gmsi` are reported as usual.
    mutating func markDataAuditUnavailable(_ message: String, aggregate: GMSIAggregate) {
        dataGmsiComponents = ["g_J": nil, "g_theta": nil, "sqrt_g_K": nil, "sqrt_g_H": nil]
        dataGmsi = nil
        dataGmsiReason = "data audit unavailable: " + message
        dataGmsiAggregate = aggregate.rawValue
        assumptions.append("data audit not run: " + message)
    }

    /// Appends warnings (kept absent when there are none).
    mutating func addWarnings(_ new: [String]) {
        guard !new.isEmpty else { return }
        warnings = (warnings ?? []) + new
    }
}
