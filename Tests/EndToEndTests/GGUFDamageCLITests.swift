import AuditReport
import Foundation
import XCTest

/// Quantization damage of a GGUF file against its unquantized base (issue 21): `--base` pairs the
/// tensors, the Q4_0/Q8_0 blocks count as lower precision, and every ranked
/// ‖W − deq(Q(W))‖₂/‖W‖₂ equals numpy's on gguf-py's dequantization
/// (`fixtures/gguf/reference.json` → `damage`, written by `fixtures/generate_gguf.py`).
final class GGUFDamageCLITests: XCTestCase {
    struct Reference: Decodable {
        struct Tensor: Decodable { var relative_spectral: Double; var relative_frobenius: Double }
        struct File: Decodable { var base: String; var tensors: [String: Tensor] }
        var damage: [String: File]
    }

    func testDamageRankedAndEqualToGGUFPy() throws {
        let ref = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: CLI.packageRoot.appendingPathComponent("fixtures/gguf/reference.json")))
        XCTAssertFalse(ref.damage.isEmpty)
        for (file, want) in ref.damage.sorted(by: { $0.key < $1.key }) {
            let r = try CLI.run(["fixtures/gguf/" + file, "--base", "fixtures/gguf/" + want.base, "--json", "-", "--quiet", "--no-timestamps"])
            XCTAssertEqual(r.status, 0, r.stderr)
            let delta = try XCTUnwrap(try AuditReportV1.decode(r.stdoutData).delta, file)
            let ranked = try XCTUnwrap(delta.quantization, "\(file): no quantization ranking")
            XCTAssertEqual(Set(ranked.map(\.name)), Set(want.tensors.keys), file)
            XCTAssertEqual(ranked.map(\.rank), Array(1...ranked.count))
            let values = ranked.compactMap(\.relativeSpectralNorm)
            XCTAssertEqual(values, values.sorted(by: >), "\(file): ranked worst first")
            for q in ranked {
                let t = try XCTUnwrap(want.tensors[q.name])
                XCTAssertEqual(try XCTUnwrap(q.relativeSpectralNorm), t.relative_spectral, accuracy: 1e-9 * t.relative_spectral, "\(file) \(q.name)")
                XCTAssertEqual(try XCTUnwrap(q.relativeFrobenius), t.relative_frobenius, accuracy: 1e-9 * t.relative_frobenius, "\(file) \(q.name)")
                XCTAssertEqual(q.baseDtype, "f32")
                XCTAssertTrue(q.dtype.hasPrefix("q"), q.dtype)
            }
        }
    }
}
