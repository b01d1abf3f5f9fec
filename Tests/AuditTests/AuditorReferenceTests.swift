import Foundation
import XCTest
@testable import Audit
import AuditReport
import WeightFiles

/// The audit of real framework-written models against `fixtures/models/reference.json`
/// (numpy float64, see `fixtures/generate_models.py`).
///
/// Tolerances: singular values 1e-6 relative to σ₁ (the default Gram path is accurate to about
/// p·ε·σ₁²/σ_i; tested here on weights stored in float32 and read exactly), entropies 1e-6
/// absolute, network bounds 1e-9 relative (products of the same σ's).
final class AuditorReferenceTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures")
    nonisolated(unsafe) static let reference: [String: Any] = {
        let data = try! Data(contentsOf: root.appendingPathComponent("models/reference.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()

    static func model(_ name: String) -> [String: Any] {
        (reference["models"] as! [String: Any])[name] as! [String: Any]
    }

    func audit(_ file: String, _ configure: (inout AuditConfiguration) -> Void = { _ in }) throws -> AuditReportV1 {
        var c = AuditConfiguration()
        c.timestamps = false
        c.jobs = 2
        configure(&c)
        return try Auditor.run(path: Self.root.appendingPathComponent("models/" + file).path, configuration: c)
    }

    func assertClose(_ a: Double?, _ b: Double, rel: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let a else { return XCTFail("\(what): nil", file: file, line: line) }
        XCTAssertLessThanOrEqual(abs(a - b), rel * max(abs(b), 1e-300), "\(what): \(a) vs \(b)", file: file, line: line)
    }

    /// Every dense layer's spectrum and SPEC §2 metrics, from every file the MLP was saved as.
    func testMLPLayersMatchNumpyInEveryFormat() throws {
        let ref = Self.model("mlp")
        let ops = ref["operators"] as! [[String: Any]]
        for file in ["mlp.h5", "mlp.keras", "mlp.weights.h5", "mlp_torch.safetensors", "mlp_torch.npz", "mlp_split_names.h5"] {
            let report = try audit(file)
            for op in ops {
                let name = op["name"] as! String
                guard let row = report.layers.first(where: { $0.name == name }) else { XCTFail("\(file): no row \(name)"); continue }
                XCTAssertEqual(row.status, .analyzed, "\(file) \(name)")
                XCTAssertEqual(row.shape, op["shape"] as? [Int], "\(file) \(name)")
                let sv = op["singular_values"] as! [Double]
                let got = try XCTUnwrap(row.singularValues, "\(file) \(name)")
                XCTAssertEqual(got.count, sv.count)
                for (g, r) in zip(got, sv) { XCTAssertLessThanOrEqual(abs(g - r), 1e-6 * sv[0], "\(file) \(name) σ") }
                let m = op["metrics"] as! [String: Any]
                let metrics = try XCTUnwrap(row.metrics)
                for key in ["spectral_norm", "frobenius", "nuclear", "stable_rank", "effective_rank", "erank_rv",
                            "typical_gain", "entropy_bound", "condition", "sigma_min"] {
                    assertClose(metrics.value(named: key), m[key] as! Double, rel: 1e-6, "\(file) \(name) \(key)")
                }
                for key in ["spectral_entropy", "normalized_entropy"] {
                    XCTAssertEqual(metrics.value(named: key)!, m[key] as! Double, accuracy: 1e-6, "\(file) \(name) \(key)")
                }
                XCTAssertEqual(metrics.rank, m["rank"] as? Int)
            }
        }
    }

    /// SPEC §4 bounds equal the numpy product; the bound is sound against finite-difference
    /// Jacobians over 300 random inputs; the typical bound is ≥ the measured RMS gain.
    func testMLPBoundsEqualNumpyAndAreSound() throws {
        let ref = Self.model("mlp")
        let net = ref["network"] as! [String: Any]
        let sound = ref["soundness"] as! [String: Any]
        let report = try audit("mlp.h5")
        assertClose(report.network.lipschitzBound, net["lipschitz_bound"] as! Double, rel: 1e-9, "L")
        assertClose(report.network.log10LipschitzBound, net["log10_lipschitz_bound"] as! Double, rel: 1e-9, "log10 L")
        assertClose(report.network.typicalBound, net["typical_bound"] as! Double, rel: 1e-9, "T")
        assertClose(report.network.typicalBoundStableRank, net["typical_bound_stable_rank"] as! Double, rel: 1e-9, "T_sr")
        XCTAssertEqual(report.network.inputDimension, 8)
        XCTAssertGreaterThanOrEqual(report.network.lipschitzBound!, sound["max_jacobian_norm"] as! Double)
        XCTAssertGreaterThanOrEqual(report.network.lipschitzBound!, sound["max_jacobian_norm_product_form"] as! Double)
        XCTAssertGreaterThanOrEqual(report.network.typicalBound!, sound["rms_gain_max"] as! Double)
        XCTAssertEqual(report.gmsi, report.network.lipschitzBound)
        XCTAssertEqual(report.gmsiMode, "weights")
        let shares = net["layer_share"] as! [String: Double]
        for (name, share) in shares {
            assertClose(report.layers.first { $0.name == name }?.layerShare, share, rel: 1e-9, "share \(name)")
        }
    }

    /// The same network in Keras and PyTorch layouts gives the same GMSI to 1e-9 relative.
    func testKerasAndTorchLayoutsGiveTheSameGMSI() throws {
        let keras = try audit("mlp.h5").gmsi!
        for file in ["mlp.keras", "mlp.weights.h5", "mlp_torch.safetensors", "mlp_torch.npz"] {
            assertClose(try audit(file).gmsi, keras, rel: 1e-9, file)
        }
        // The CNN in PyTorch layout needs its structure stated (pooling, ε = 1e-3): the manifest.
        let cnnKeras = try audit("cnn.h5").gmsi!
        let manifest = Self.root.appendingPathComponent("examples/cnn_torch.arch.json").path
        let cnnTorch = try audit("cnn_torch.safetensors") { $0.manifestPath = manifest }.gmsi!
        assertClose(cnnTorch, cnnKeras, rel: 1e-9, "cnn torch vs keras")
    }

    /// Conv layers: the reshaped matrix after BatchNorm folding equals numpy's; the operator norm
    /// used in the product is a sound bound (≥ the exact zero-padded norm at the input size) and
    /// the network bound is ≥ every measured Jacobian norm.
    func testCNNFoldedConvAndSoundOperatorNorms() throws {
        let ref = Self.model("cnn")
        let ops = ref["operators"] as! [[String: Any]]
        let report = try audit("cnn.h5")
        let conv1 = try XCTUnwrap(report.layers.first { $0.name == "conv1" })
        XCTAssertEqual(conv1.foldedBatchNorm, "bn1")
        // Issue 16 (definitions spectral-audit/2): `metrics` are the stored kernel's, the folded
        // operator has its own view, and the product uses the folded one.
        let raw = ops[0]["singular_values"] as! [Double]
        let gotRaw = try XCTUnwrap(conv1.singularValues)
        XCTAssertEqual(gotRaw.count, raw.count)
        for (g, r) in zip(gotRaw, raw) { XCTAssertLessThanOrEqual(abs(g - r), 1e-6 * raw[0], "conv1 raw σ") }
        let folded = (ops[0]["folded"] as! [String: Any])
        let sv = folded["singular_values"] as! [Double]
        let view = try XCTUnwrap(conv1.folded)
        XCTAssertEqual(view.batchNorm, "bn1")
        let got = try XCTUnwrap(view.singularValues)
        XCTAssertEqual(got.count, sv.count)
        for (g, r) in zip(got, sv) { XCTAssertLessThanOrEqual(abs(g - r), 1e-6 * sv[0], "conv1 folded σ") }
        XCTAssertEqual(report.layers.first { $0.name == "bn1" }?.status, .skipped)
        let exact = (ref["network"] as! [String: Any])["factors"] as! [[String: Any]]
        XCTAssertGreaterThanOrEqual(view.operatorNorm!, exact[0]["sigma_max"] as! Double)
        XCTAssertEqual(report.network.chain.first { $0.layer == "conv1" }?.value, view.operatorNorm)
        let conv2 = try XCTUnwrap(report.layers.first { $0.name == "conv2" })
        XCTAssertGreaterThanOrEqual(conv2.operatorNorm!, exact[1]["sigma_max"] as! Double)
        let sound = ref["soundness"] as! [String: Any]
        XCTAssertGreaterThanOrEqual(report.network.lipschitzBound!, sound["max_jacobian_norm"] as! Double)
        XCTAssertGreaterThanOrEqual(report.network.typicalBound!, sound["rms_gain_max"] as! Double)
        // At a known input size the padded-torus DFT is used and equals numpy's enlarged circular norm.
        let variants = ref["network_variants"] as! [String: Any]
        let circular = variants["circular_enlarged"] as! [String: Any]
        assertClose(report.network.lipschitzBound, circular["lipschitz_bound"] as! Double, rel: 1e-9, "L circular")
    }

    /// Functional graphs: `Add` sums branch bounds (residual `1 + Lip F`), `Concatenate` combines
    /// them in quadrature.
    func testResidualAndConcatenateRules() throws {
        let resnet = try audit("resnet.h5")
        assertClose(resnet.network.lipschitzBound, (Self.model("resnet")["network"] as! [String: Any])["lipschitz_bound"] as! Double,
                    rel: 1e-9, "resnet L")
        XCTAssertGreaterThanOrEqual(resnet.network.lipschitzBound!,
                                    (Self.model("resnet")["soundness"] as! [String: Any])["max_jacobian_norm"] as! Double)
        let branches = try audit("branches.keras")
        let layer = { (n: String) in branches.layers.first { $0.name == n }!.metrics!.spectralNorm }
        let expected = (pow(layer("branch_a"), 2) + pow(layer("branch_b"), 2)).squareRoot() * layer("head")
        assertClose(branches.network.lipschitzBound, expected, rel: 1e-12, "branches L")
        XCTAssertGreaterThanOrEqual(branches.network.lipschitzBound!,
                                    (Self.model("branches")["soundness"] as! [String: Any])["max_jacobian_norm"] as! Double)
        XCTAssertNil(branches.network.typicalBound, "typical bound is defined for chains only")
    }

    func testNonFiniteWeightsFailWithoutCrashing() throws {
        let report = try audit("nonfinite.safetensors") { $0.threshold = 50 }
        let d2 = try XCTUnwrap(report.layers.first { $0.name == "d2" })
        XCTAssertEqual(d2.status, .nonFinite)
        XCTAssertTrue(d2.reason!.contains("2 non-finite values"))
        XCTAssertNil(report.gmsi)
        XCTAssertEqual(report.verdict, .fail)
        XCTAssertTrue(report.checks.contains { $0.id == "layer.finite" && !$0.passed })
        XCTAssertTrue(report.checks.contains { $0.id == "gmsi.threshold" && !$0.passed })
    }

    func testThresholdAndAllowUnavailable() throws {
        XCTAssertEqual(try audit("mlp.h5") { $0.threshold = 50 }.verdict, .pass)
        XCTAssertEqual(try audit("mlp.h5") { $0.threshold = 4 }.verdict, .fail)
        // A transformer-like safetensors file has no network bound.
        let unavailable = try audit("nonfinite.safetensors") { $0.threshold = 50; $0.allowUnavailable = true }
        XCTAssertTrue(unavailable.checks.first { $0.id == "gmsi.threshold" }!.passed)
    }

    /// Results do not depend on how many workers run.
    func testDeterministicWhateverTheJobCount() throws {
        let one = try audit("depthwise.h5") { $0.jobs = 1 }
        let four = try audit("depthwise.h5") { $0.jobs = 4 }
        XCTAssertEqual(try one.jsonData(), try four.jsonData())
    }

    /// Every layer of the model gets a row; optimizer state gets one row; nothing is dropped.
    func testEveryLayerAndTensorIsAccountedFor() throws {
        let report = try audit("mlp.h5")
        let listed = Set(report.layers.flatMap(\.tensors))
        let store = try ModelFile.open(Self.root.appendingPathComponent("models/mlp.h5").path)
        for t in store.tensors {
            XCTAssertTrue(listed.contains(t.name), "\(t.name) has no row")
        }
        XCTAssertEqual(report.layers.filter { $0.kind == "optimizer_state" }.count, 1)
    }
}
