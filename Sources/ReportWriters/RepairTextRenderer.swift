import AuditReport
import Foundation

/// The plain-text table of a repair report (stdout of `spectral-audit repair`).
public enum RepairTextRenderer {
    static func num(_ x: Double?) -> String {
        guard let x else { return "—" }
        if !x.isFinite { return "\(x)" }
        return String(format: abs(x) >= 1e4 || (abs(x) < 1e-3 && x != 0) ? "%.4g" : "%.4f", x)
    }

    static func pct(_ x: Double?) -> String { x.map { String(format: "%.2f%%", 100 * $0) } ?? "—" }

    public static func render(_ r: RepairReportV1) -> String {
        var out = "spectral-audit \(r.tool.version) · repair\n"
        out += "  input         \(r.input) (\(r.inputFormat))\n"
        if let o = r.output { out += "  output        \(o)\n" }
        var asked: [String] = []
        if let t = r.targetGmsi { asked.append("target gmsi \(num(t))") }
        if let s = r.maxSigma { asked.append("max σ \(num(s))") }
        for (k, v) in (r.layerMaxSigma ?? [:]).sorted(by: { $0.key < $1.key }) { asked.append("\(k) ≤ \(num(v))") }
        out += "  asked         \(asked.joined(separator: ", "))\n\n"
        let header = ["layer", "method", "σ before", "σ after", "clip level", "‖ΔW‖/‖W‖", "‖ΔA‖/‖A‖"]
        var rows = [header]
        for l in r.layers {
            rows.append([l.layer + (l.foldedBatchNorm.map { " (+\($0))" } ?? ""), l.method, num(l.sigmaBefore), num(l.sigmaAfter),
                         num(l.clipLevel), String(format: "%.3e", l.relativeChange), String(format: "%.3e", l.operatorRelativeChange)])
        }
        let widths = (0..<header.count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        out += "Layers (\(r.layers.count))\n"
        for row in rows {
            out += "  " + row.enumerated().map { c, s in s.padding(toLength: widths[c], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces) + "\n"
        }
        out += "\nGMSI (weights-only Lipschitz bound)\n"
        out += "  before        \(num(r.gmsiBefore))\n"
        out += "  after         \(num(r.gmsiAfter))  (\(r.rounds) round\(r.rounds == 1 ? "" : "s"), Σ‖ΔA‖_F² = \(String(format: "%.4e", r.totalCost)), μ = \(String(format: "%.4e", r.multiplier)))\n"
        if let g = r.outputAuditGmsi { out += "  output audit  \(num(g))\n" }
        if let p = r.probe {
            out += "\nOn \(p.count) probe inputs (\(p.path))\n"
            out += "  output change    max \(String(format: "%.4e", p.outputChangeMax)) · mean \(String(format: "%.4e", p.outputChangeMean)) (relative, logits)\n"
            out += "  top-1 agreement  \(pct(p.top1Agreement))\n"
            if p.accuracyBefore != nil { out += "  accuracy         \(pct(p.accuracyBefore)) → \(pct(p.accuracyAfter))\n" }
            out += "  attribution AI   \(String(format: "%.4e", p.attributionInstabilityBefore)) → \(String(format: "%.4e", p.attributionInstabilityAfter)) (ε = \(p.attributionEpsilon), \(p.attributionSamples) draws, seed \(p.seed))\n"
        }
        for n in r.notes { out += "\nnote: \(n)\n" }
        out += "\nResult: \(r.met ? "MET" : "NOT MET")\n"
        return out
    }
}
