import XCTest
import AuditReport
import LinearAlgebra
import WeightFiles
@testable import Audit

/// Delta-audit pieces that need no files: pairing rules, precision ranking, the top-k share.
final class DeltaTests: XCTestCase {
    func t(_ name: String, _ shape: [Int], layer: String? = nil, variable: String? = nil, role: TensorRole = .weights,
           dtype: DType = .float32) -> TensorInfo {
        TensorInfo(name: name, shape: shape, dtype: dtype, byteOrder: .little, layout: "contiguous", role: role,
                   layer: layer, variable: variable)
    }

    func testPairingByNameThenLayerVariableNeverByPosition() {
        let model = [t("fc1.weight", [4, 3]), t("fc1.bias", [4]),
                     t("layers/dense/vars/0", [3, 2], layer: "dense", variable: "kernel"),
                     t("layers/dense_1/vars/0", [2, 2], layer: "dense_1", variable: "kernel"),
                     t("layers/dense_1/vars/1", [2], layer: "dense_1", variable: "kernel"),  // duplicate key: not paired
                     t("extra", [5]), t("shape", [2, 3]), t("optimizer/m", [4, 3], role: .optimizerState)]
        let base = [t("fc1.weight", [4, 3]), t("fc1.bias", [4]),
                    t("model_weights/dense/dense/kernel:0", [3, 2], layer: "dense", variable: "kernel"),
                    t("model_weights/dense_1/dense_1/kernel:0", [2, 2], layer: "dense_1", variable: "kernel"),
                    t("shape", [3, 2]), t("only_base", [7]), t("optimizer/m", [4, 3], role: .optimizerState)]
        let m = DeltaMatching(model: model, base: base)
        XCTAssertEqual(m.pairs.map(\.model.name), ["fc1.weight", "fc1.bias", "layers/dense/vars/0"])
        XCTAssertEqual(m.pairs.map(\.matchedBy), ["name", "name", "keras_layer_variable"])
        XCTAssertEqual(m.pairs[2].base.name, "model_weights/dense/dense/kernel:0")
        XCTAssertEqual(m.mismatched.map(\.name), ["shape"])
        XCTAssertEqual(m.unmatchedModel, ["layers/dense_1/vars/0", "layers/dense_1/vars/1", "extra"])
        XCTAssertEqual(m.unmatchedBase, ["model_weights/dense_1/dense_1/kernel:0", "only_base"])
    }

    func testPrecisionRanking() {
        XCTAssertTrue(DeltaPrecision.isLower("f16", than: "f32"))
        XCTAssertTrue(DeltaPrecision.isLower("bf16", than: "f64"))
        XCTAssertFalse(DeltaPrecision.isLower("bf16", than: "f16"))
        XCTAssertFalse(DeltaPrecision.isLower("f32", than: "f32"))
        XCTAssertTrue(DeltaPrecision.isLower("q4_0", than: "f16"))
        XCTAssertTrue(DeltaPrecision.isLower("q4_0", than: "q8_0"))
        XCTAssertFalse(DeltaPrecision.isLower("i8", than: "f32"))
        XCTAssertFalse(DeltaPrecision.isLower(nil, than: "f32"))
    }

    /// The share is 1 for an update inside W_base's top-k subspace, 0 for one orthogonal to it,
    /// and k from the stable rank.
    func testTopSubspaceShareLimits() throws {
        // W_base = diag(3, 1, 0.5, 0.1) ⇒ stable rank (9 + 1 + 0.25 + 0.01)/9 = 1.14 ⇒ k = 2.
        var wb = Matrix(rows: 4, cols: 4)
        for (i, v) in [3.0, 1, 0.5, 0.1].enumerated() { wb.storage[i * 4 + i] = v }
        func entry(_ delta: [Double]) throws -> DeltaEntry {
            var w = wb
            for i in w.storage.indices { w.storage[i] += delta[i] }
            var e = DeltaEntry(name: "w", matchedBy: "name", kind: "matrix", shape: [4, 4])
            try DeltaSpectra.compare(model: w, base: wb, into: &e, includeSpectra: true)
            return e
        }
        var inside = [Double](repeating: 0, count: 16)
        inside[0 * 4 + 1] = 0.2; inside[1 * 4 + 0] = -0.1; inside[0] = 0.05
        let a = try entry(inside)
        XCTAssertEqual(a.topK, 2)
        XCTAssertEqual(a.topSubspaceShare ?? -1, 1, accuracy: 1e-12)
        XCTAssertEqual(a.isotropicShare ?? -1, 4.0 / 16, accuracy: 1e-15)
        var outside = [Double](repeating: 0, count: 16)
        outside[2 * 4 + 3] = 0.3; outside[3 * 4 + 3] = 0.2
        XCTAssertEqual(try entry(outside).topSubspaceShare ?? -1, 0, accuracy: 1e-12)
        // Relative norm and σ_max change are those of the formed matrices.
        XCTAssertEqual(a.relativeSpectralNorm ?? 0, (try SVD.singularValues(Matrix(rows: 4, cols: 4, storage: inside), method: .gesdd).values[0]) / 3,
                       accuracy: 1e-14)
    }
}
