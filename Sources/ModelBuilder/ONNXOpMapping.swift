import SpectralModel
import WeightFiles

/// How one ONNX node that reads data enters the `NetworkGraph` (rules: `NetworkGraph.fromONNX`).
enum ONNXOpMapping {
    enum Placement {
        /// The node's outputs are its first data input (Identity, Dropout at inference).
        case alias
        /// A constant vector added to the output of layer `producer`: becomes its bias.
        case bias(producer: Int, TensorRef)
        /// A new layer reading the given data values.
        case layer(NodeKind, inputs: [String])
    }

    static func kind(_ n: ONNXNode, builder b: ONNXGraphBuilder, dataInputs: [String]) -> Placement {
        let x = dataInputs[0]
        func unsupported(_ why: String? = nil) -> Placement {
            var refs = n.inputs.compactMap { b.ref($0, .vector) }
            // Control flow: the weights of every subgraph belong to this node.
            for a in n.attributes {
                switch a.value {
                case .graph(let g): refs += subgraphRefs([g], b)
                case .graphs(let gs): refs += subgraphRefs(gs, b)
                default: break
                }
            }
            let cls = n.qualifiedOpType + (why.map { "(\($0))" } ?? "")
            return .layer(.unsupported(className: cls, tensors: refs), inputs: dataInputs)
        }
        func int(_ name: String, _ def: Int64) -> Int64 { n.attribute(name)?.int ?? def }
        func float(_ name: String, _ def: Double) -> Double { n.attribute(name)?.float ?? def }
        func ints(_ name: String) -> [Int]? { n.attribute(name)?.ints?.map { Int(clamping: $0) } }
        func act(_ a: Activation) -> Placement { .layer(.activation(a), inputs: [x]) }
        // Every non-data input of a layer must be a stored weight where one is expected.
        let onlyDataFirst = n.inputs.first == x

        switch n.opType {
        case "Identity", "Dropout":
            return .alias
        case "Gemm":
            guard onlyDataFirst, dataInputs.count == 1, n.inputs.count >= 2 else { return unsupported("data in B or C") }
            guard int("transA", 0) == 0 else { return unsupported("transA=1") }
            guard float("alpha", 1) == 1 else { return unsupported("alpha=\(float("alpha", 1))") }
            let rule: OrientationRule = int("transB", 0) != 0 ? .outIn : .inOut
            guard let w = b.ref(n.inputs[1], rule), w.shape.count == 2 else { return unsupported("B is not a stored matrix") }
            var bias: TensorRef?
            if n.inputs.count >= 3, !n.inputs[2].isEmpty {
                let out = rule == .outIn ? w.shape[0] : w.shape[1]
                guard float("beta", 1) == 1 else { return unsupported("beta=\(float("beta", 1))") }
                guard let c = b.ref(n.inputs[2], .vector), c.shape.reduce(1, *) == out else { return unsupported("C is not a bias vector") }
                bias = c
            }
            return .layer(.dense(kernel: w, bias: bias), inputs: [x])
        case "MatMul":
            guard onlyDataFirst, dataInputs.count == 1, n.inputs.count >= 2, let w = b.ref(n.inputs[1], .inOut), w.shape.count == 2 else {
                return unsupported("not data × stored matrix")
            }
            return .layer(.dense(kernel: w, bias: nil), inputs: [x])
        case "Conv":
            return conv(n, b, x: x, unsupported: unsupported)
        case "BatchNormalization":
            guard onlyDataFirst, n.inputs.count >= 5, int("training_mode", 0) == 0,
                  let mean = b.ref(n.inputs[3], .vector), let variance = b.ref(n.inputs[4], .vector) else {
                return unsupported("statistics not stored, or training mode")
            }
            return .layer(.batchNorm(BatchNormSpec(gamma: b.ref(n.inputs[1], .vector), beta: b.ref(n.inputs[2], .vector),
                                                   mean: mean, variance: variance, epsilon: float("epsilon", 1e-5))),
                          inputs: [x])
        case "Relu": return act(.relu)
        case "LeakyRelu": return act(.leakyRelu(alpha: float("alpha", 0.01)))
        case "Sigmoid": return act(.sigmoid)
        case "Tanh": return act(.tanh)
        case "Elu": return act(.elu(alpha: float("alpha", 1)))
        case "Selu":
            let lip = float("gamma", 1.05070102214813232421875) * max(1, float("alpha", 1.67326319217681884765625))
            return act(.named("selu", lipschitz: lip))
        case "Softplus": return act(.softplus)
        case "Softsign": return act(.named("softsign", lipschitz: 1))
        case "HardSigmoid": return act(.hardSigmoid(slope: float("alpha", 0.2)))
        case "HardSwish": return act(.named("hard_silu", lipschitz: 1.5))
        case "Gelu": return act(.gelu)
        case "Mish": return act(.mish)
        case "Softmax": return act(.softmaxOutput)
        case "PRelu":
            guard let slope = b.ref(n.inputs.count > 1 ? n.inputs[1] : "", .vector) else { return unsupported("slope not stored") }
            return .layer(.prelu(alpha: slope), inputs: [x])
        case "MaxPool", "AveragePool":
            guard let kernel = ints("kernel_shape"), !kernel.isEmpty else { return unsupported("no kernel_shape") }
            let pads = ints("pads") ?? []
            let autoPad = n.attribute("auto_pad")?.string ?? "NOTSET"
            guard pads.allSatisfy({ $0 == 0 }), int("ceil_mode", 0) == 0, (ints("dilations") ?? []).allSatisfy({ $0 == 1 }),
                  autoPad == "NOTSET" || autoPad == "VALID" else {
                return unsupported("padding, ceil_mode or dilation")
            }
            let strides = ints("strides") ?? [Int](repeating: 1, count: kernel.count)
            return .layer(.pooling(n.opType == "MaxPool" ? .max : .average, pool: kernel, strides: strides, global: false), inputs: [x])
        case "GlobalAveragePool": return .layer(.pooling(.average, pool: [], strides: [], global: true), inputs: [x])
        case "GlobalMaxPool": return .layer(.pooling(.max, pool: [], strides: [], global: true), inputs: [x])
        case "Add", "Sum":
            if dataInputs.count == n.inputs.count, dataInputs.count >= 2 { return .layer(.add, inputs: dataInputs) }
            // data + constant vector right after a dense/conv with no bias: that layer's bias.
            if n.opType == "Add", dataInputs.count == 1, n.inputs.count == 2,
               let c = b.ref(n.inputs[0] == x ? n.inputs[1] : n.inputs[0], .vector),
               let producer = b.data[x], b.consumers[x] == 1 {
                let count = c.shape.reduce(1, *)
                switch b.nodes[producer].kind {
                case .dense(let k, nil):
                    let out = k.orientation == .outIn ? k.shape[0] : k.shape[1]
                    if count == out && c.shape.filter({ $0 != 1 }).count <= 1 { return .bias(producer: producer, c) }
                case .conv(let spec) where spec.bias == nil:
                    if count == spec.kernel.shape[0] && c.shape.filter({ $0 != 1 }).count <= 1 { return .bias(producer: producer, c) }
                default: break
                }
            }
            return unsupported("adds a constant")
        case "Concat":
            guard dataInputs.count == n.inputs.count, int("axis", 0) == 1 else { return unsupported("axis \(int("axis", 0)) or constant parts") }
            return .layer(.concatenate, inputs: dataInputs)
        case "Flatten":
            return .layer(.passThrough(int("axis", 1) == 1 ? "flatten" : "reshape"), inputs: [x])
        case "Reshape":
            guard onlyDataFirst, dataInputs.count == 1 else { return unsupported("data-dependent shape") }
            let target = b.shapeValue(n.inputs.count > 1 ? n.inputs[1] : "")
            return .layer(.passThrough(target.isFlattenTarget ? "flatten" : "reshape"), inputs: [x])
        case "Transpose", "Squeeze", "Unsqueeze":
            guard onlyDataFirst, dataInputs.count == 1 else { return unsupported("data-dependent axes") }
            return .layer(.passThrough(n.opType.lowercased()), inputs: [x])
        case "Slice":
            guard onlyDataFirst, dataInputs.count == 1 else { return unsupported("data-dependent bounds") }
            return .layer(.passThrough("slice"), inputs: [x])
        case "Pad":
            guard onlyDataFirst, dataInputs.count == 1, (n.attribute("mode")?.string ?? "constant") == "constant" else {
                return unsupported("mode \(n.attribute("mode")?.string ?? "?")")
            }
            return .layer(.passThrough("pad"), inputs: [x])
        default:
            return unsupported()
        }
    }

    static func conv(_ n: ONNXNode, _ b: ONNXGraphBuilder, x: String, unsupported: (String?) -> Placement) -> Placement {
        guard n.inputs.first == x, n.inputs.count >= 2, let w = b.ref(n.inputs[1], .convOIHW), (3...5).contains(w.shape.count) else {
            return unsupported("W is not a stored kernel")
        }
        let rank = w.shape.count - 2
        let kernel = Array(w.shape.dropFirst(2))
        let strides = n.attribute("strides")?.ints?.map { Int(clamping: $0) } ?? [Int](repeating: 1, count: rank)
        let dilations = n.attribute("dilations")?.ints?.map { Int(clamping: $0) } ?? []
        guard dilations.allSatisfy({ $0 == 1 }) else { return unsupported("dilations \(dilations)") }
        let pads = n.attribute("pads")?.ints?.map { Int(clamping: $0) } ?? [Int](repeating: 0, count: 2 * rank)
        let padding: String
        switch n.attribute("auto_pad")?.string ?? "NOTSET" {
        case "VALID": padding = "valid"
        case "SAME_UPPER": padding = "same"
        case "SAME_LOWER": padding = "explicit"
        default:
            if pads.allSatisfy({ $0 == 0 }) {
                padding = "valid"
            } else if pads.count == 2 * rank, strides.allSatisfy({ $0 == 1 }),
                      (0..<rank).allSatisfy({ kernel[$0] % 2 == 1 && pads[$0] == (kernel[$0] - 1) / 2 && pads[$0 + rank] == pads[$0] }) {
                padding = "same"
            } else {
                padding = "explicit"
            }
        }
        var bias: TensorRef?
        if n.inputs.count >= 3, !n.inputs[2].isEmpty {
            guard let c = b.ref(n.inputs[2], .vector) else { return unsupported("B is not stored") }
            bias = c
        }
        let group = Int(clamping: n.attribute("group")?.int ?? 1)
        return .layer(.conv(ConvSpec(spatialRank: rank, kernel: w, bias: bias, groups: group, strides: strides,
                                     padding: padding, depthwise: false)), inputs: [x])
    }

    static func subgraphRefs(_ graphs: [ONNXGraph], _ b: ONNXGraphBuilder) -> [TensorRef] {
        graphs.flatMap(\.allGraphs).flatMap { g in
            g.constants.values.sorted().compactMap { name in
                b.infos[name].map { TensorRef(name: $0.name, shape: $0.shape, orientation: .vector) }
            }
        }
    }
}
