import Testing
import AuditReport
@testable import ReportWriters

/// Every transformer bound the text and Markdown reports print carries its domain beside it.
@Suite struct TransformerSectionTests {
    @Test func headBoundPrintsItsDomain() throws {
        let t = SampleReports.transformerSection(complete: true)
        let line = try #require(TransformerSection.headLine(t))
        #expect(line.contains("bound to the logits 10750 (" + TransformerSection.domainLabel(t) + ")"), "\(line)")
    }

    @Test func unavailableHeadBoundSaysWhy() throws {
        var t = SampleReports.transformerSection(complete: true)
        t.head?.networkBound = nil
        let line = try #require(TransformerSection.headLine(t))
        #expect(line.hasSuffix("bound to the logits unavailable"), "\(line)")
    }
}
