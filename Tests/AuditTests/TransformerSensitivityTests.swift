@testable import Audit
import AuditReport
import Foundation
import LinearAlgebra
import SpectralModel
import WeightFiles
import XCTest

/// Entropy, τ and attribution stability of the transformer data mode against the float64 torch
/// references of `fixtures/generate_transformer_probes.py` (full torch Jacobian + numpy SVD; AI with
/// the same SplitMix64 draws), and the stochastic-Lanczos path against the exact one.
extension TransformerDataTests {
    func testEntropyTauAndAttributionEqualTorch() throws {
        for r in try defaultRuns() {
            let (family, kind, run, data, report) = (r.family, r.kind, r.run, r.data, r.report)
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
            options.transformerSLQStopFraction = nil  // this test is about the stochastic part: all 40 steps
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

    /// The shipped SLQ settings (8 vectors, stopping rule half-width ≤ 0.5 × 2 SE, cap 30), and a
    /// fixed 4 steps where the quadrature bracket is wide, against the exact entropy of torch's
    /// dense Jacobian (fixtures/generate_transformer_probes.py), 9 probes each. The stated error
    /// (2 SE + half-width) is ≈ 95 % Monte-Carlo + a quadrature bound, so: most within it (≥ 7
    /// of 9: with 8 vectors 2 SE is a t₇ interval, ≈ 91 %) and all within 1.5 times it. The
    /// report states the half-width (> 0, < the error) and the steps (stopping rule: ≤ cap).
    func testSLQStatedErrorContainsTheExactEntropyWithTheQuadratureBracket() throws {
        let ref = try reference()
        for (cap, stop) in [(30, 0.5 as Double?), (4, nil)] {
            var within = 0, oldWithin = 0
            for family in ["bert", "gpt2", "llama"] {
                let (store, config) = try open(family)
                let run = ref.models[family]!.tokens
                var options = DataAuditOptions(probePath: probe(family, "tokens"))
                options.jobs = 1
                options.attributionSamples = 0
                options.transformerExactSpectrumLimit = 0
                options.transformerSLQSteps = cap
                options.transformerSLQStopFraction = stop
                let (data, report, _) = try TransformerDataAudit.run(store: store, config: config, options: options, maskPath: nil, progress: nil)
                let hw = try XCTUnwrap(data.jacobianEntropyQuadratureErrors), steps = try XCTUnwrap(data.jacobianSLQSteps)
                for i in 0..<3 {
                    let h = report.perSample.jacobianEntropy[i], e = try XCTUnwrap(data.jacobianEntropyErrors?[i])
                    let exact = run.jacobian_entropy[i]
                    let what = "\(family) cap \(cap) probe \(i): H \(h) ± \(e) (half-width \(hw[i]), \(steps[i]) steps) vs exact \(exact)"
                    XCTAssertLessThanOrEqual(abs(h - exact), 1.5 * e, what)
                    if abs(h - exact) <= e { within += 1 }
                    if abs(h + hw[i] - exact) <= e - hw[i] { oldWithin += 1 }  // Gauss value ± 2 SE
                    XCTAssertGreaterThan(hw[i], 0, what)
                    XCTAssertLessThan(hw[i], e, what)
                    XCTAssertTrue(stop == nil ? steps[i] == cap : (2...cap).contains(steps[i]), what)
                }
            }
            print("SLQ bracket: cap \(cap): \(within) of 9 within the stated error; Gauss ± 2 SE: \(oldWithin) of 9")
            XCTAssertGreaterThanOrEqual(within, 7, "cap \(cap)")
        }
    }

    /// NTK λ_min (and λ_max) from ONE compiled model whose probes carry different masks (probe 1
    /// padded) against numpy eigvalsh of the stacked torch parameter Jacobians, with a budget that
    /// resolves the bottom (300 products ≥ N·n·d = 288). On all three probes K_S is singular (N·n >
    /// d: the final norm's output keeps 1–2 directions per token that only the shared γ, β move), so
    /// λ_min must be 0 to the Lanczos tolerance and the condition null; the first two probes
    /// (12 tokens ≤ d) give a nonsingular K_S whose λ_min must equal numpy's to 1e-6. A budget of 1
    /// product may not resolve the bottom, and then λ_min is null with a note (never a wrong value).
    func testNTKLambdaMinEqualsNumpyWithMixedMasksOnOneModel() throws {
        let ref = try reference()
        for family in ["bert", "gpt2", "llama"] {
            let (store, config) = try open(family)
            for (kind, run, mask) in [("tokens_masked", ref.models[family]!.tokens_masked, true), ("embeds", ref.models[family]!.embeds, false)] {
                var options = DataAuditOptions(probePath: probe(family, kind == "embeds" ? "embeds" : "tokens"))
                options.jobs = 1
                options.attributionSamples = 0
                options.lanczosTolerance = 1e-12
                options.ntkLambdaMinBudget = 300
                let maskPath = mask ? probe(family, "mask") : nil
                let (_, all, notes) = try TransformerDataAudit.run(store: store, config: config, options: options, maskPath: maskPath, progress: nil)
                let lmax = run.ntk_lambda_max
                XCTAssertEqual(try XCTUnwrap(all.gK), lmax, accuracy: 1e-9 * lmax)
                XCTAssertEqual(try XCTUnwrap(all.ntkLambdaMin, "\(family) \(kind): \(notes)"), run.ntk_lambda_min, accuracy: 1e-9 * lmax,
                               "\(family) \(kind) singular NTK λ_min")
                XCTAssertNil(all.ntkCondition, "\(family) \(kind): a singular NTK has no finite condition number")

                options.probeLimit = 2
                let (_, two, twoNotes) = try TransformerDataAudit.run(store: store, config: config, options: options, maskPath: maskPath, progress: nil)
                let (max2, min2) = (run.ntk_first_two_probes[0], run.ntk_first_two_probes[1])
                XCTAssertGreaterThan(min2, 1e-8 * max2, "fixture: the two-probe NTK must be nonsingular (condition < 1e8; GPT-2 has 1.6e7)")
                XCTAssertEqual(try XCTUnwrap(two.gK), max2, accuracy: 1e-9 * max2)
                let l = try XCTUnwrap(two.ntkLambdaMin, "\(family) \(kind): \(twoNotes)")
                XCTAssertEqual(l, min2, accuracy: 1e-6 * min2, "\(family) \(kind) NTK λ_min (2 probes)")
                XCTAssertEqual(try XCTUnwrap(two.ntkCondition), max2 / min2, accuracy: 1e-6 * max2 / min2)

                options.ntkLambdaMinBudget = 1
                options.lanczosTolerance = 1e-6
                let (_, small, smallNotes) = try TransformerDataAudit.run(store: store, config: config, options: options,
                                                                          maskPath: maskPath, progress: nil)
                if let l = small.ntkLambdaMin {
                    XCTAssertEqual(l, min2, accuracy: 1e-5 * max2)
                } else {
                    XCTAssertTrue(smallNotes.contains { $0.contains("λ_min not reported") }, "\(smallNotes)")
                }
            }
        }
    }

    /// A key mask carried per sample on the tape gives the same forward values, JVP and VJP as a
    /// model compiled with that mask as a static attribute (what the per-mask models did).
    func testPerSampleKeyMasksEqualStaticMasks() throws {
        let (store, config) = try open("gpt2")
        guard case .success(let layout) = TransformerLayout.resolve(config, names: Set(store.tensors.map(\.name))) else { return XCTFail() }
        let d = config.hiddenSize, n = 6, size = n * d
        let cache = TransformerTensorCache(store: store, width: d)
        let masks: [[Bool]] = [[true, true, true, true, false, false], [true, true, true, true, true, true], [true, false, true, true, true, false]]
        let shared = try ForwardModel(graph: TransformerGraph.build(layout: layout, config: config, sequenceLength: n, mask: nil, cache: cache).graph,
                                      load: cache.load)
        var rng = SplitMix64(seed: 3)
        let x = (0..<(3 * size)).map { _ in rng.nextSigned() }, v = (0..<(3 * size)).map { _ in rng.nextSigned() }
        let tape = shared.forward(x, count: 3, keyMasks: masks)
        let jv = shared.jvp(tape, inputTangent: v, parameterTangent: nil as [Double]?).last!
        let vj = shared.backward(tape, seed: v).inputCotangent
        for (s, m) in masks.enumerated() {
            let own = try ForwardModel(graph: TransformerGraph.build(layout: layout, config: config, sequenceLength: n, mask: m, cache: cache).graph,
                                       load: cache.load)
            let xs = Array(x[(s * size)..<((s + 1) * size)]), vs = Array(v[(s * size)..<((s + 1) * size)])
            let t = own.forward(xs, count: 1)
            let checks: [([Double], [Double], String)] = [
                (t.output, Array(tape.output[(s * size)..<((s + 1) * size)]), "forward"),
                (own.jvp(t, inputTangent: vs, parameterTangent: nil as [Double]?).last!, Array(jv[(s * size)..<((s + 1) * size)]), "jvp"),
                (own.backward(t, seed: vs).inputCotangent, Array(vj[(s * size)..<((s + 1) * size)]), "vjp"),
            ]
            for (a, b, what) in checks {
                let scale = a.map(abs).max()!
                for e in 0..<a.count { XCTAssertEqual(a[e], b[e], accuracy: 1e-12 * scale, "sample \(s) \(what) [\(e)]") }
            }
        }
    }
}
