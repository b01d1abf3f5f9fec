import Foundation
import XCTest

/// Audits of the ONNX fixtures through the CLI against fixtures/onnx/reference.json
/// (fixtures/generate_onnx.py): per-layer σ_max equal to numpy float64 to 1e-9 relative (the
/// operator's, with a BatchNormalization folded into its conv), and network Lipschitz bounds at
/// least every input-Jacobian norm torch measured at random inputs.
final class ONNXAuditTests: XCTestCase {
    struct Reference: Decodable {
        struct Model: Decodable {
            var sigma_max: [String: Double]
            var jacobian_norms: [Double]?
        }
        var models: [String: Model]
    }

    func audit(_ file: String) throws -> [String: Any] {
        let r = try CLI.run(["fixtures/onnx/" + file, "--json", "-", "--no-progress"])
        XCTAssertEqual(r.status, 0, "\(file): \(r.stderr)")
        return try XCTUnwrap(JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any])
    }

    func testSpectraAndBoundsAgreeWithNumpyAndTorch() throws {
        let ref = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: CLI.packageRoot.appendingPathComponent("fixtures/onnx/reference.json")))
        var layersChecked = 0, normsChecked = 0
        for file in ["mlp_op13.onnx", "cnn_bn_op13.onnx", "cnn_bn_op17.onnx", "resnet_op17.onnx", "constants_mlp.onnx", "external_mlp.onnx",
                     "if_subgraph.onnx"] {
            let model = try XCTUnwrap(ref.models[file])
            let report = try audit(file)
            let input = try XCTUnwrap(report["input"] as? [String: Any])
            XCTAssertEqual(input["architecture_source"] as? String, "onnx_graph", file)
            XCTAssertEqual(input["format"] as? String, "onnx", file)
            let layers = try XCTUnwrap(report["layers"] as? [[String: Any]])
            for (weight, sigma) in model.sigma_max {
                let row = try XCTUnwrap(layers.first { ($0["tensors"] as? [String])?.first == weight }, "\(file): no row for \(weight)")
                XCTAssertEqual(row["status"] as? String, "analyzed", "\(file) \(weight)")
                // The reference is the operator the bound uses: BatchNorm folded in where the graph has one
                // (the row's `folded` view; `metrics` describe the tensor as stored).
                let metrics = (row["folded"] as? [String: Any])?["metrics"] ?? row["metrics"]
                let got = try XCTUnwrap((metrics as? [String: Any])?["spectral_norm"] as? Double, "\(file) \(weight)")
                XCTAssertEqual(got, sigma, accuracy: 1e-9 * sigma, "\(file) \(weight)")
                layersChecked += 1
            }
            guard let measured = model.jacobian_norms else { continue }
            let network = try XCTUnwrap(report["network"] as? [String: Any])
            let bound = try XCTUnwrap(network["lipschitz_bound"] as? Double, "\(file): \(network["reason"] ?? "")")
            for norm in measured {
                XCTAssertGreaterThanOrEqual(bound, norm, "\(file): bound below a measured Jacobian norm")
                normsChecked += 1
            }
        }
        XCTAssertEqual(layersChecked, 20)
        XCTAssertEqual(normsChecked, 40)
    }

    /// The data audit runs the mapped graph forward: its per-probe input-Jacobian norms equal
    /// torch's at the same inputs (fixtures/onnx/probes_*.npy) — to 1e-9 relative where the file
    /// holds torch's weights as trained, to 1e-6 where the exporter fused BatchNorm into float32
    /// conv weights (torch measures the unfused float64 model: 2.5e-8 observed).
    func testDataAuditJacobiansEqualTorch() throws {
        let ref = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: CLI.packageRoot.appendingPathComponent("fixtures/onnx/reference.json")))
        for (file, probes, tolerance) in [("mlp_op13.onnx", "probes_8.npy", 1e-9), ("cnn_bn_op17.onnx", "probes_3x8x8.npy", 1e-9),
                                          ("cnn_bn_op13.onnx", "probes_3x8x8.npy", 1e-6), ("resnet_op17.onnx", "probes_3x8x8.npy", 1e-6)] {
            let r = try CLI.run(["fixtures/onnx/" + file, "--probe", "fixtures/onnx/" + probes, "--json", "-", "--no-progress"])
            XCTAssertEqual(r.status, 0, "\(file): \(r.stderr)")
            let report = try XCTUnwrap(JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any])
            let perSample = try XCTUnwrap((report["data"] as? [String: Any])?["per_sample"] as? [String: Any])
            let norms = try XCTUnwrap(perSample["jacobian_norm"] as? [Double])
            let expected = try XCTUnwrap(ref.models[file]?.jacobian_norms)
            XCTAssertEqual(norms.count, expected.count, file)
            for (got, want) in zip(norms, expected) {
                XCTAssertEqual(got, want, accuracy: tolerance * want, file)
            }
        }
    }

    func testBatchNormIsFoldedAndShapeSubgraphsFold() throws {
        let cnn = try audit("cnn_bn_op17.onnx")
        let rows = try XCTUnwrap(cnn["layers"] as? [[String: Any]])
        let conv1 = try XCTUnwrap(rows.first { $0["name"] as? String == "/conv1/Conv" })
        XCTAssertEqual(conv1["folded_batch_norm"] as? String, "/bn1/BatchNormalization")
        let res = try audit("resnet_op17.onnx")
        let kinds = (res["layers"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
        XCTAssertTrue(kinds.contains("flatten"), "Shape→Gather→Unsqueeze→Concat→Reshape should fold to a flatten: \(kinds)")
        XCTAssertTrue(kinds.contains("add"))
        XCTAssertFalse(kinds.contains("Shape") || kinds.contains("Gather") || kinds.contains("Concat"))
    }

    func testAnOpTheEngineCannotPlaceIsNamed() throws {
        let report = try audit("if_subgraph.onnx")
        let network = try XCTUnwrap(report["network"] as? [String: Any])
        XCTAssertTrue(network["lipschitz_bound"] is NSNull)
        let reason = try XCTUnwrap(network["reason"] as? String)
        XCTAssertTrue(reason.contains("'choose'") && reason.contains("If"), reason)
        let rows = try XCTUnwrap(report["layers"] as? [[String: Any]])
        let row = try XCTUnwrap(rows.first { $0["name"] as? String == "choose" })
        XCTAssertEqual(row["status"] as? String, "unsupported")
        // The branches' layers are placed after the If, fed by it: analysed, outside the bound.
        for branch in ["then", "else"] {
            let layer = try XCTUnwrap(rows.first { $0["name"] as? String == "choose/\(branch)_branch/\(branch)_matmul" })
            XCTAssertEqual(layer["status"] as? String, "analyzed")
            XCTAssertEqual(layer["tensors"] as? [String], ["choose/\(branch)_branch/\(branch)_w"])
        }
    }

    func testInspectShowsTheGraph() throws {
        let r = try CLI.run(["inspect", "fixtures/onnx/resnet_op17.onnx"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("opset ai.onnx 17"), r.stdout)
        XCTAssertTrue(r.stdout.contains("input   x  FLOAT [batch, 3, 8, 8]"), r.stdout)
        XCTAssertTrue(r.stdout.contains("Conv 3"), r.stdout)
        let j = try CLI.run(["inspect", "--json", "fixtures/onnx/if_subgraph.onnx"])
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: j.stdoutData) as? [String: Any])
        let graph = try XCTUnwrap(obj["graph"] as? [String: Any])
        XCTAssertEqual((graph["subgraphs"] as? [[String: Any]])?.count, 2)
    }
}
