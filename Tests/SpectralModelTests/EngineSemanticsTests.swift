import Foundation
import XCTest
import LinearAlgebra
import WeightFiles
@testable import ModelBuilder
@testable import SpectralModel

/// The forward engine's layer semantics against the frameworks' own float64 outputs
/// (`fixtures/generate_engine_semantics.py`: Keras 3 on the torch backend, PyTorch modules):
/// logits and input Jacobians (torch autograd) to 1e-9 relative to the largest entry, for
/// same/valid pooling (Keras: padded cells ignored), strides, dilation, causal, depthwise and
/// separable convs, a residual add after same-padded max pooling (the mini-Xception block), and
/// PyTorch's explicit padding, `ceil_mode` and `count_include_pad`.
final class EngineSemanticsTests: XCTestCase {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/engine")

    static func array(_ file: String) throws -> (values: [Double], shape: [Int]) {
        let s = try NPYTensorStore(path: dir.appendingPathComponent(file).path)
        return (try s.loadFloat64(s.tensors[0].name), s.tensors[0].shape)
    }

    /// Logits and reverse-mode Jacobians of `model` on the fixture probes of `name` against the
    /// references; `toInternal` maps a native-layout Jacobian row to the internal layout.
    func check(_ model: ForwardModel, _ name: String, tolerance: Double = 1e-9, file: StaticString = #filePath, line: UInt = #line) throws {
        let (x, xs) = try Self.array(name + "_probe.npy")
        let n = xs[0], d = model.inputDimension, C = model.outputCount
        let logits = model.logits(native: x, count: n)
        let ref = try Self.array(name + "_logits.npy").values
        XCTAssertEqual(logits.count, ref.count, name, file: file, line: line)
        let scale = ref.map(abs).max()!
        let err = zip(logits, ref).map { abs($0 - $1) }.max()!
        XCTAssertLessThanOrEqual(err, tolerance * scale, "\(name): max |Δlogit| = \(err)", file: file, line: line)

        let (jref, js) = try Self.array(name + "_jacobian.npy")
        XCTAssertEqual(js, [n, C, d], name, file: file, line: line)
        let tape = model.forward(model.toInternal(x, count: n), count: n)
        var seed = [Double](repeating: 0, count: n * C * C)
        for r in 0..<(n * C) { seed[r * C + r % C] = 1 }
        let internalJ = model.backward(tape, seed: seed, rowsPerSample: C).inputCotangent
        // The reference rows are in the native layout: convert them to the internal one.
        let refInternal = model.toInternal(jref, count: n * C)
        let jscale = refInternal.map(abs).max()!
        let jerr = zip(internalJ, refInternal).map { abs($0 - $1) }.max()!
        XCTAssertLessThanOrEqual(jerr, tolerance * jscale, "\(name): max |ΔJ| = \(jerr) (scale \(jscale))", file: file, line: line)
        // Forward mode agrees with reverse mode (J e_i for a few inputs).
        for i in [0, d / 2, d - 1] {
            var e = [Double](repeating: 0, count: n * d)
            e[i] = 1
            let col = model.jvp(tape, inputTangent: e, parameterTangent: nil as [Double]?).last!
            for c in 0..<C {
                XCTAssertEqual(col[c], internalJ[c * d + i], accuracy: 1e-12 * max(1, jscale), "\(name) jvp", file: file, line: line)
            }
        }
    }

    static func keras(_ name: String) throws -> ForwardModel {
        let store = try ModelFile.open(dir.appendingPathComponent(name + ".h5").path)
        let config = try KerasModelConfig.parse(store.architectureJSON!, path: store.path)
        return try ForwardModel(graph: NetworkGraph.fromKeras(config, tensors: store.tensors), store: store)
    }

    func testKerasSamePaddedPoolingBeforeResidualAdd() throws {
        // MaxPooling2D(3, strides=2, padding='same') on 13×13 gives 7×7, like the strided 1×1 conv
        // on the residual branch (it used to give 6×6 and fail the add).
        try check(try Self.keras("xception_block"), "xception_block")
    }

    func testKerasPoolingVariants() throws {
        try check(try Self.keras("pooling_variants"), "pooling_variants")
    }

    func testKerasDilatedStridedAndDepthwiseConvs() throws {
        try check(try Self.keras("dilated_strided_conv"), "dilated_strided_conv")
    }

    func testKerasConv1DCausalDilatedAndSamePooling1D() throws {
        try check(try Self.keras("conv1d_variants"), "conv1d_variants")
    }

    /// PyTorch conventions through a graph built with the public construction API (what a
    /// PyTorch/ONNX graph builder emits): explicit pads, dilation, ceil_mode, count_include_pad.
    func testTorchExplicitPaddingCeilModeAndCountIncludePad() throws {
        let store = try ModelFile.open(Self.dir.appendingPathComponent("torch_pool.safetensors").path)
        func t(_ name: String, _ o: OrientationRule) -> TensorRef {
            TensorRef(name: name, shape: store.tensors.first { $0.name == name }!.shape, orientation: o)
        }
        func pool(_ name: String, _ k: PoolKind, _ size: Int, _ stride: Int, _ input: Int, _ attrs: [String: String]) -> Node {
            Node(name: name, kind: .pooling(k, pool: [size, size], strides: [stride, stride], global: false), inputs: [input],
                 attributes: attrs)
        }
        let nodes = [
            Node(name: "x", kind: .input, inputs: []),
            Node(name: "conv", kind: .conv(ConvSpec(spatialRank: 2, kernel: t("conv.weight", .convOIHW), bias: t("conv.bias", .vector),
                                                    groups: 1, strides: [2, 2], padding: "explicit", depthwise: false, dilation: [2, 2])),
                 inputs: [0], activation: .relu, attributes: ["pads": "2,2,2,2"]),
            pool("pool1", .max, 3, 2, 1, ["padding": "explicit", "pads": "1,1,1,1", "ceil_mode": "true"]),
            Node(name: "conv2", kind: .conv(ConvSpec(spatialRank: 2, kernel: t("conv2.weight", .convOIHW), bias: t("conv2.bias", .vector),
                                                     groups: 1, strides: [1, 1], padding: "valid", depthwise: false)),
                 inputs: [2], activation: .tanh),
            pool("pool2", .average, 3, 2, 3, ["padding": "explicit", "pads": "1,1,1,1", "ceil_mode": "true", "count_include_pad": "true"]),
            pool("pool3", .average, 2, 1, 4, ["padding": "explicit", "pads": "1,1,1,1", "count_include_pad": "false"]),
            Node(name: "flatten", kind: .passThrough("flatten"), inputs: [5]),
            Node(name: "fc", kind: .dense(kernel: t("fc.weight", .outIn), bias: t("fc.bias", .vector)), inputs: [6]),
        ]
        let graph = NetworkGraph(nodes: nodes, outputs: [7], inputShape: [3, 13, 13], source: "manifest", assumptions: [])
        let model = try ForwardModel(graph: graph, store: store)
        XCTAssertEqual(model.ops.map { $0.op.outputShape }.dropFirst().prefix(6).map { $0 },
                       [[7, 7, 4], [7, 7, 4], [4, 4, 4], [4, 4, 6], [4, 4, 6], [3, 3, 6]])
        try check(model, "torch_pool")
    }

    /// Each op states its Lipschitz rule: 3×3 stride-2 max pooling lets one cell feed up to
    /// 4 windows, so its ℓ2 constant is 2, not 1; non-overlapping pooling keeps 1.
    func testPoolingLipschitzRuleCountsOverlap() throws {
        let model = try Self.keras("xception_block")
        let pool = try XCTUnwrap(model.ops.first { $0.op.name == "pool" }?.op as? PoolOp)
        XCTAssertEqual(pool.lipschitz.globalConstant!, 2, accuracy: 1e-15)
        let variants = try Self.keras("dilated_strided_conv")
        let p2 = try XCTUnwrap(variants.ops.first { $0.op.name == "max_valid" }?.op as? PoolOp)
        XCTAssertEqual(p2.lipschitz.globalConstant!, 2, accuracy: 1e-15)  // 2×2 stride 1: 4 windows share a cell
        let gap = try XCTUnwrap(model.ops.first { $0.op.name == "gap" }?.op as? PoolOp)
        XCTAssertEqual(gap.lipschitz.globalConstant!, 1 / 7.0, accuracy: 1e-15)  // one mean of 49 cells: 1/sqrt(49)
    }

    /// LayerNorm (the first op added after the port: one file and one registration line) against
    /// PyTorch: logits and Jacobians to 1e-9, and the exact loss-Hessian–vector product of its
    /// second-order rule against `torch.autograd.functional.hvp` to 1e-9.
    func testTorchLayerNormForwardJacobianAndHessianVectorProduct() throws {
        let store = try ModelFile.open(Self.dir.appendingPathComponent("torch_layer_norm.safetensors").path)
        func t(_ name: String, _ o: OrientationRule) -> TensorRef {
            TensorRef(name: name, shape: store.tensors.first { $0.name == name }!.shape, orientation: o)
        }
        let nodes = [
            Node(name: "x", kind: .input, inputs: []),
            Node(name: "fc1", kind: .dense(kernel: t("fc1.weight", .outIn), bias: t("fc1.bias", .vector)), inputs: [0]),
            Node(name: "ln", kind: .parameterized(className: "LayerNorm", tensors: [t("ln.weight", .vector), t("ln.bias", .vector)]),
                 inputs: [1], activation: .gelu, attributes: ["epsilon": "1e-05"]),
            Node(name: "fc2", kind: .dense(kernel: t("fc2.weight", .outIn), bias: t("fc2.bias", .vector)), inputs: [2]),
        ]
        let graph = NetworkGraph(nodes: nodes, outputs: [3], inputShape: [6], source: "manifest", assumptions: [])
        let model = try ForwardModel(graph: graph, store: store)
        try check(model, "torch_layer_norm")

        // H v of the mean cross-entropy (labels 0, 2) by Pearlmutter's R-operator.
        let (x, _) = try Self.array("torch_layer_norm_probe.npy")
        let (vhv, _) = try Self.array("torch_layer_norm_hvp.npy")
        let P = model.parameterCount, C = model.outputCount, n = 2
        XCTAssertEqual(vhv.count, 2 * P)
        let v = Array(vhv[0..<P]), ref = Array(vhv[P...])
        let labels = [0, 2]
        let tape = model.forward(x, count: n)
        let f = tape.output
        var gy = [Double](repeating: 0, count: n * C), rgy = gy
        let pt = model.prepareTangent(v)
        let fdot = model.jvp(tape, inputTangent: nil, parameterTangent: pt)
        for i in 0..<n {
            let row = Array(f[(i * C)..<((i + 1) * C)]), m = row.max()!
            let e = row.map { Foundation.exp($0 - m) }, z = e.reduce(0, +)
            let p = e.map { $0 / z }
            var pf = 0.0
            for c in 0..<C { pf += p[c] * fdot.last![i * C + c] }
            for c in 0..<C {
                gy[i * C + c] = (p[c] - (c == labels[i] ? 1 : 0)) / Double(n)
                rgy[i * C + c] = p[c] * (fdot.last![i * C + c] - pf) / Double(n)
            }
        }
        let hv = model.secondOrderBackward(tape, tangents: fdot, parameterTangent: pt, seed: gy, seedTangent: rgy)
        let scale = ref.map(abs).max()!
        let err = zip(hv, ref).map { abs($0 - $1) }.max()!
        XCTAssertLessThanOrEqual(err, 1e-9 * scale, "LayerNorm HVP: max |Δ| = \(err) (scale \(scale))")
        let ln = try XCTUnwrap(model.ops.first { $0.op.name == "ln" }?.op as? LayerNormOp)
        guard case .local(let rule) = ln.lipschitz else { return XCTFail("LayerNorm's Lipschitz rule is local") }
        XCTAssertEqual(rule.domain, [.inputScaleAtLeast("δ")])
        XCTAssertNil(rule.bound([:]), "no bound without the domain value")
    }

    /// Keras LayerNormalization through the Keras graph builder (epsilon and axis from its config).
    /// Keras-on-jax computes LayerNormalization with float32-level error (~3e-7), hence 1e-6 here.
    func testKerasLayerNormalization() throws {
        try check(try Self.keras("layer_norm_keras"), "layer_norm_keras", tolerance: 1e-6)
    }
}
