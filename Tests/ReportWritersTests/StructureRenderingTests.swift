import AuditReport
import Testing
@testable import ReportWriters

/// Issue 16: every human-readable output shows which number is the stored tensor's and which the
/// folded operator's, marks layers whose structure was guessed, and lists the guesses.
struct StructureRenderingTests {
    static func inferred() -> AuditReportV1 {
        var r = SampleReports.weightsOnly()
        r.input.architectureSource = "inferred"
        r.layers[1].guessed = ["activation after 'dense_1' assumed relu (Lip 1)"]
        r.network.structure = StructureReportV1(source: "inferred", declared: false, guesses: [
            StructureGuessV1(kind: "order", layer: nil, detail: "layer order guessed: sorted by name"),
            StructureGuessV1(kind: "activation", layer: "dense_1", detail: "activation after 'dense_1' assumed relu (Lip 1)"),
        ])
        return r
    }

    @Test func textShowsFoldedViewAndGuesses() {
        let text = TextRenderer.render(Self.inferred(), colour: false)
        #expect(text.contains("└ folded 'batch_normalization'"))
        #expect(text.contains("diag(s)·A"))
        #expect(text.contains("folded view: used in the bound"))
        #expect(text.contains("FAIL layer.spectral_norm.max (tensor as stored)"))
        #expect(text.contains("dense_1 †"))
        #expect(text.contains(StructureText.guessLegend))
        #expect(text.contains("inferred from tensor names and shapes: 2 things guessed"))
        #expect(text.contains("Structure (guessed, not read from the file)"))
        #expect(text.contains("[order] layer order guessed: sorted by name"))
        #expect(text.contains("[activation] dense_1: activation after 'dense_1' assumed relu (Lip 1)"))
        // The folded row carries the folded σ_max (12.7 × 1.4), the layer row the stored one.
        #expect(text.contains("17.78"))
        #expect(text.contains("12.70"))
    }

    @Test func markdownAndHTMLShowTheSame() {
        let md = MarkdownRenderer.render(Self.inferred())
        #expect(md.contains("└ folded 'batch\\_normalization'"))
        #expect(md.contains("(tensor as stored)"))
        #expect(md.contains("- structure: inferred from tensor names and shapes"), "\(md)")
        #expect(md.contains("### Structure (guessed, not read from the file)"))
        #expect(md.contains(" †"))
        let html = HTMLRenderer.render(Self.inferred())
        #expect(html.contains("<tr class=\"folded\">"))
        #expect(html.contains("└ folded &#39;batch_normalization&#39;") || html.contains("└ folded 'batch_normalization'"))
        #expect(html.contains("Structure (guessed, not read from the file)"))
        #expect(html.contains("dense_1 †"))
    }

    @Test func githubAndJUnitCarryTheStructure() {
        let gh = GitHubAnnotationsRenderer.render(Self.inferred())
        #expect(gh.contains("::warning file=models/mnist_cnn.h5,title=spectral-audit::structure guessed: [order] layer order guessed"))
        let junit = JUnitRenderer.render(Self.inferred())
        #expect(junit.contains("<property name=\"structure\" value=\"inferred from tensor names and shapes: 2 things guessed (see Structure)\"/>"))
    }

    @Test func declaredStructureSaysSo() {
        var r = SampleReports.weightsOnly()
        r.network.structure = StructureReportV1(source: "keras_config", declared: true, guesses: [])
        let text = TextRenderer.render(r, colour: false)
        #expect(text.contains("structure             declared (keras_config)") || text.contains("declared (keras_config)"))
        #expect(!text.contains("Structure (guessed"))
    }
}
