@testable import Audit
import AuditReport
import Foundation
import XCTest

/// Entropy, τ and attribution stability of the transformer data mode against the float64 torch
/// references of `fixtures/generate_transformer_probes.py` (full torch Jacobian + numpy SVD; AI with
/// the same SplitMix64 draws), and the stochastic-Lanczos path against the exact one.
extension TransformerDataTests {
    func testEntropyTauAndAttributionEqualTorch() throws {
        let ref = try reference()
        for family in ["bert", "gpt2", "llama"] {
            let (store, config) = try open(family)
            let m = ref.models[family]!
            for (kind, run, mask) in [("tokens", m.tokens, false), ("tokens_masked", m.tokens_masked, true), ("embeds", m.embeds, false)] {
                var options = DataAuditOptions(probePath: probe(family, kind == "embeds" ? "embeds" : "tokens"))
                options.jobs = 1
                let (data, report, _) = try TransformerDataAudit.run(store: store, config: config, options: options,
                                                                     maskPath: mask ? probe(family, "mask") : nil, progress: nil)
                XCTAssertEqual(data.jacobianSpectrumMethod, "exact")
                let ps = report.perSample
                for i in 0..<3 {
                    XCTAssertEqual(ps.jacobianEntropy[i], run.jacobian_entropy[i], accuracy: 1e-6 * run.jacobian_entropy[i], "\(family) \(kind) H probe \(i)")
                    XCTAssertEqual(ps.tau[i], run.tau[i], accuracy: 1e-6 * run.tau[i], "\(family) \(kind) τ probe \(i)")
                    XCTAssertEqual(ps.attributionInstability[i], run.attribution_instability[i],
                                   accuracy: 1e-6 * run.attribution_instability[i], "\(family) \(kind) AI probe \(i)")
                    XCTAssertEqual(data.jacobianEntropyErrors?[i], 0)
                }
                XCTAssertEqual(try XCTUnwrap(report.attributionInstabilityMax), run.attribution_instability.max()!,
                               accuracy: 1e-6 * run.attribution_instability.max()!)
            }
        }
    }

    /// SLQ (forced by an exact limit of 0) against the exact values: within the stated error (two
    /// standard errors of the probe means, ≈ 95 %) plus the quadrature error, which with 40 steps on
    /// an operator of order 96 is below 1e-8; checked at 3× the stated error, and the stated
    /// errors must be informative (< 10 % of H; Llama's is 7 %).
    func testStochasticLanczosEntropyAgreesWithExactWithinItsStatedError() throws {
        let ref = try reference()
        var checked = 0, within2 = 0
        for family in ["bert", "gpt2", "llama"] {
            let (store, config) = try open(family)
            let run = ref.models[family]!.tokens
            var options = DataAuditOptions(probePath: probe(family, "tokens"))
            options.jobs = 1
            options.attributionSamples = 0
            options.transformerExactSpectrumLimit = 0
            options.transformerSLQProbes = 24
            options.transformerSLQSteps = 40
            let (data, report, _) = try TransformerDataAudit.run(store: store, config: config, options: options, maskPath: nil, progress: nil)
            XCTAssertEqual(data.jacobianSpectrumMethod, "slq")
            XCTAssertEqual(report.perSample.attributionInstability, [])
            for i in 0..<3 {
                let h = report.perSample.jacobianEntropy[i], e = try XCTUnwrap(data.jacobianEntropyErrors?[i])
                let t = report.perSample.tau[i], te = try XCTUnwrap(data.tauErrors?[i])
                XCTAssertGreaterThan(e, 0)
                XCTAssertLessThan(e, 0.1 * h, "\(family) probe \(i): stated entropy error not informative")
                XCTAssertEqual(h, run.jacobian_entropy[i], accuracy: 3 * e, "\(family) probe \(i) H (stated error \(e))")
                XCTAssertEqual(t, run.tau[i], accuracy: 3 * te, "\(family) probe \(i) τ (stated error \(te))")
                checked += 2
                if abs(h - run.jacobian_entropy[i]) <= e { within2 += 1 }
                if abs(t - run.tau[i]) <= te { within2 += 1 }
            }
        }
        // Two standard errors cover ≈ 95 %: most of the 18 estimates must lie within them.
        XCTAssertGreaterThanOrEqual(within2, checked * 2 / 3, "\(within2) of \(checked) within the stated error")
    }
}
