import Foundation
import XCTest
@testable import Audit
import AuditReport
import LinearAlgebra
import WeightFiles

/// The output-layer bracket of the matrix-free NTK's λ_min (`NTKPhase.outputLayerBracket`).
///
/// - `wide_head.npz` (C = 24 > m = 16, `fixtures/generate_ntk_bracket.py`): the bracket settles
///   λ_min; it equals the float64 numpy reference to 1e-9 relative (both are the same eigenvalue
///   computed two ways, rounding ~1e-15) and g_K is within the Lanczos tolerance 1e-6.
/// - `cnn.h5`, `resnet.h5` (C < m, the bracket is wide): the dense λ_min of the materialised
///   parameter Jacobian (LAPACK SVD) lies inside the bracket the matrix-free run states, to
///   1e-12·g_K for rounding.
final class NTKBracketTests: XCTestCase {
    static let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/models")
    static func path(_ f: String) -> String { models.appendingPathComponent(f).path }

    func run(_ file: String, probe: String, _ configure: (inout DataAuditOptions) -> Void) throws -> DataAuditResult {
        let store = try ModelFile.open(Self.path(file))
        var c = AuditConfiguration()
        c.timestamps = false
        let graph = try Auditor.buildGraph(store: store, configuration: c)
        var o = DataAuditOptions(probePath: Self.path(probe), seed: 42, attributionSamples: 0, jobs: 2, skipHessian: true)
        configure(&o)
        return try DataAudit.run(store: store, graph: graph, options: o, lipschitzBound: nil)
    }

    /// `[lo, hi]` from the note "NTK: λ_min ∈ [lo, hi] …".
    func bracket(_ notes: [String]) -> (Double, Double)? {
        guard let note = notes.first(where: { $0.hasPrefix("NTK: λ_min ∈ [") }) else { return nil }
        let inner = note.dropFirst("NTK: λ_min ∈ [".count).prefix { $0 != "]" }
        let parts = inner.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let lo = parts[0], let hi = parts[1] else { return nil }
        return (lo, hi)
    }

    func testBracketSettlesWideHeadAgainstNumpy() throws {
        let ref = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.models.appendingPathComponent("wide_head_ntk.json"))) as! [String: Any]
        let refMin = ref["ntk_lambda_min"] as! Double, refMax = ref["ntk_lambda_max"] as! Double
        let free = try run("wide_head.npz", probe: "probe_wide_head.npy") { $0.explicitJacobianLimit = 0 }
        let dense = try run("wide_head.npz", probe: "probe_wide_head.npy") { _ in }
        XCTAssertTrue(free.notes.contains { $0.contains("settles λ_min") }, "\(free.notes)")
        let lm = try XCTUnwrap(free.report.ntkLambdaMin)
        XCTAssertEqual(lm, refMin, accuracy: 1e-9 * refMin)
        XCTAssertEqual(dense.report.ntkLambdaMin!, refMin, accuracy: 1e-9 * refMin)
        XCTAssertEqual(free.report.gK!, refMax, accuracy: 1e-6 * refMax)
        XCTAssertEqual(free.report.ntkCondition!, free.report.gK! / lm, accuracy: 1e-12 * free.report.ntkCondition!)
        let (lo, hi) = try XCTUnwrap(bracket(free.notes))
        XCTAssertLessThanOrEqual(lo, refMin * (1 + 1e-12))
        XCTAssertGreaterThanOrEqual(hi, refMin * (1 - 1e-12))
    }

    func testDenseLambdaMinLiesInStatedBracket() throws {
        for (file, probe) in [("cnn.h5", "probe_cnn.npy"), ("resnet.h5", "probe_resnet.npy")] {
            let dense = try run(file, probe: probe) { $0.probeLimit = 12 }
            let free = try run(file, probe: probe) { $0.probeLimit = 12; $0.explicitJacobianLimit = 0; $0.chunkSize = 5 }
            let (lo, hi) = try XCTUnwrap(bracket(free.notes), file)
            let slack = 1e-12 * dense.report.gK!
            let exact = try XCTUnwrap(dense.report.ntkLambdaMin, file)
            XCTAssertLessThanOrEqual(lo - slack, exact, file)
            XCTAssertGreaterThanOrEqual(hi + slack, exact, file)
        }
    }
}
