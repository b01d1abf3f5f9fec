import WeightFiles

extension NetworkGraph {
    /// Names that mark a model the chain model cannot describe (attention, normalisation layers,
    /// recurrent cells): when any appears, the inferred graph is not treated as a chain.
    static let nonChainMarkers = ["attn", "attention", "q_proj", "k_proj", "v_proj", "query", "key", "value",
                                  "layernorm", "layer_norm", "ln_", "norm.", "lstm", "gru", "rnn", "rotary",
                                  "wte", "wpe", "embed"]

    /// Infers a chain from PyTorch-style names (`fc1.weight`, `fc1.bias`, `bn.running_mean`, …)
    /// in file order, for files that carry no architecture. Every inference is recorded in
    /// `assumptions`; where the tensors do not form a chain, layers stay in the graph for
    /// per-operator metrics but the chain is marked broken (an `.unsupported` node explains why).
    public static func inferred(from tensors: [TensorInfo]) -> NetworkGraph {
        var assumptions: [String] = []
        var groups: [(layer: String, tensors: [TensorInfo])] = []
        var position: [String: Int] = [:]
        for t in tensors where t.role == .weights || t.role == .buffer {
            let layer = t.layer ?? layerName(of: t.name)
            if let p = position[layer] {
                groups[p].tensors.append(t)
            } else {
                position[layer] = groups.count
                groups.append((layer, [t]))
            }
        }
        var nodes: [Node] = [Node(name: "input", kind: .input, inputs: [])]
        var chainBreak: String?
        let lowerNames = tensors.map { $0.name.lowercased() }
        if let marker = nonChainMarkers.first(where: { m in lowerNames.contains { $0.contains(m) } }) {
            chainBreak = "tensor names suggest layers the chain model does not cover ('\(marker)'); pass --arch to describe the network"
        }
        var previousOut: Int?
        var lastOperatorIndex: Int?

        func variable(_ t: TensorInfo) -> String { t.variable ?? String(t.name.split(separator: ".").last ?? "") }

        for (layer, ts) in groups {
            func find(_ v: String) -> TensorInfo? { ts.first { variable($0) == v } }
            let refs = ts.map { TensorRef(name: $0.name, shape: $0.shape, orientation: .vector) }
            var kind: NodeKind
            if let mean = find("running_mean"), let variance = find("running_var") {
                let g = find("weight").map { TensorRef(name: $0.name, shape: $0.shape, orientation: .vector) }
                let b = find("bias").map { TensorRef(name: $0.name, shape: $0.shape, orientation: .vector) }
                kind = .batchNorm(BatchNormSpec(gamma: g, beta: b,
                                                mean: TensorRef(name: mean.name, shape: mean.shape, orientation: .vector),
                                                variance: TensorRef(name: variance.name, shape: variance.shape, orientation: .vector),
                                                epsilon: 1e-5))
                assumptions.append("layer '\(layer)': BatchNorm epsilon assumed 1e-5 (PyTorch default)")
            } else if let w = find("weight") ?? find("kernel"), w.shape.count >= 2, w.dtype.isFloatingPoint {
                let bias = (find("bias")).map { TensorRef(name: $0.name, shape: $0.shape, orientation: .vector) }
                if w.shape.count == 2 {
                    let rule: OrientationRule = w.orientation == .inOut ? .inOut : .outIn
                    let fanIn = rule == .outIn ? w.shape[1] : w.shape[0]
                    let fanOut = rule == .outIn ? w.shape[0] : w.shape[1]
                    if let prev = previousOut, prev != fanIn, chainBreak == nil {
                        if fanIn % prev == 0, lastOperatorIndex.map({ nodes[$0].kind.isConv }) == true {
                            nodes.append(Node(name: layer + "/flatten", kind: .passThrough("flatten"), inputs: [nodes.count - 1]))
                            assumptions.append("a flatten is assumed before '\(layer)' (fan-in \(fanIn) = \(prev) channels × \(fanIn / prev) positions)")
                        } else {
                            chainBreak = "layer '\(layer)' takes \(fanIn) inputs but the previous layer gives \(prev); the tensors do not form a chain (pass --arch)"
                        }
                    }
                    kind = .dense(kernel: TensorRef(name: w.name, shape: w.shape, orientation: rule), bias: bias)
                    previousOut = fanOut
                } else {
                    let rank = w.shape.count - 2
                    let rule: OrientationRule = w.orientation == .convHWIO ? .convHWIO : .convOIHW
                    let cin = rule == .convOIHW ? w.shape[1] : w.shape[w.shape.count - 2]
                    let cout = rule == .convOIHW ? w.shape[0] : w.shape[w.shape.count - 1]
                    if let prev = previousOut, prev != cin, chainBreak == nil {
                        chainBreak = "conv '\(layer)' takes \(cin) channels but the previous layer gives \(prev); pass --arch (grouped convolutions need it too)"
                    }
                    kind = .conv(ConvSpec(spatialRank: rank, kernel: TensorRef(name: w.name, shape: w.shape, orientation: rule),
                                          bias: bias, groups: 1, strides: [], padding: "same", depthwise: false))
                    previousOut = cout
                }
                if let last = lastOperatorIndex {
                    nodes[last].activation = .relu
                    nodes[last].activationSource = "assumed"
                    assumptions.append("activation after '\(nodes[last].name)' assumed relu (pass --arch to state it)")
                }
            } else if ts.allSatisfy({ !$0.dtype.isFloatingPoint }) {
                kind = .parameterized(className: "buffers", tensors: refs)
            } else {
                kind = .unsupported(className: "unrecognised", tensors: refs)
                if chainBreak == nil {
                    chainBreak = "tensors of '\(layer)' (\(ts.map { variable($0) }.joined(separator: ", "))) are not a layer the chain model knows; pass --arch"
                }
            }
            if case .parameterized(className: "buffers", _) = kind {
                nodes.append(Node(name: layer, kind: kind, inputs: []))
                continue
            }
            nodes.append(Node(name: layer, kind: kind, inputs: [nodes.count - 1]))
            if kind.isOperator { lastOperatorIndex = nodes.count - 1 }
        }
        var inputShape: [Int]?
        if let first = nodes.first(where: { $0.kind.isOperator }), case .dense(let k, _) = first.kind {
            inputShape = [k.orientation == .outIn ? k.shape[1] : k.shape[0]]
        }
        if groups.isEmpty == false {
            assumptions.insert("structure inferred from tensor names and shapes in file order", at: 0)
        }
        return NetworkGraph(nodes: nodes, outputs: [nodes.count - 1], inputShape: inputShape, source: "inferred",
                            assumptions: assumptions, structureIssue: chainBreak)
    }

    /// `encoder.layer.0.attention.self.query.weight` → `encoder.layer.0.attention.self.query`.
    static func layerName(of tensor: String) -> String {
        if let dot = tensor.lastIndex(of: ".") { return String(tensor[..<dot]) }
        if let slash = tensor.lastIndex(of: "/") { return String(tensor[..<slash]) }
        return tensor
    }
}

extension NodeKind {
    var isConv: Bool {
        if case .conv = self { return true }
        return false
    }
}
