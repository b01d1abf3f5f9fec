import Foundation
import XCTest
import LinearAlgebra
import WeightFiles
@testable import ModelBuilder
@testable import SpectralModel

/// The float64 forward model (SPEC.md §5) against `fixtures/models/reference.json` (Keras with a
/// float64 dtype policy and numpy): logits to 1e-9 relative to the largest logit (the references
/// agree with each other to ~1e-16), reverse-mode Jacobians against the reference central
/// differences (h = 1e-5, agreement ~1e-10) and product forms to 1e-7 absolute, and against our own
/// central differences (h = 1e-6) to 1e-5 relative to ‖J‖_max. Forward-mode tangents equal
/// reverse-mode products to 1e-12 relative.
final class ForwardModelTests: XCTestCase {
    static let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/models")
    nonisolated(unsafe) static let reference: [String: Any] = {
        let data = try! Data(contentsOf: models.appendingPathComponent("reference.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()
    static func probeRef(_ name: String) -> [String: Any] {
        ((reference["models"] as! [String: Any])[name] as! [String: Any])["probe"] as! [String: Any]
    }

    static func kerasModel(_ file: String) throws -> ForwardModel {
        let store = try ModelFile.open(models.appendingPathComponent(file).path)
        let config = try KerasModelConfig.parse(store.architectureJSON!, path: store.path)
        return try ForwardModel(graph: NetworkGraph.fromKeras(config, tensors: store.tensors), store: store)
    }

    static func probe(_ file: String) throws -> (x: [Double], n: Int) {
        let s = try NPYTensorStore(path: models.appendingPathComponent(file).path)
        return (try s.loadFloat64(s.tensors[0].name), s.tensors[0].shape[0])
    }

    func testLogitsMatchKerasFloat64() throws {
        for (file, name) in [("mlp.h5", "mlp"), ("mlp.keras", "mlp"), ("cnn.h5", "cnn"), ("cnn.keras", "cnn"),
                             ("resnet.h5", "resnet"), ("branches.keras", "branches"), ("depthwise.h5", "depthwise"),
                             ("depthwise.keras", "depthwise")] {
            let m = try Self.kerasModel(file)
            let (x, n) = try Self.probe("probe_\(name).npy")
            let logits = m.logits(native: x, count: n)
            let ref = (Self.probeRef(name)["logits"] as! [[Double]]).flatMap { $0 }
            XCTAssertEqual(logits.count, ref.count, file)
            let scale = ref.map(abs).max()!
            let err = zip(logits, ref).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(err, 1e-9 * scale, "\(file): max |Δlogit| = \(err)")
        }
    }

    /// `J[c, i] = ∂f_c/∂x_i` for sample `s` by reverse mode (internal = Keras layout here).
    func jacobian(_ m: ForwardModel, _ x: [Double], sample s: Int) -> [Double] {
        let d = m.inputDimension, C = m.outputCount
        let xi = Array(x[(s * d)..<((s + 1) * d)])
        let tape = m.forward(xi, count: 1)
        var seed = [Double](repeating: 0, count: C * C)
        for c in 0..<C { seed[c * C + c] = 1 }
        return m.backward(tape, seed: seed, rowsPerSample: C).inputCotangent
    }

    func testJacobiansMatchReferenceAndFiniteDifferences() throws {
        for (file, name) in [("mlp.h5", "mlp"), ("cnn.h5", "cnn"), ("resnet.h5", "resnet"), ("branches.h5", "branches"),
                             ("depthwise.h5", "depthwise")] {
            let m = try Self.kerasModel(file)
            let (x, _) = try Self.probe("probe_\(name).npy")
            let d = m.inputDimension, C = m.outputCount
            for entry in Self.probeRef(name)["jacobians"] as! [[String: Any]] {
                let s = entry["index"] as! Int
                let j = jacobian(m, x, sample: s)
                let fdRef = (entry["jacobian_fd"] as! [[Double]]).flatMap { $0 }
                let pf = (entry["jacobian_product_form"] as! [[Double]]).flatMap { $0 }
                let scale = max(j.map(abs).max()!, 1e-300)
                XCTAssertLessThanOrEqual(zip(j, pf).map { abs($0 - $1) }.max()!, 1e-7 * max(1, scale), "\(name) #\(s) product form")
                if name != "cnn" || (entry["max_abs_difference"] as! Double) < 1e-6 {
                    XCTAssertLessThanOrEqual(zip(j, fdRef).map { abs($0 - $1) }.max()!, 1e-6 * max(1, scale), "\(name) #\(s) reference FD")
                }
                // Our own central differences.
                let h = 1e-6
                var fd = [Double](repeating: 0, count: C * d)
                let xi = Array(x[(s * d)..<((s + 1) * d)])
                for i in 0..<d {
                    var xp = xi, xm = xi
                    xp[i] += h
                    xm[i] -= h
                    let fp = m.forward(xp, count: 1).output, fm = m.forward(xm, count: 1).output
                    for c in 0..<C { fd[c * d + i] = (fp[c] - fm[c]) / (2 * h) }
                }
                let err = zip(j, fd).map { abs($0 - $1) }.max()!
                XCTAssertLessThanOrEqual(err, 1e-5 * scale, "\(name) #\(s) own FD: \(err)")
                let sigma = try SVD.singularValues(Matrix(rows: C, cols: d, storage: j)).values[0]
                XCTAssertEqual(sigma, entry["spectral_norm"] as! Double, accuracy: 1e-7 * sigma, "\(name) #\(s) ‖J‖₂")
            }
        }
    }

    /// The PyTorch-layout CNN (OIHW kernels, NCHW flatten) through a manifest, fed the NHWC probes:
    /// the probes are converted and the logits equal the Keras model's.
    func testTorchLayoutCNNThroughManifest() throws {
        let manifest = """
        {"schema": "spectral-audit-arch/1", "input_shape": [3, 8, 8], "layers": [
          {"name": "conv1", "type": "conv2d", "weight": "conv1.weight", "bias": "conv1.bias", "padding": "same"},
          {"name": "bn1", "type": "batch_norm", "gamma": "bn1.weight", "beta": "bn1.bias", "mean": "bn1.running_mean",
           "variance": "bn1.running_var", "epsilon": 0.001, "activation": "relu"},
          {"name": "pool1", "type": "max_pool", "pool": [2, 2]},
          {"name": "conv2", "type": "conv2d", "weight": "conv2.weight", "bias": "conv2.bias", "padding": "same", "activation": "relu"},
          {"name": "flatten", "type": "flatten"},
          {"name": "logits", "type": "dense", "weight": "logits.weight", "bias": "logits.bias"}]}
        """
        let path = NSTemporaryDirectory() + "cnn_torch_manifest_\(getpid()).json"
        try manifest.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try ModelFile.open(Self.models.appendingPathComponent("cnn_torch.safetensors").path)
        let graph = try ArchitectureManifest.load(path: path).graph(tensors: store.tensors)
        let m = try ForwardModel(graph: graph, store: store)
        XCTAssertEqual(m.nativeInputShape, [3, 8, 8])
        XCTAssertEqual(m.inputShape, [8, 8, 3])
        let (x, n) = try Self.probe("probe_cnn.npy")  // NHWC: internal layout already
        let logits = m.forward(x, count: n).output
        let ref = (Self.probeRef("cnn")["logits"] as! [[Double]]).flatMap { $0 }
        let err = zip(logits, ref).map { abs($0 - $1) }.max()!
        XCTAssertLessThanOrEqual(err, 1e-9 * ref.map(abs).max()!)
        // Native NCHW input gives the same.
        var nchw = [Double](repeating: 0, count: x.count)
        for s in 0..<n { for c in 0..<3 { for p in 0..<64 { nchw[s * 192 + c * 64 + p] = x[s * 192 + p * 3 + c] } } }
        XCTAssertEqual(m.logits(native: nchw, count: n), logits)
    }

    /// Forward mode agrees with reverse mode: ⟨u, J v⟩ = ⟨Jᵀ u, v⟩ for inputs and parameters.
    func testForwardModeMatchesReverseMode() throws {
        for file in ["cnn.h5", "depthwise.h5", "resnet.h5", "branches.keras"] {
            let m = try Self.kerasModel(file)
            let name = String(file.split(separator: ".")[0])
            let (x, _) = try Self.probe("probe_\(name).npy")
            let n = 3, d = m.inputDimension, C = m.outputCount, P = m.parameterCount
            let tape = m.forward(Array(x.prefix(n * d)), count: n)
            var rng = SplitMix64(seed: 7)
            let v = (0..<(n * d)).map { _ in rng.nextSigned() }
            let w = (0..<P).map { _ in rng.nextSigned() }
            let u = (0..<(n * C)).map { _ in rng.nextSigned() }
            let jv = m.jvp(tape, inputTangent: v, parameterTangent: w).last!
            let back = m.backward(tape, seed: u, request: BackwardRequest(parameterGradient: true))
            let lhs = zip(u, jv).reduce(0) { $0 + $1.0 * $1.1 }
            let rhs = zip(back.inputCotangent, v).reduce(0) { $0 + $1.0 * $1.1 } + zip(back.parameterGradient!, w).reduce(0) { $0 + $1.0 * $1.1 }
            XCTAssertEqual(lhs, rhs, accuracy: 1e-12 * max(abs(lhs), 1), file)
            // Per-row parameter gradients sum to the batch gradient; their Grams to the closed form.
            var seedK = [Double](repeating: 0, count: n * C * C)
            for r in 0..<(n * C) { seedK[r * C + r % C] = 1 }
            let rows = m.backward(tape, seed: seedK, rowsPerSample: C,
                                  request: BackwardRequest(perSampleGram: true, perRowParameterGradients: true))
            let js = rows.perRowParameterGradients!
            for s in 0..<n {
                for a in 0..<C {
                    for b in 0..<C {
                        var g = 0.0
                        for q in 0..<P { g += js[(s * C + a) * P + q] * js[(s * C + b) * P + q] }
                        XCTAssertEqual(rows.perSampleGram![(s * C + a) * C + b], g, accuracy: 1e-10 * max(1, abs(g)), file)
                    }
                }
            }
        }
    }

    func testUncoveredLayerIsAClearError() throws {
        let graph = NetworkGraph(nodes: [Node(name: "input", kind: .input, inputs: []),
                                         Node(name: "ln", kind: .parameterized(className: "LayerNormalization", tensors: []), inputs: [0])],
                                 outputs: [1], inputShape: [4], source: "manifest", assumptions: [])
        let store = try ModelFile.open(Self.models.appendingPathComponent("mlp_torch.npz").path)
        XCTAssertThrowsError(try ForwardModel(graph: graph, store: store)) { e in
            // LayerNorm is an op now, but not without its epsilon.
            XCTAssertTrue("\(e)".contains("layer 'ln' (LayerNormalization without a stated epsilon)"), "\(e)")
            XCTAssertEqual((e as? ForwardModelError)?.kind, .unsupported)
        }
    }
}
