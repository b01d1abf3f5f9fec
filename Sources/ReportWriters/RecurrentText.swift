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
