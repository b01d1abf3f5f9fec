import AuditReport
import Foundation

/// One line per LSTM/GRU horizon bound (issue 19) for the text and Markdown reports: the horizon
/// is printed beside every number that depends on it.
enum RecurrentText {
    static func line(_ r: RecurrentBoundV1) -> String {
        let head = "\(r.layer): "
        guard let lg = r.log10LipschitzBound else {
            return head + "no horizon bound" + (r.reason.map { " (\($0))" } ?? "")
        }
        let value = r.lipschitzBound.map { ReportNumber.format($0) } ?? "beyond Float64"
        let output = r.output == "final_state" ? "input sequence → final state" : "input sequence → every step's output"
        let dirs = r.directions.map { d -> String in
            let verdict = d.contractive ? "contractive" : "not provably contractive"
            let growth = d.growthPerStep.map { ", ×\(ReportNumber.format($0))/step" } ?? ""
            return "\(d.name) \(d.cell) \(verdict) (radius \(ReportNumber.format(d.spectralRadius))\(growth))"
        }
        return head + "L ≤ \(value) (log10 \(ReportNumber.format(lg))) at horizon T = \(r.horizon), \(output); " + dirs.joined(separator: "; ")
    }
}

extension RecurrentText {
    /// Data mode: the measured one-step state maps of one direction beside the horizon bound's
    /// growth rate at the probes' length T.
    static func trajectoryLine(_ t: RecurrentTrajectoryV1) -> String {
        var s = "\(t.layer) \(t.direction) (\(t.cell), \(t.stateMap)): measured σ_max over \(t.steps) steps max \(ReportNumber.format(t.max)), "
            + "contraction rate (geometric mean) ≤ \(ReportNumber.format(t.geometricMeanMax))/step"
        if let g = t.boundGrowthPerStep {
            s += "; weights-only bound grows ×\(ReportNumber.format(g))/step at T = \(t.steps)"
        } else if let r = t.boundSpectralRadius {
            s += "; weights-only bound radius \(ReportNumber.format(r)) at T = \(t.steps)"
        }
        return s
    }
}
