extension LayerReport {
    /// The reason of a weight tensor that no layer of the structure reads.
    public static let unreferencedReason = "not referenced by the network structure"

    /// Skipped by design — a folded BatchNorm, an activation, pooling, flatten, dropout, optimizer
    /// state, an integer buffer: nothing a reader must act on (renderers dim these rows). A
    /// weight the structure does not reference is not an expected skip.
    public var isExpectedSkip: Bool {
        status == .skipped && reason != LayerReport.unreferencedReason
    }
}

extension AuditReportV1 {
    /// What the check judged, for people: `gmsi` is the weights-only Lipschitz bound,
    /// `data_gmsi` the aggregate measured on probe inputs (SPEC §7).
    public static func quantityName(_ metric: String) -> String {
        switch metric {
        case "gmsi": return "gmsi (weights-only bound)"
        case "data_gmsi": return "data_gmsi (on probe inputs)"
        default: return metric
        }
    }
}
