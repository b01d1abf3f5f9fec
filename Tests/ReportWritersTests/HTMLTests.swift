import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import AuditReport
@testable import ReportWriters

/// Structural checks on the HTML report that need no browser: it parses as XML (so every tag,
/// `<svg>` included, is closed), it holds the expected number of SVG charts, and it references
/// nothing outside itself.
@Suite struct HTMLTests {
    /// Element names in document order, nesting depth and parse errors. (On Linux, `parse()`
    /// returns true after recoverable errors and says nothing about unclosed elements at the end,
    /// so well-formedness is judged from the errors and the depth as well.)
    final class Collector: NSObject, XMLParserDelegate {
        var elements: [String] = []
        var svgDepth = 0
        var maxSVGDepth = 0
        var depth = 0
        var errors = 0
        var attributes: [String] = []
        func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) { errors += 1 }
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            depth += 1
            elements.append(name)
            self.attributes += attributes.map { "\($0.key)=\($0.value)" }
            if name == "svg" { svgDepth += 1; maxSVGDepth = max(maxSVGDepth, svgDepth) }
        }
        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            depth -= 1
            if name == "svg" { svgDepth -= 1 }
        }
    }

    static func parse(_ html: String) -> (Collector, Bool, String?) {
        let parser = XMLParser(data: Data(html.utf8))
        let collector = Collector()
        parser.delegate = collector
        let ok = parser.parse() && parser.parserError == nil && collector.errors == 0 && collector.depth == 0
        return (collector, ok, parser.parserError.map { "\($0)" })
    }

    static func count(_ needle: String, in haystack: String) -> Int {
        haystack.components(separatedBy: needle).count - 1
    }

    @Test(arguments: ["weights", "data", "hostile", "wide", "delta"])
    func wellFormedAndSelfContained(_ name: String) throws {
        let report: AuditReportV1
        switch name {
        case "weights": report = SampleReports.weightsOnly()
        case "data": report = SampleReports.withData()
        case "wide": report = SampleReports.wideRange()
        case "delta": report = SampleReports.withDelta()
        default: report = SampleReports.hostileReport()
        }
        let html = HTMLRenderer.render(report)
        try Golden.dump(html, "\(name).html")
        let (doc, ok, error) = Self.parse(html)
        #expect(ok, "not well-formed XML: \(error ?? "")")
        // Three bar charts plus one spectrum per analysed layer with singular values.
        let spectra = report.layers.filter { $0.status == .analyzed && $0.singularValues != nil }.count
        #expect(doc.elements.filter { $0 == "svg" }.count == 3 + spectra)
        #expect(Self.count("<svg", in: html) == Self.count("</svg>", in: html))
        #expect(doc.svgDepth == 0 && doc.maxSVGDepth == 1)
        // No references outside the file: the only URI is the SVG namespace.
        let withoutNamespace = html.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "")
        #expect(!withoutNamespace.contains("http://") && !withoutNamespace.contains("https://"))
        #expect(!html.contains("<script") && !html.contains("@import") && !html.contains("url("))
        #expect(!doc.elements.contains("link") && !doc.elements.contains("img") && !doc.elements.contains("script"))
        #expect(!doc.attributes.contains { $0.hasPrefix("href=") || $0.hasPrefix("src=") })
        // Every coordinate is a finite number.
        #expect(!html.contains("nan") && !html.contains("inf\""))
    }

    @Test func hostileTextIsEscaped() {
        let html = HTMLRenderer.render(SampleReports.hostileReport())
        #expect(!html.contains("<c>"))
        #expect(!html.contains("\u{1B}") && !html.contains("\u{07}") && !html.contains("\u{0}"))
        #expect(html.contains("a|b &lt;c&gt; &amp; &quot;d&quot; &#39;e&#39;"))
    }

    @Test func logScaleOnlyBeyondHundredfoldRange() {
        let r = SampleReports.weightsOnly()
        #expect(!HTMLRenderer.render(r).contains("σ_max (log scale)"))
        let wide = HTMLRenderer.render(SampleReports.wideRange())
        #expect(wide.contains("σ_max (log scale)"))
        #expect(wide.contains("class=\"bar negative\""))
        #expect(wide.contains("class=\"series-operator\""))
    }

    @Test func spectrumEdgeCases() {
        // One value: a single dot, no polyline.
        let one = SVGChart.spectrum([3.9], title: "one")
        #expect(Self.count("<circle", in: one) == 1 && !one.contains("<polyline"))
        // Zeros are skipped and counted; nothing non-finite reaches the coordinates.
        let zeros = SVGChart.spectrum([2, 1, 0.5, 0, 0], title: "zeros")
        #expect(Self.count("<circle", in: zeros) == 3 && zeros.contains("2 zeros not shown"))
        let empty = SVGChart.spectrum([0, 0], title: "empty")
        #expect(empty.contains("no positive singular values") && !empty.contains("<circle"))
        let weird = SVGChart.spectrum([.infinity, 1, .nan, 1e-300], title: "weird")
        #expect(!weird.contains("nan") && !weird.contains("inf"))
        // Equal values still give a non-degenerate axis.
        let flat = SVGChart.spectrum([1, 1, 1], title: "flat")
        #expect(Self.count("<circle", in: flat) == 3 && !flat.contains("nan"))
    }

    @Test func axes() {
        let lin = SVGChart.Axis.linear(min: 0, max: 12.7, p0: 0, p1: 100)
        #expect(lin.lo == 0 && lin.hi == 14 && lin.ticks == [0, 2, 4, 6, 8, 10, 12, 14])
        let log = SVGChart.Axis.logarithmic(min: 0.0116, max: 12.7, p0: 0, p1: 100)
        #expect(log.ticks == [0.01, 0.1, 1, 10, 100])
        #expect(log.px(0.01) == 0 && log.px(100) == 100 && abs(log.px(1) - 50) < 1e-9)
        let wide = SVGChart.Axis.logarithmic(min: 1e-12, max: 1e6, p0: 0, p1: 100)
        #expect(wide.ticks.count <= 8)
        let single = SVGChart.Axis.logarithmic(min: 1, max: 1, p0: 0, p1: 100)
        #expect(single.ticks == [1, 10])
        let tight = SVGChart.Axis.tightLogarithmic(min: 1, max: 64, p0: 0, p1: 100)
        #expect(tight.ticks == [1, 10] && tight.lo < 1 && tight.hi > 64 && tight.hi < 100)
        let narrow = SVGChart.Axis.tightLogarithmic(min: 3, max: 4, p0: 0, p1: 100)
        #expect(narrow.ticks == [5] || narrow.ticks.allSatisfy { $0 >= narrow.lo && $0 <= narrow.hi })
        #expect(!narrow.ticks.isEmpty && narrow.hi / narrow.lo >= 2)
    }

    @Test func golden() throws {
        try Golden.check(HTMLRenderer.render(SampleReports.weightsOnly()), "weights.html")
    }
}
