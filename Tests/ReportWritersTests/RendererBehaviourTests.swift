import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import AuditReport
@testable import ReportWriters

@Suite struct NumberAndTextTests {
    @Test(arguments: [
        (0.0, "0"), (1.0, "1.000"), (12.7, "12.70"), (489.42, "489.4"), (1096.62, "1097"), (99999.4, "1.000e5"), (99990.0, "99990"),
        (123456.0, "1.235e5"), (0.0031, "0.003100"), (0.00012346, "1.235e-4"), (-0.318, "-0.3180"),
        (9.99996, "10.00"), (2.5e-300, "2.500e-300"),
    ])
    func fourSignificantDigits(_ x: Double, _ expected: String) {
        #expect(ReportNumber.format(x) == expected)
    }

    @Test func specialValues() {
        #expect(ReportNumber.format(nil) == "—")
        #expect(ReportNumber.format(.nan) == "NaN")
        #expect(ReportNumber.format(-.infinity) == "-Inf")
        #expect(ReportNumber.short(10) == "10" && ReportNumber.short(0.5) == "0.5" && ReportNumber.short(150000) == "1.5e5")
        #expect(ReportNumber.ratio(44.09) == "44" && ReportNumber.ratio(3.71) == "3.7")
        #expect(ReportNumber.percent(0.41038) == "41.0%")
    }

    @Test func middleTruncation() {
        let name = SampleReports.longDenseName
        let t = ReportText.truncateMiddle(name, width: 20)
        #expect(t.count == 20 && t.contains("…") && t.hasPrefix("model/enco") && t.hasSuffix("rojection"))
        #expect(ReportText.truncateMiddle("short", width: 20) == "short")
    }

    @Test func textColourOnlyWhenAsked() {
        let r = SampleReports.weightsOnly()
        let plain = TextRenderer.render(r, colour: false)
        let coloured = TextRenderer.render(r, colour: true)
        #expect(!plain.contains("\u{1B}"))
        #expect(coloured.contains("\u{1B}[1;31mFAIL\u{1B}[0m"))
        #expect(coloured.contains("\u{1B}[32mok\u{1B}[0m"))
        #expect(coloured.contains("\u{1B}[33m"))
        // Colour never shifts columns: stripping escapes gives the plain rendering.
        let stripped = coloured.replacingOccurrences(of: "\u{1B}\\[[0-9;]*m", with: "", options: .regularExpression)
        #expect(stripped == plain)
        #expect(TextRenderer.render(SampleReports.withData(), colour: true).contains("\u{1B}[1;32mPASS"))
    }

    @Test func textColumnsAlign() {
        let lines = TextRenderer.render(SampleReports.weightsOnly(), colour: false).components(separatedBy: "\n")
        let header = try! #require(lines.firstIndex { $0.hasPrefix("  layer ") })
        let column = lines[header].range(of: "kind")!.lowerBound
        let offset = lines[header].distance(from: lines[header].startIndex, to: column)
        // Continuation lines of a wrapped name hold only the name column.
        for line in lines[(header + 1)...(header + 7)] where line.count > offset {
            let kind = line[line.index(line.startIndex, offsetBy: offset)...]
            #expect(["conv2d", "dense", "multi_head_attention", "tensor", "diag(s)·A"].contains { kind.hasPrefix($0) }, "\(line)")
        }
        // A long name wraps in the name column (never cut): its pieces, read down, give it whole.
        #expect(lines.contains { $0.hasPrefix("  model/encoder/block_0/feed_forward/") })
        #expect(lines.contains { $0.hasPrefix("  intermediate_dense_projection") })
        #expect(lines.contains { $0.contains("non_finite: 3 NaN, 1 +Inf among 1024 values") })
        #expect(lines.contains { $0.contains("unsupported: attention is not a linear operator") })
    }

    @Test func textSanitizesTerminalControls() {
        let text = TextRenderer.render(SampleReports.hostileReport(), colour: false)
        #expect(!text.contains("\u{1B}") && !text.contains("\u{07}") && !text.contains("\u{0}"))
        #expect(!text.contains("\r"))
    }

    @Test func dataSectionSaysHowLooseTheBoundIs() {
        var r = SampleReports.withData()
        r.data?.boundRatio = 37.02
        let text = TextRenderer.render(r, colour: false)
        #expect(text.contains("the bound is 37× loose"))
        #expect(text.contains("g_J") && text.contains("g_θ") && text.contains("g_K") && text.contains("g_H"))
        #expect(MarkdownRenderer.render(r).contains("The bound is 37× loose"))
        #expect(!TextRenderer.render(SampleReports.weightsOnly(), colour: false).contains("loose"))
    }
}

@Suite struct JUnitTests {
    final class Cases: NSObject, XMLParserDelegate {
        var testcases: [[String: String]] = []
        var failures: [[String: String]] = []
        var failureText = ""
        var inFailure = false
        var suites: [[String: String]] = []
        var depth = 0
        var errors = 0
        func parser(_ p: XMLParser, parseErrorOccurred parseError: Error) { errors += 1 }
        func parser(_ p: XMLParser, didStartElement n: String, namespaceURI: String?, qualifiedName: String?,
                    attributes a: [String: String] = [:]) {
            depth += 1
            if n == "testcase" { testcases.append(a) }
            if n == "testsuite" { suites.append(a) }
            if n == "failure" { failures.append(a); inFailure = true }
        }
        func parser(_ p: XMLParser, foundCharacters s: String) { if inFailure { failureText += s } }
        func parser(_ p: XMLParser, didEndElement n: String, namespaceURI: String?, qualifiedName: String?) {
            depth -= 1
            if n == "failure" { inFailure = false }
        }
    }

    static func parse(_ xml: String) -> (Cases, Bool) {
        let parser = XMLParser(data: Data(xml.utf8))
        let cases = Cases()
        parser.delegate = cases
        let ok = parser.parse() && parser.parserError == nil && cases.errors == 0 && cases.depth == 0
        return (cases, ok)
    }

    @Test func oneTestcasePerCheck() {
        let r = SampleReports.weightsOnly()
        let (doc, ok) = Self.parse(JUnitRenderer.render(r))
        #expect(ok)
        #expect(doc.suites.count == 1 && doc.suites[0]["name"] == "spectral-audit")
        #expect(doc.suites[0]["tests"] == "4" && doc.suites[0]["failures"] == "2")
        #expect(doc.testcases.map { $0["name"] ?? "" } == r.checks.map(\.id))
        #expect(doc.testcases.map { $0["classname"] ?? "" } == ["spectral-audit.network", "spectral-audit.aux_head/kernel",
                                                                "spectral-audit.dense_1", "spectral-audit.conv1"])
        #expect(doc.failures.count == 2)
        #expect(doc.failureText.contains("value 12.7 limit <= 10"))
        // The unsupported layer has no check, so no test case.
        #expect(!doc.testcases.contains { $0["classname"]?.contains("multi_head_attention") ?? false })
    }

    @Test func hostileTextSurvivesXMLRoundTrip() {
        let r = SampleReports.hostileReport()
        let xml = JUnitRenderer.render(r)
        let (doc, ok) = Self.parse(xml)
        #expect(ok, "JUnit output is not well-formed")
        #expect(!xml.contains("\u{1B}") && !xml.contains("\u{07}") && !xml.contains("\u{0}"))
        // Attribute newlines survive as references; forbidden controls are dropped.
        let expected = "check 0: " + SampleReports.hostile.unicodeScalars
            .filter { $0.value >= 0x20 || $0 == "\t" || $0 == "\n" || $0 == "\r" }.map(String.init).joined()
        #expect(doc.failures.first?["message"] == expected)
        #expect(doc.testcases.count == 3)
    }

    @Test func noChecksIsAnEmptySuite() {
        var r = SampleReports.weightsOnly()
        r.checks = []
        r.verdict = .pass
        let (doc, ok) = Self.parse(JUnitRenderer.render(r))
        #expect(ok && doc.testcases.isEmpty && doc.suites[0]["tests"] == "0")
    }
}

@Suite struct MarkdownTests {
    /// Unescaped `|` in a table row (GFM splits cells on them).
    static func cellSeparators(_ row: String) -> Int {
        var count = 0, escaped = false
        for ch in row {
            if escaped { escaped = false; continue }
            if ch == "\\" { escaped = true } else if ch == "|" { count += 1 }
        }
        return count
    }

    @Test func cellsStayInTheirColumns() {
        let md = MarkdownRenderer.render(SampleReports.hostileReport())
        let lines = md.components(separatedBy: "\n")
        var header = 0
        for line in lines where line.hasPrefix("|") {
            if line.hasPrefix("|---") || line.hasPrefix("|:") { continue }
            if !lines.contains(line) { continue }
            let n = Self.cellSeparators(line)
            if line.hasPrefix("| | check") || line.hasPrefix("| layer") || line.hasPrefix("| component") || line.hasPrefix("| g_J") {
                header = n
            } else {
                #expect(n == header, "row breaks the table: \(line)")
            }
        }
        #expect(!md.contains("\r") && !md.contains("\u{1B}"))
        #expect(md.contains("a\\|b \\<c\\> \\& \"d\" 'e' %25 100% x:y,z<br>next line"))
    }

    @Test func failedChecksFirstAndVerdict() {
        let md = MarkdownRenderer.render(SampleReports.weightsOnly())
        #expect(md.hasPrefix("## spectral-audit: ✗ FAIL (2 of 4 checks failed)"))
        let fail = md.range(of: "| ✗ **fail** | layer.finite")!.lowerBound
        let pass = md.range(of: "| ✓ | gmsi.threshold")!.lowerBound
        #expect(fail < pass)
        #expect(MarkdownRenderer.render(SampleReports.withData()).hasPrefix("## spectral-audit: ✓ PASS"))
    }
}

@Suite struct GitHubAnnotationTests {
    @Test func escapingFollowsActionsCore() {
        #expect(Escape.githubData("100% done\r\nnext:a,b") == "100%25 done%0D%0Anext:a,b")
        #expect(Escape.githubProperty("C:\\m\\a,b:c%.h5\n") == "C%3A\\m\\a%2Cb%3Ac%25.h5%0A")
    }

    @Test func oneLinePerAnnotationWithEscapedFields() {
        let out = GitHubAnnotationsRenderer.render(SampleReports.hostileReport(failedChecks: 2))
        let lines = out.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == 3)
        #expect(lines.allSatisfy { $0.hasPrefix("::error file=C%3A\\models\\a%2Cb%3Ac%25.h5,title=spectral-audit::")
            || $0.hasPrefix("::warning file=C%3A\\models\\a%2Cb%3Ac%25.h5,title=spectral-audit::") })
        #expect(!out.contains("\r"))
        #expect(lines[0].contains("'e' %2525 100%25 x:y,z%0D%0Anext"))
        // Terminal controls never reach the log.
        #expect(!out.contains("\u{1B}") && !out.contains("\u{07}") && !out.contains("\u{0}"))
    }

    @Test func cappedWithSummary() {
        let r = SampleReports.hostileReport(failedChecks: 60)
        let lines = GitHubAnnotationsRenderer.render(r).split(separator: "\n")
        #expect(lines.count == 50)
        #expect(lines.dropLast().allSatisfy { $0.hasPrefix("::error ") })
        #expect(lines.last!.hasPrefix("::notice ") && lines.last!.contains("12 more annotations omitted (11 errors, 1 warnings)"))
        // Exactly at the cap: no summary.
        let exact = GitHubAnnotationsRenderer.render(SampleReports.hostileReport(failedChecks: 49)).split(separator: "\n")
        #expect(exact.count == 50 && !exact.contains { $0.hasPrefix("::notice") })
    }

    @Test func passingReportWithoutAssumptionsIsSilent() {
        var r = SampleReports.withData()
        r.assumptions = []
        #expect(GitHubAnnotationsRenderer.render(r) == "")
    }
}

@Suite struct WellFormednessCheckCanFail {
    @Test(arguments: ["<html><body><svg xmlns=\"http://www.w3.org/2000/svg\"><rect/></body></html>",
                      "<html><svg>", "<a><b></a>", "<a>&nbsp;</a>", "<a x=1/>"])
    func malformedIsDetected(_ doc: String) {
        let (_, ok, _) = HTMLTests.parse(doc)
        #expect(!ok)
        #expect(HTMLTests.parse("<html><svg><rect/></svg></html>").1)
    }
}
