import XCTest
import WeightFiles
@testable import ModelBuilder
@testable import SpectralModel

/// `NetworkGraph.fromONNX` on small graphs written by hand: which ops become which layers, what is
/// folded, and which ops are refused with the node named.
final class ONNXGraphBuilderTests: XCTestCase {
    func info(_ name: String, _ shape: [Int], _ dtype: DType = .float32) -> TensorInfo {
        TensorInfo(name: name, shape: shape, dtype: dtype, byteOrder: .little, layout: "raw_data")
    }

    func node(_ op: String, _ ins: [String], _ outs: [String], _ attrs: [String: ONNXAttribute.Value] = [:]) -> ONNXNode {
        ONNXNode(name: outs[0] + "_node", opType: op, domain: "", inputs: ins, outputs: outs,
                 attributes: attrs.sorted { $0.key < $1.key }.map { ONNXAttribute(name: $0.key, value: $0.value) })
    }

    func build(_ nodes: [ONNXNode], tensors: [TensorInfo], inputShape: [ONNXValueInfo.Dimension] = [.parameter("N"), .value(4)],
               outputs: [String] = ["y"], values: [String: [Double]] = [:]) -> NetworkGraph {
        var constants: [String: String] = [:]
        for t in tensors { constants[t.name] = t.name }
        let g = ONNXGraph(name: "g", path: "", nodes: nodes, inputs: [ONNXValueInfo(name: "x", elementType: "FLOAT", shape: inputShape)],
                          outputs: outputs.map { ONNXValueInfo(name: $0, elementType: "FLOAT", shape: nil) }, constants: constants)
        let s = ONNXGraphSummary(irVersion: 8, producer: "test", opsets: ["": 17], graph: g, skippedTensors: [:])
        return NetworkGraph.fromONNX(s, tensors: tensors, load: { values[$0] })
    }

    func testGemmOrientationAndMatMulBiasFolding() {
        let g = build([node("Gemm", ["x", "W", "b"], ["h"], ["transB": .int(1)]),
                       node("MatMul", ["h", "V"], ["m"]), node("Add", ["m", "c"], ["y"])],
                      tensors: [info("W", [8, 4]), info("b", [8]), info("V", [8, 3]), info("c", [3])])
        XCTAssertEqual(g.source, "onnx_graph")
        XCTAssertEqual(g.inputShape, [4])
        XCTAssertEqual(g.nodes.map(\.kind.reportKind), ["input", "dense", "dense"])
        guard case .dense(let w, let b) = g.nodes[1].kind, case .dense(let v, let c) = g.nodes[2].kind else { return XCTFail() }
        XCTAssertEqual(w.orientation, .outIn)
        XCTAssertEqual(b?.name, "b")
        XCTAssertEqual(v.orientation, .inOut)
        XCTAssertEqual(c?.name, "c", "the Add of a constant vector is the MatMul's bias")
        XCTAssertEqual(g.outputs, [2])
    }

    func testGemmWithAlphaOrTransAIsNotPlaced() {
        for attrs: [String: ONNXAttribute.Value] in [["alpha": .float(0.5)], ["transA": .int(1)]] {
            let g = build([node("Gemm", ["x", "W"], ["y"], attrs)], tensors: [info("W", [4, 8])])
            guard case .unsupported(let cls, let refs) = g.nodes[1].kind else { return XCTFail("\(attrs)") }
            XCTAssertTrue(cls.hasPrefix("Gemm("), cls)
            XCTAssertEqual(refs.map(\.name), ["W"])
        }
    }

    func testConvPaddingsAndDilation() {
        func conv(_ attrs: [String: ONNXAttribute.Value]) -> NodeKind {
            build([node("Conv", ["x", "K"], ["y"], attrs)], tensors: [info("K", [6, 3, 3, 3])],
                  inputShape: [.value(1), .value(3), .value(8), .value(8)]).nodes[1].kind
        }
        func padding(_ k: NodeKind) -> String? { if case .conv(let c) = k { return c.padding }; return nil }
        XCTAssertEqual(padding(conv([:])), "valid")
        XCTAssertEqual(padding(conv(["pads": .ints([1, 1, 1, 1])])), "same")
        XCTAssertEqual(padding(conv(["pads": .ints([1, 1, 1, 1]), "strides": .ints([2, 2])])), "explicit")
        XCTAssertEqual(padding(conv(["pads": .ints([0, 0, 1, 1])])), "explicit")
        XCTAssertEqual(padding(conv(["auto_pad": .string("SAME_UPPER")])), "same")
        guard case .unsupported(let cls, _) = conv(["dilations": .ints([2, 2])]) else { return XCTFail() }
        XCTAssertTrue(cls.contains("dilations"), cls)
        guard case .conv(let c) = conv(["group": .int(3)]) else { return XCTFail() }
        XCTAssertEqual(c.groups, 3)
        XCTAssertEqual(c.kernel.orientation, .convOIHW)
    }

    func testIdentityOfAConstantAndBatchNorm() {
        let g = build([node("Identity", ["s"], ["var"]), node("Conv", ["x", "K"], ["c"]),
                       node("BatchNormalization", ["c", "s", "t", "m", "var"], ["y"], ["epsilon": .float(1e-3)])],
                      tensors: [info("K", [2, 1, 1, 1]), info("s", [2]), info("t", [2]), info("m", [2])],
                      inputShape: [.value(1), .value(1), .value(4), .value(4)])
        guard case .batchNorm(let bn) = g.nodes[2].kind else { return XCTFail("\(g.nodes.map(\.kind))") }
        XCTAssertEqual(bn.variance.name, "s", "Identity(s) is the stored tensor s")
        XCTAssertEqual(bn.epsilon, 1e-3)
        XCTAssertEqual(g.nodes[2].inputs, [1])
    }

    func testReshapeTargets() {
        let shapeNodes = [node("Shape", ["x"], ["s"]), node("Gather", ["s", "zero"], ["n"]),
                          node("Unsqueeze", ["n", "axes"], ["n1"]), node("Concat", ["n1", "minus1"], ["target"], ["axis": .int(0)])]
        let ints = [info("zero", [], .int64), info("axes", [1], .int64), info("minus1", [1], .int64), info("fixed", [3], .int64)]
        let values: [String: [Double]] = ["zero": [0], "axes": [0], "minus1": [-1], "fixed": [2, 2, -1]]
        let g = build(shapeNodes + [node("Reshape", ["x", "target"], ["y"])], tensors: ints, values: values)
        XCTAssertEqual(g.nodes.map(\.kind.reportKind), ["input", "flatten"], "the shape subgraph folds; [batch, -1] flattens")
        let r = build([node("Reshape", ["x", "fixed"], ["y"])], tensors: ints, values: values)
        XCTAssertEqual(r.nodes.map(\.kind.reportKind), ["input", "reshape"])
    }

    func testUnknownOpsAndControlFlowAreNamed() {
        let g = build([node("Relu", ["x"], ["r"]), node("Mul", ["r", "k"], ["y"])], tensors: [info("k", [4])])
        guard case .unsupported(let cls, let refs) = g.nodes[2].kind else { return XCTFail() }
        XCTAssertEqual(cls, "Mul")
        XCTAssertEqual(refs.map(\.name), ["k"])
        XCTAssertEqual(g.nodes[2].name, "y_node")
        // A control-flow node: its subgraph's layers follow it, fed by it and named by path; the
        // subgraph reads an outer-scope weight W, its own input i (fed by the Loop) and the outer value r
        // (fed by r's producer).
        let body = ONNXGraph(name: "b", path: "loop_node/body",
                             nodes: [node("MatMul", ["i", "W"], ["z"]), node("Add", ["z", "r"], ["z2"])],
                             inputs: [ONNXValueInfo(name: "i", elementType: "INT64", shape: [])], outputs: [], constants: [:])
        var loop = node("Loop", ["", "", "r"], ["y"])
        loop.name = "loop_node"
        loop.attributes = [ONNXAttribute(name: "body", value: .graph(body))]
        let lg = build([node("Relu", ["x"], ["r"]), loop], tensors: [info("W", [4, 4])])
        XCTAssertEqual(lg.nodes.map(\.name), ["x", "r_node", "loop_node", "loop_node/body/z_node", "loop_node/body/z2_node"])
        XCTAssertEqual(lg.nodes[3].inputs, [2])
        XCTAssertEqual(lg.nodes[4].inputs, [3, 1])
        guard case .dense(let w, nil) = lg.nodes[3].kind, case .unsupported("Loop", let left) = lg.nodes[2].kind else { return XCTFail() }
        XCTAssertEqual(w.name, "W")
        XCTAssertTrue(left.isEmpty)
        XCTAssertEqual(lg.outputs, [2])
        let pool = build([node("MaxPool", ["x"], ["y"], ["kernel_shape": .ints([3, 3]), "pads": .ints([1, 1, 1, 1])])], tensors: [])
        guard case .unsupported(let p, _) = pool.nodes[1].kind else { return XCTFail() }
        XCTAssertTrue(p.hasPrefix("MaxPool("), p)
    }
}
