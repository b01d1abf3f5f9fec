import XCTest
import LinearAlgebra
import WeightFiles
@testable import ModelBuilder
@testable import SpectralModel

/// Layers the fixture models do not contain (1-D convs with circular padding and groups, average
/// pooling, BatchNorm without a preceding operator, smooth activations, PReLU per channel, add,
/// concatenate, channels-first flatten), on a synthetic PyTorch-layout network held in memory.
/// Tolerances: adjoint identity to 1e-12 relative; Jacobians against central differences
/// (h = 1e-6) to 1e-6 relative to max |J|; HVPs against central differences of gradients
/// (h = 1e-6) to 1e-6 relative to max |Hv|; activation derivatives against differences to 1e-7.
final class ForwardSyntheticTests: XCTestCase {
    final class MemoryStore: TensorStore, @unchecked Sendable {
        let path = "memory"
        var format: ModelFormat { .npz }
        let tensors: [TensorInfo]
        let data: [String: [Double]]
        var architectureJSON: String? { nil }
        init(_ t: [(String, [Int], [Double])]) {
            tensors = t.map { TensorInfo(name: $0.0, shape: $0.1, dtype: .float64, byteOrder: .little, layout: "contiguous") }
            data = Dictionary(uniqueKeysWithValues: t.map { ($0.0, $0.2) })
        }
        func loadFloat64(_ name: String) throws -> [Double] { data[name]! }
        func loadFloat32(_ name: String) throws -> [Float] { data[name]!.map(Float.init) }
        func loadNativeBytes(_ name: String) throws -> [UInt8] { [] }
    }

    static func network() throws -> ForwardModel {
        var rng = SplitMix64(seed: 2026)
        func r(_ shape: [Int], _ scale: Double = 0.5) -> (shape: [Int], values: [Double]) {
            (shape, (0..<shape.reduce(1, *)).map { _ in scale * rng.nextSigned() })
        }
        var list: [(String, [Int], [Double])] = []
        func t(_ name: String, _ v: (shape: [Int], values: [Double]), _ o: OrientationRule = .vector) -> TensorRef {
            list.append((name, v.shape, v.values))
            return TensorRef(name: name, shape: v.shape, orientation: o)
        }
        let k1 = t("c1.weight", r([4, 1, 3]), .convOIHW), b1 = t("c1.bias", r([4]))
        let g = t("bn.weight", (shape: [4], values: [1.2, 0.8, 1.1, 0.9])), be = t("bn.bias", r([4]))
        let mu = t("bn.mean", r([4])), va = t("bn.var", (shape: [4], values: [0.5, 1.5, 0.9, 1.1]))
        let k2 = t("c2.weight", r([4, 4, 3]), .convOIHW), b2 = t("c2.bias", r([4]))
        let al = t("pr.alpha", (shape: [4], values: [0.25, -0.1, 1.5, 0.05]))
        let w1 = t("fc1.weight", r([5, 24]), .outIn), c1 = t("fc1.bias", r([5]))
        let w2 = t("fc2.weight", r([3, 5]), .outIn), c2 = t("fc2.bias", r([3]))
        let nodes: [Node] = [
            Node(name: "input", kind: .input, inputs: []),
            Node(name: "c1", kind: .conv(ConvSpec(spatialRank: 1, kernel: k1, bias: b1, groups: 2, strides: [1], padding: "circular", depthwise: false)),
                 inputs: [0], activation: .gelu),
            Node(name: "pool", kind: .pooling(.average, pool: [3], strides: [3], global: false), inputs: [1]),
            Node(name: "bn", kind: .batchNorm(BatchNormSpec(gamma: g, beta: be, mean: mu, variance: va, epsilon: 1e-5)), inputs: [2],
                 activation: .silu),
            Node(name: "c2", kind: .conv(ConvSpec(spatialRank: 1, kernel: k2, bias: b2, groups: 1, strides: [1], padding: "same", depthwise: false)),
                 inputs: [3], activation: .mish),
            Node(name: "add", kind: .add, inputs: [3, 4]),
            Node(name: "pr", kind: .prelu(alpha: al), inputs: [5]),
            Node(name: "cat", kind: .concatenate, inputs: [6, 3]),
            Node(name: "flat", kind: .passThrough("flatten"), inputs: [7]),
            Node(name: "fc1", kind: .dense(kernel: w1, bias: c1), inputs: [8], activation: .elu(alpha: 1)),
            Node(name: "fc2", kind: .dense(kernel: w2, bias: c2), inputs: [9]),
        ]
        let graph = NetworkGraph(nodes: nodes, outputs: [10], inputShape: [2, 9], source: "manifest", assumptions: [])
        return try ForwardModel(graph: graph, store: MemoryStore(list))
    }

    func testAdjointJacobianAndHessianOfSyntheticNetwork() throws {
        let m = try Self.network()
        XCTAssertEqual(m.inputShape, [9, 2])
        XCTAssertEqual(m.outputCount, 3)
        let n = 4, d = m.inputDimension, C = m.outputCount, P = m.parameterCount
        var rng = SplitMix64(seed: 5)
        let x = (0..<(n * d)).map { _ in 1.5 * rng.nextSigned() }
        let tape = m.forward(x, count: n)
        // Adjoint: ⟨u, J_x v + J_θ w⟩ = ⟨J_xᵀ u, v⟩ + ⟨J_θᵀ u, w⟩.
        let v = (0..<(n * d)).map { _ in rng.nextSigned() }, w = (0..<P).map { _ in rng.nextSigned() }
        let u = (0..<(n * C)).map { _ in rng.nextSigned() }
        let jv = m.jvp(tape, inputTangent: v, parameterTangent: w).last!
        let back = m.backward(tape, seed: u, request: BackwardRequest(parameterGradient: true))
        let lhs = zip(u, jv).reduce(0) { $0 + $1.0 * $1.1 }
        let rhs = zip(back.inputCotangent, v).reduce(0) { $0 + $1.0 * $1.1 } + zip(back.parameterGradient!, w).reduce(0) { $0 + $1.0 * $1.1 }
        XCTAssertEqual(lhs, rhs, accuracy: 1e-12 * max(1, abs(lhs)))
        // Input Jacobian of sample 0 against central differences.
        var seed = [Double](repeating: 0, count: C * C)
        for c in 0..<C { seed[c * C + c] = 1 }
        let x0 = Array(x.prefix(d))
        let j = m.backward(m.forward(x0, count: 1), seed: seed, rowsPerSample: C).inputCotangent
        let h = 1e-6
        var err = 0.0
        for i in 0..<d {
            var xp = x0, xm = x0
            xp[i] += h
            xm[i] -= h
            let fp = m.forward(xp, count: 1).output, fm = m.forward(xm, count: 1).output
            for c in 0..<C { err = max(err, abs(j[c * d + i] - (fp[c] - fm[c]) / (2 * h))) }
        }
        XCTAssertLessThanOrEqual(err, 1e-6 * j.map(abs).max()!)
        // HVP of ℓ = ½ Σ ‖f − y‖² against central differences of the gradient.
        let y = (0..<(n * C)).map { _ in rng.nextSigned() }
        func gradient(_ mm: ForwardModel) -> [Double] {
            let tp = mm.forward(x, count: n)
            return mm.backward(tp, seed: zip(tp.output, y).map { $0 - $1 }, request: BackwardRequest(parameterGradient: true)).parameterGradient!
        }
        let vt = m.prepareTangent(w)
        let tan = m.jvp(tape, inputTangent: nil, parameterTangent: vt)
        let hv = m.secondOrderBackward(tape, tangents: tan, parameterTangent: vt, seed: zip(tape.output, y).map { $0 - $1 },
                                       seedTangent: tan.last!)
        let gp = gradient(m.withParameters(zip(m.parameters, w).map { $0 + h * $1 }))
        let gm = gradient(m.withParameters(zip(m.parameters, w).map { $0 - h * $1 }))
        let herr = zip(hv, zip(gp, gm).map { ($0 - $1) / (2 * h) }).map { abs($0 - $1) }.max()!
        XCTAssertLessThanOrEqual(herr, 1e-6 * hv.map(abs).max()!, "HVP vs FD: \(herr)")
    }

    func testActivationDerivatives() {
        let all: [Activation] = [.linear, .relu, .leakyRelu(alpha: 0.2), .elu(alpha: 1.3), .tanh, .sigmoid, .hardSigmoid(slope: 0.2),
                                 .hardSigmoid(slope: 1.0 / 6), .softplus, .gelu, .silu, .mish, .named("relu6", lipschitz: 1),
                                 .named("selu", lipschitz: 1.7581), .named("softsign", lipschitz: 1), .named("hard_silu", lipschitz: 1.5)]
        for a in all {
            let f = ScalarActivation(a)!
            for x in [-4.1, -2.2, -0.6, 0.35, 1.7, 4.1] {
                let h = 1e-5
                XCTAssertEqual(f.d1(x), (f.value(x + h) - f.value(x - h)) / (2 * h), accuracy: 1e-7, "\(a) φ'(\(x))")
                XCTAssertEqual(f.d2(x), (f.d1(x + h) - f.d1(x - h)) / (2 * h), accuracy: 1e-7, "\(a) φ''(\(x))")
            }
            XCTAssertLessThanOrEqual([-3.0, -1, 0, 0.5, 1.4, 2.4, 5].map { abs(f.d1($0)) }.max()!, a.lipschitz + 1e-12, "\(a) Lip")
        }
        XCTAssertEqual(ScalarActivation(.relu)!.d1(0), 0, "SPEC §5: relu'(0) = 0")
        XCTAssertNil(ScalarActivation(.softmaxOutput))
    }
}
