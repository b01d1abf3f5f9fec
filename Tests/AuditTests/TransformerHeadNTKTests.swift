@testable import Audit
import AuditReport
import Foundation
import XCTest

/// The NTK and the per-probe Gram of `∂logits/∂θ` on the committed task-head fixtures when their
/// Lanczos bases do not fit in `lanczosBasisBytes` (lmntk branch): the two-pass Lanczos
/// (`BudgetedLanczos`) must state the same numbers as the stored basis (1e-9 relative) and as torch
/// (`fixtures/generate_head_ntk.py`: dense J_S by torch.func.jacrev, eigvalsh of J_S J_Sᵀ/N, to
/// 1e-9 of λ_max; the per-probe ‖J_θ‖ of `generate_transformer_heads.py` to 1e-6), and the λ_min
/// bracket from the head's output layer (`TransformerDataAudit.outputDenseBracket`) must settle
/// the singular NTK of the LM heads (n·V = 150 rows per probe, rank ≤ P) on both paths.
extension TransformerHeadTests {
    struct NTKReference: Decodable {
        struct Model: Decodable { var ntk_lambda_max: Double; var ntk_lambda_min: Double; var ntk_rank: Int; var dimension: Int }
        var models: [String: Model]
    }

    func ntkReference() throws -> NTKReference {
        try JSONDecoder().decode(NTKReference.self, from: Data(contentsOf: Self.root.appendingPathComponent("ntk_reference.json")))
    }

    func testHeadNTKAndGramTwoPassEqualStoredAndTorch() throws {
        let ref = try reference(), ntkRef = try ntkReference()
        for name in Self.headed.keys.sorted() {
            let (store, config) = try open(name)
            let m = try XCTUnwrap(ref.models[name]), k = try XCTUnwrap(ntkRef.models[name])
            var o = options(name, labels: false)
            o.attributionSamples = 0
            o.ntkLambdaMinBudget = 0  // λ_min only from Lanczos' own convergence or the bracket
            let (storedData, stored, storedNotes) = try TransformerDataAudit.run(store: store, config: config, options: o,
                                                                                maskPath: nil, progress: nil)
            // 4 vectors of the 300-dimensional LM-head NTK (and of the 150-dimensional Gram): two-pass at once.
            o.lanczosBasisBytes = 4 * 8 * 300
            let (twoData, two, twoNotes) = try TransformerDataAudit.run(store: store, config: config, options: o, maskPath: nil, progress: nil)
            let lm = k.dimension > 100
            XCTAssertEqual(storedNotes.contains { $0.hasPrefix("NTK: two-pass symmetric Lanczos") }, false, name)
            XCTAssertEqual(twoNotes.contains { $0.hasPrefix("NTK: two-pass symmetric Lanczos") }, lm, "\(name): \(twoNotes)")

            let lmax = k.ntk_lambda_max
            for (label, r) in [("stored", stored), ("two-pass", two)] {
                XCTAssertEqual(try XCTUnwrap(r.gK), lmax, accuracy: 1e-9 * lmax, "\(name) \(label) g_K vs torch")
                let lmin = try XCTUnwrap(r.ntkLambdaMin, "\(name) \(label): λ_min not settled")
                XCTAssertEqual(lmin, max(k.ntk_lambda_min, 0), accuracy: 1e-9 * lmax, "\(name) \(label) λ_min vs torch")
                if k.ntk_rank < k.dimension { XCTAssertNil(r.ntkCondition, "\(name) \(label): singular NTK") }
            }
            XCTAssertEqual(try XCTUnwrap(two.gK), try XCTUnwrap(stored.gK), accuracy: 1e-9 * lmax, "\(name) g_K two-pass vs stored")
            XCTAssertEqual(try XCTUnwrap(two.ntkLambdaMin), try XCTUnwrap(stored.ntkLambdaMin), accuracy: 1e-9 * lmax, name)
            if lm {
                // Singular (rank < N·n·V): the output layer's bracket settles λ_min (no budget given).
                XCTAssertLessThan(k.ntk_rank, k.dimension)
                for notes in [storedNotes, twoNotes] {
                    let note = try XCTUnwrap(notes.first { $0.contains("from the head's output layer") }, "\(name): \(notes)")
                    XCTAssertTrue(note.contains("which settles λ_min"), note)
                }
            }
            for i in 0..<2 {
                let a = storedData.parameterJacobianNorms[i], b = twoData.parameterJacobianNorms[i]
                XCTAssertEqual(b, a, accuracy: 1e-9 * a, "\(name) ‖J_θ‖ probe \(i) two-pass vs stored")
                XCTAssertEqual(b, m.parameter_jacobian_norms[i], accuracy: 1e-6 * m.parameter_jacobian_norms[i], "\(name) ‖J_θ‖ probe \(i) vs torch")
            }
        }
    }

    /// The per-probe Gram's share of the basis budget: the probes measured at once split it.
    func testGramBudgetIsSharedByConcurrentProbes() {
        var o = DataAuditOptions(probePath: "p.npy")
        o.lanczosBasisBytes = 1200
        o.jobs = 3
        XCTAssertEqual(TransformerDataAudit.gramBasisBytes(o, probes: 16), 400)
        XCTAssertEqual(TransformerDataAudit.gramBasisBytes(o, probes: 2), 600)
        o.jobs = 1
        XCTAssertEqual(TransformerDataAudit.gramBasisBytes(o, probes: 16), 1200)
    }
}
