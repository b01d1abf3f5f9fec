import Testing
import AuditReport
@testable import ReportWriters

/// Issue 15 item 6: rows skipped as expected (folded BatchNorm, activations, pooling, flatten)
/// are dim; only rows that need attention (unsupported layers, non-finite weights) are coloured
/// as warnings or errors, in the table and in the HTML report.
@Suite struct SkippedRowStyleTests {
    static func report() -> AuditReportV1 {
        var r = SampleReports.weightsOnly()
        r.layers.insert(LayerReport(name: "bn1", kind: "batch_norm", tensors: ["bn1/gamma:0"], status: .skipped,
                                    reason: "folded into 'conv1' as diag(s)·A"), at: 1)
        r.layers.insert(LayerReport(name: "relu1", kind: "activation", tensors: [], status: .skipped,
                                    reason: "activation without weights"), at: 2)
        return r
    }

    @Test func expectedSkipsAreDimNotYellow() {
        let text = TextRenderer.render(Self.report(), colour: true)
        let lines = text.components(separatedBy: "\n")
        let bn = lines.first { $0.contains("bn1") && $0.contains("folded") }!
        #expect(bn.contains("\u{1B}[2m"), "\(bn)")
        #expect(!bn.contains("\u{1B}[33m"), "\(bn)")
        let relu = lines.first { $0.contains("relu1") }!
        #expect(relu.contains("\u{1B}[2m") && !relu.contains("\u{1B}[33m"), "\(relu)")
        let attn = lines.first { $0.contains("unsupported:") }!
        #expect(attn.contains("\u{1B}[33m"), "\(attn)")
    }

    @Test func htmlMarksExpectedSkipsAsMuted() {
        let html = HTMLRenderer.render(Self.report())
        let bnRow = html.components(separatedBy: "\n").first { $0.contains(">bn1<") }!
        #expect(bnRow.hasPrefix("<tr class=\"skipped\""), "\(bnRow)")
        let attnRow = html.components(separatedBy: "\n").first { $0.contains("side/multi_head_attention<") }!
        #expect(attnRow.hasPrefix("<tr class=\"warn\""), "\(attnRow)")
    }
}
