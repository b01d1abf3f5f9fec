import Foundation
import Testing
import AuditReport
@testable import ReportWriters

@Suite struct RenderGoldenTests {
    let weights = SampleReports.weightsOnly()
    let data = SampleReports.withData()

    @Test func text() throws {
        let plain = TextRenderer.render(weights, colour: false)
        try Golden.check(plain, "weights.txt")
        try Golden.check(TextRenderer.render(data, colour: false), "data.txt")
        try Golden.check(TextRenderer.render(weights, colour: true), "weights.ansi.txt")
        try Golden.dump(plain, "weights.txt")
    }

    @Test func json() throws {
        let w = String(decoding: try weights.jsonData(), as: UTF8.self)
        let d = String(decoding: try data.jsonData(), as: UTF8.self)
        try Golden.check(w, "weights.json")
        try Golden.check(d, "data.json")
        try Golden.dump(w, "weights.json")
        try Golden.dump(d, "data.json")
    }

    @Test func junit() throws {
        try Golden.check(JUnitRenderer.render(weights), "weights.junit.xml")
    }

    @Test func markdown() throws {
        try Golden.check(MarkdownRenderer.render(weights), "weights.md")
        try Golden.check(MarkdownRenderer.render(data), "data.md")
    }

    @Test func github() throws {
        try Golden.check(GitHubAnnotationsRenderer.render(weights), "weights.github.txt")
    }
}
