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

    /// Appends warnings (kept absent when there are none).
    mutating func addWarnings(_ new: [String]) {
        guard !new.isEmpty else { return }
        warnings = (warnings ?? []) + new
    }
}
