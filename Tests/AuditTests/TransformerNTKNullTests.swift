@testable import Audit
import AuditReport
import Foundation
import XCTest

/// The transformer NTK's λ_min bracket from the output LayerNorm
/// (`TransformerDataAudit.layerNormNullBracket`): on the BERT and GPT-2 fixtures (LayerNorm last,
/// 3 probes × 6 tokens = 18 rows > d + 1 = 17) K_S is singular, and the bracket settles λ_min with
/// no λ_min budget at all — the value equals numpy's eigvalsh bottom (rounding level) to 1e-9 λ_max,
/// g_K stays numpy's to 1e-6, and fewer products are spent than Lanczos needed for the bottom.
/// Llama (RMSNorm: `A_r 1 ≠ 0`) and two probes (12 rows ≤ d + 1) get no bracket.
extension TransformerDataTests {
    func testLayerNormNullBracketSettlesSingularNTKWithoutBudget() throws {
        let ref = try reference()
        for family in ["bert", "gpt2", "llama"] {
            let (store, config) = try open(family)
            let run = ref.models[family]!.tokens_masked
            var options = DataAuditOptions(probePath: probe(family, "tokens"))
            options.jobs = 1
            options.attributionSamples = 0
            options.ntkLambdaMinBudget = 0
            let maskPath = probe(family, "mask")
            let (_, r, notes) = try TransformerDataAudit.run(store: store, config: config, options: options, maskPath: maskPath, progress: nil)
            let lmax = run.ntk_lambda_max
            XCTAssertEqual(try XCTUnwrap(r.gK), lmax, accuracy: 1e-6 * lmax, family)
            let bracketNote = notes.first { $0.contains("from the output LayerNorm") }
            if family == "llama" {
                XCTAssertNil(bracketNote, "RMSNorm output: no null-space bracket")
                continue
            }
            let note = try XCTUnwrap(bracketNote, "\(family): \(notes)")
            XCTAssertTrue(note.contains("null space of dimension ≥ 1"), note)  // 18 rows − 17 conditions
            XCTAssertTrue(note.contains("rigorous error"), note)
            let l = try XCTUnwrap(r.ntkLambdaMin, "\(family): \(notes)")
            XCTAssertEqual(l, run.ntk_lambda_min, accuracy: 1e-9 * lmax, "\(family) bracketed λ_min")
            XCTAssertGreaterThanOrEqual(l, 0)
            XCTAssertNil(r.ntkCondition, "\(family): a singular NTK has no finite condition number")

            // Without the bracket (two probes: 12 rows ≤ d + 1) the budget rules as before.
            options.probeLimit = 2
            let (_, two, twoNotes) = try TransformerDataAudit.run(store: store, config: config, options: options, maskPath: maskPath, progress: nil)
            XCTAssertFalse(twoNotes.contains { $0.contains("from the output LayerNorm") }, "\(family): \(twoNotes)")
            XCTAssertNotNil(two.gK)
        }
    }

    /// The bracket's null vector, checked directly: its product under K_S/N is at rounding level
    /// of λ_max on the BERT fixture's three masked probes, and the bracket is [0, that quotient].
    func testLayerNormNullVectorIsInTheNTKNullSpace() throws {
        let (store, config) = try open("bert")
        var options = DataAuditOptions(probePath: probe("bert", "tokens"))
        options.jobs = 1
        options.attributionSamples = 0
        options.ntkLambdaMinBudget = 0
        let (_, r, notes) = try TransformerDataAudit.run(store: store, config: config, options: options,
                                                         maskPath: probe("bert", "mask"), progress: nil)
        let lmax = try XCTUnwrap(r.gK)
        let note = try XCTUnwrap(notes.first { $0.contains("from the output LayerNorm") })
        // "λ_min ∈ [0.0, hi]": hi is the null vector's Rayleigh quotient.
        let inside = try XCTUnwrap(note.split(separator: "[").dropFirst().first?.split(separator: "]").first)
        let ends = inside.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces))! }
        XCTAssertEqual(ends[0], 0)
        XCTAssertLessThanOrEqual(ends[1], 1e-12 * lmax, "null vector's Rayleigh quotient \(ends[1]) vs λ_max \(lmax)")
    }
}
