import Foundation
import Testing
import AuditReport
@testable import ReportWriters

/// Every renderer shows the delta section, sorted by relative change, with report text escaped.
@Suite struct DeltaRenderingTests {
    let report = SampleReports.withDelta()

    @Test func rowsAreSortedByRelativeChange() {
        let rows = DeltaRendering.rows(report.delta!)
        #expect(rows.map(\.name) == ["bias<b>", SampleReports.hostile, "fc1.weight"])
        #expect(rows[1].topShare == "42.0% (k 3)")
        #expect(rows[2].note.contains("r 4, s 2 (rsLoRA)") && rows[1].note.contains("f16 vs f32"))
    }

    @Test func text() {
        let t = TextRenderer.render(report, colour: false)
        #expect(t.contains("Delta (ft<&>.safetensors against base"))
        #expect(t.contains("Quantization damage") && t.contains("(×1.20000, Δlog10 L = 0.07920)"))
        #expect(!t.contains("\u{1B}") && !t.contains("\u{07}"))
        #expect(t.contains("unmatched in model (1): only<model>"))
    }

    @Test func markdownHTMLJUnit() {
        let md = MarkdownRenderer.render(report)
        #expect(md.contains("### Delta") && md.contains("Quantization damage"))
        let html = HTMLRenderer.render(report)
        #expect(html.contains("<section class=\"delta\">") && !html.contains("only<model>") && html.contains("only&lt;model&gt;"))
        let junit = JUnitRenderer.render(report)
        #expect(junit.contains("name=\"delta_mode\" value=\"weights\"") && junit.contains("delta_log10_lipschitz_bound"))
    }
}
