import AuditReport
import LinearAlgebra

/// Every null number in a report says why (issue 15): a layer's null metrics get
/// `null_reasons[metric]`, null typical bounds get `network.typical_bound_reason`. Whole
/// objects that are unavailable already carry their own `reason` (`gmsi_reason`,
/// `network.reason`, a layer's `reason`).
enum NullReasons {
    static func fill(_ report: inout AuditReportV1, svd: SVDChoice) {
        for i in report.layers.indices {
            if let m = report.layers[i].metrics {
                report.layers[i].nullReasons = reasons(m, method: report.layers[i].method)
            }
            if let f = report.layers[i].folded, let m = f.metrics {
                report.layers[i].folded!.nullReasons = reasons(m, method: f.method)
            }
        }
        let n = report.network
        if n.lipschitzBound != nil || n.log10LipschitzBound != nil,
           n.typicalBound == nil || n.typicalBoundStableRank == nil || n.inputDimension == nil, n.typicalBoundReason == nil {
            report.network.typicalBoundReason = typicalReason(report)
        }
    }

    /// `null_reasons` of one set of metrics: nil when every metric has a value.
    static func reasons(_ m: SpectrumMetricsV1, method: String?) -> [String: String]? {
        var out: [String: String] = [:]
        for name in SpectrumMetricsV1.names where m.value(named: name) == nil || !(m.value(named: name)!.isFinite) {
            out[name] = metricReason(name, metrics: m, method: method)
        }
        return out.isEmpty ? nil : out
    }

    static func metricReason(_ name: String, metrics m: SpectrumMetricsV1, method: String?) -> String {
        if m.rank == 0 { return "the operator is zero (rank 0): \(name) is undefined" }
        switch method {
        case SpectrumMethod.lanczosTopK.rawValue:
            return "needs the whole spectrum; --svd topk:K computes only the K largest singular values"
        case AnalysisMethod.lanczosSLQ.rawValue:
            return "needs the smallest singular values, which --svd fast does not compute (it estimates traces only)"
        default:
            return "not finite in float64 for this spectrum"
        }
    }

    static func typicalReason(_ r: AuditReportV1) -> String {
        let analysed = r.layers.filter { $0.status == .analyzed }
        if r.network.inputDimension == nil {
            return "the input dimension d is unknown: the model stores no input shape and the first operator is not dense (pass --arch with an input_shape)"
        }
        if analysed.contains(where: { $0.metrics?.effectiveRank == nil }) {
            return "the e^H form needs every operator's spectral entropy, unavailable with --svd \(r.settings.svd)"
        }
        if r.network.chain.contains(where: { $0.kind == "residual" || $0.kind == "concatenate" }) || r.layers.contains(where: { $0.kind == "add" || $0.kind == "concatenate" }) {
            return "the typical bounds need a single chain of operators (their Frobenius argument); this network has branches or residual connections"
        }
        return "the typical bounds need a single chain of operators and the input dimension d"
    }
}
