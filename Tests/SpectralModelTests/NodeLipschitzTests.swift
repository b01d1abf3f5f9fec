import XCTest
import LinearAlgebra
import WeightFiles
@testable import SpectralModel

/// The rule each op states from its graph node alone (`NodeLipschitzSource`, what the
/// weights-only network bound uses) is the rule of the op its builder builds: the same case, the
/// same constant for activations, PReLU and shape ops, and for pooling a shape-free constant that
/// is at least the built op's geometric one (a bound for every input size).
final class NodeLipschitzTests: XCTestCase {
    func testNodeRulesAgreeWithBuiltOps() throws {
        var rng = SplitMix64(seed: 17)
        var list: [(String, [Int], [Double])] = []
        func t(_ name: String, _ shape: [Int], _ o: OrientationRule = .vector, _ values: [Double]? = nil) -> TensorRef {
            list.append((name, shape, values ?? (0..<shape.reduce(1, *)).map { _ in 0.5 * rng.nextSigned() }))
            return TensorRef(name: name, shape: shape, orientation: o)
        }
        let k1 = t("c1.weight", [4, 2, 3], .convOIHW), b1 = t("c1.bias", [4])
        let bn = BatchNormSpec(gamma: t("bn.weight", [4], .vector, [1.2, 0.8, 1.1, 0.9]), beta: t("bn.bias", [4]),
                               mean: t("bn.mean", [4]), variance: t("bn.var", [4], .vector, [0.5, 1.5, 0.9, 1.1]), epsilon: 1e-5)
        let alpha = t("pr.alpha", [4], .vector, [0.25, -1.7, 1.5, 0.05])
        let w = t("fc.weight", [3, 32], .outIn), b = t("fc.bias", [3])
        let nodes: [Node] = [
            Node(name: "input", kind: .input, inputs: []),
            Node(name: "c1", kind: .conv(ConvSpec(spatialRank: 1, kernel: k1, bias: b1, groups: 1, strides: [1], padding: "same", depthwise: false)),
                 inputs: [0]),
            Node(name: "act", kind: .activation(.tanh), inputs: [1]),
            Node(name: "pool", kind: .pooling(.max, pool: [3], strides: [2], global: false), inputs: [2], attributes: ["padding": "same"]),
            Node(name: "bn", kind: .batchNorm(bn), inputs: [3]),
            Node(name: "pr", kind: .prelu(alpha: alpha), inputs: [4]),
            Node(name: "add", kind: .add, inputs: [4, 5]),
            Node(name: "cat", kind: .concatenate, inputs: [6, 5]),
            Node(name: "drop", kind: .passThrough("dropout"), inputs: [7]),
            Node(name: "flat", kind: .passThrough("flatten"), inputs: [8]),
            Node(name: "fc", kind: .dense(kernel: w, bias: b), inputs: [9]),
        ]
        let graph = NetworkGraph(nodes: nodes, outputs: [10], inputShape: [2, 8], source: "manifest", assumptions: [])
        let model = try ForwardModel(graph: graph, store: ForwardSyntheticTests.MemoryStore(list))
        var checked = 0
        for node in nodes.dropFirst() {
            let norms = MeasuredNorms(operatorNorm: 2.5, parameterMaxAbs: 1.7)
            let stated = try XCTUnwrap(OpRegistry.lipschitz(of: node, norms: norms), "no rule stated for \(node.name)")
            XCTAssertNil(stated.unmeasured, node.name)
            guard let built = model.ops.first(where: { $0.op.name == node.name })?.op.lipschitz else { continue }
            switch (stated.rule, built) {
            case (.linearOperator, .linearOperator):
                break
            case (.merge(let a), .merge(let b)):
                XCTAssertEqual(a, b, node.name)
            case (.constant(let a, _), .constant(let b, _)):
                if node.name == "pool" {
                    XCTAssertGreaterThanOrEqual(a, b - 1e-15, "the shape-free pooling bound covers the built op's")
                    XCTAssertEqual(a, 2.0.squareRoot(), accuracy: 1e-15)  // ceil(3/2) = 2 windows per cell
                } else {
                    XCTAssertEqual(a, b, accuracy: 1e-15, node.name)
                }
            default:
                XCTFail("\(node.name): stated \(stated.rule), built \(built)")
            }
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 8)
        // PReLU: max(1, max|α|) = 1.7, the built op's constant.
        XCTAssertEqual(OpRegistry.lipschitz(of: nodes[5], norms: MeasuredNorms(parameterMaxAbs: 1.7))?.rule.globalConstant, 1.7)
        // Unmeasured norms give the reason the network bound reports.
        XCTAssertEqual(OpRegistry.lipschitz(of: nodes[1], norms: MeasuredNorms())?.unmeasured, "layer 'c1' was not analysed")
        XCTAssertEqual(OpRegistry.lipschitz(of: nodes[4], norms: MeasuredNorms())?.unmeasured, "BatchNorm 'bn' was not analysed")
        XCTAssertEqual(OpRegistry.lipschitz(of: nodes[5], norms: MeasuredNorms())?.unmeasured, "PReLU 'pr' was not analysed")
        // No op for an embedding: no rule.
        XCTAssertNil(OpRegistry.lipschitz(of: Node(name: "e", kind: .embedding(table: w), inputs: [0]), norms: MeasuredNorms()))
    }
}
