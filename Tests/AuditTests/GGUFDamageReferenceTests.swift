import Foundation
import LinearAlgebra
import XCTest
import WeightFiles

/// Issue 21's quantization-damage reference data (fixtures/gguf/reference.json → `damage`,
/// numpy float64 on gguf-py's dequantization): the same weights read from `llama_f32.gguf` and
/// from its Q8_0 / Q4_0 copies give ‖W − deq(Q(W))‖₂ / ‖W‖₂ equal to numpy's to 1e-9. Checks the
/// readers and the fixtures that the `--base` comparison will be tested on.
final class GGUFDamageReferenceTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/gguf")

    func sigmaMax(_ values: [Double], _ shape: [Int]) throws -> Double {
        let m = Matrix(rows: shape[0], cols: shape[1], storage: values)
        return try XCTUnwrap(SVD.singularValues(m, method: .gesdd).values.first)
    }

    func testQuantizationDamageMatchesNumpy() throws {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.folder.appendingPathComponent("reference.json"))) as! [String: Any]
        let damage = json["damage"] as! [String: [String: Any]]
        XCTAssertEqual(Set(damage.keys), ["llama_q8_0.gguf", "llama_q4_0.gguf"])
        let base = try ModelFile.open(Self.folder.appendingPathComponent("llama_f32.gguf").path)
        for (file, entry) in damage {
            XCTAssertEqual(entry["base"] as? String, "llama_f32.gguf")
            let quantized = try ModelFile.open(Self.folder.appendingPathComponent(file).path)
            let tensors = entry["tensors"] as! [String: [String: Double]]
            XCTAssertEqual(tensors.count, 16)
            for (name, ref) in tensors {
                let info = try base.info(name)
                let w = try base.loadFloat64(name), q = try quantized.loadFloat64(name)
                let delta = zip(w, q).map { $0 - $1 }
                let relative = try sigmaMax(delta, info.shape) / sigmaMax(w, info.shape)
                let frob = (delta.reduce(0) { $0 + $1 * $1 } / w.reduce(0) { $0 + $1 * $1 }).squareRoot()
                XCTAssertEqual(relative, ref["relative_spectral"]!, accuracy: 1e-9 * ref["relative_spectral"]!, "\(file) \(name)")
                XCTAssertEqual(frob, ref["relative_frobenius"]!, accuracy: 1e-9 * ref["relative_frobenius"]!, "\(file) \(name)")
            }
        }
    }
}
