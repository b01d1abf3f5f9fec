import Foundation
import Testing
import AuditReport
@testable import ReportWriters

/// Issue 19: a bound through an LSTM/GRU holds for sequences of at most T steps; every output
/// format prints T beside it, and each recurrent layer's line says its horizon.
@Suite struct RecurrentRenderingTests {
    static func report() -> AuditReportV1 {
        var r = SampleReports.weightsOnly()
        r.network.horizon = 37
        r.network.recurrent = [RecurrentBoundV1(layer: "lstm", horizon: 37, output: "sequence", lipschitzBound: 123.4,
                                                log10LipschitzBound: log10(123.4),
                                                directions: [RecurrentDirectionV1(name: "l0", cell: "lstm", log10BoundSequence: 2.09,
                                                                                  log10BoundFinalState: 2, spectralRadius: 3.5,
                                                                                  contractive: false, growthPerStep: 1.7)])]
        return r
    }

    @Test func everyFormatPrintsTheHorizon() {
        let r = Self.report()
        let text = TextRenderer.render(r, colour: false)
        #expect(text.contains("horizon T = 37 time steps"))
        #expect(text.contains("lstm: L ≤ 123.4 (log10 2.091) at horizon T = 37"))
        #expect(text.contains("not provably contractive (radius 3.500, ×1.700/step)"))
        #expect(text.contains("for sequences of ≤ 37 steps (--horizon)"))
        #expect(MarkdownRenderer.render(r).contains("horizon T = 37"))
        #expect(MarkdownRenderer.render(r).contains("for sequences of ≤ 37 steps"))
        #expect(HTMLRenderer.render(r).contains("horizon T = 37"))
        #expect(JUnitRenderer.render(r).contains("name=\"horizon\" value=\"37\""))
    }

    @Test func aRecurrentLayerWithoutABoundSaysWhy() {
        var r = SampleReports.weightsOnly()
        r.network.recurrent = [RecurrentBoundV1(layer: "gru", horizon: 10, output: "sequence", reason: "no horizon bound for 'gru': x")]
        let text = TextRenderer.render(r, colour: false)
        #expect(text.contains("gru: no horizon bound (no horizon bound for 'gru': x)"))
        #expect(!text.contains("horizon T = 10 time steps"))
    }
}
