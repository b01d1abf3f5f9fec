import SpectralModel
import WeightFiles

extension NetworkGraph {
    /// Builds the network from an ONNX file's main graph (`source` = `onnx_graph`), the way
    /// `fromKeras` reads a Keras config. Values are classified in node order (ONNX graphs are
    /// topologically sorted): a value is *data* when it depends on a graph input; initializers,
    /// `Constant` outputs (and `Identity` of them) are weights; nodes reading no data — and
    /// `Shape`, which reads only its input's shape — are folded (`ONNXShapeValue`), not layers.
    ///
    /// Data nodes become layers: `Gemm` (transA = 0, alpha = 1; transB picks `out_in`/`in_out`;
    /// C the bias, beta = 1) and `MatMul` by a constant matrix (`in_out`) → dense, a following
    /// `Add` of a constant vector folded in as its bias (also after `Conv`); `Conv` (OIHW, group,
    /// strides; pads all 0 → `valid`, symmetric (k−1)/2 at stride 1 or `auto_pad` SAME_UPPER →
    /// `same`, other pads → `explicit`; dilations ≠ 1 are not placed); `BatchNormalization`
    /// (folded into a directly preceding conv/dense by the analysis); activations (`Relu`,
    /// `LeakyRelu`, `Sigmoid`, `Tanh`, `Elu`, `Selu`, `Softplus`, `Softsign`, `HardSigmoid`,
    /// `HardSwish`, `Gelu`, `Mish`, `Softmax`, `PRelu`); `MaxPool`/`AveragePool` without padding,
    /// ceil mode or dilation, `GlobalAveragePool`/`GlobalMaxPool`; `Add`/`Sum` of data (residual);
    /// `Concat` on axis 1; `Flatten` (axis 1) and `Reshape` to `[batch, -1]`-like targets →
    /// flatten; other `Reshape`s, `Transpose`, `Squeeze`, `Unsqueeze`, `Slice`, constant `Pad`
    /// (maps of Lipschitz constant ≤ 1) → pass-through; `Identity`, `Dropout` → identity.
    /// Any other op on data (and every control-flow op: `If`, `Loop`, `Scan`) becomes an
    /// `unsupported` layer named after the node, carrying the weights it reads — the network
    /// bound then names that node and op; every other layer is still analysed.
    /// `load` reads an integer constant's values (for `Reshape` targets); nil when unreadable.
    public static func fromONNX(_ summary: ONNXGraphSummary, tensors: [TensorInfo],
                                load: @escaping (String) -> [Double]?) -> NetworkGraph {
        var b = ONNXGraphBuilder(graph: summary.graph, tensors: tensors, load: load)
        b.build()
        var assumptions = b.assumptions
        if let opset = summary.opset { assumptions.insert("ONNX graph, opset \(opset)", at: 0) }
        return NetworkGraph(nodes: b.nodes, outputs: b.outputs, inputShape: b.inputShape, source: "onnx_graph",
                            assumptions: assumptions)
    }
}

/// The state of one `fromONNX` build.
struct ONNXGraphBuilder {
    let graph: ONNXGraph
    let infos: [String: TensorInfo]
    let load: (String) -> [Double]?
    var nodes: [Node] = []
    var outputs: [Int] = []
    var inputShape: [Int]?
    var assumptions: [String] = []
    /// Data value → index of the layer producing it.
    var data: [String: Int] = [:]
    /// Weight value → stored tensor.
    var weights: [String: TensorInfo] = [:]
    /// Folded non-data values.
    var folded: [String: ONNXShapeValue] = [:]
    /// How many nodes read each value (bias folding needs a single consumer).
    var consumers: [String: Int] = [:]
    var usedNames: Set<String> = []
    /// Inside a subgraph: the layer of the control-flow node that owns it; values from the
    /// enclosing scope and the subgraph's own inputs are data produced by that layer.
    var owner: Int?
    /// Prefix of layer names inside a subgraph (`<path>/`).
    var namePrefix = ""

    init(graph: ONNXGraph, tensors: [TensorInfo], load: @escaping (String) -> [Double]?) {
        self.graph = graph
        var infos: [String: TensorInfo] = [:]
        for t in tensors { infos[t.name] = t }
        self.infos = infos
        self.load = load
        for (value, stored) in graph.constants { if let t = infos[stored] { weights[value] = t } }
        for n in graph.nodes { for i in n.inputs where !i.isEmpty { consumers[i, default: 0] += 1 } }
        for o in graph.outputs { consumers[o.name, default: 0] += 1 }
    }

    mutating func build() {
        for input in graph.inputs where weights[input.name] == nil {
            data[input.name] = append(Node(name: input.name, kind: .input, inputs: []))
            if inputShape == nil, let shape = input.shape, shape.count >= 2 {
                let dims = shape.dropFirst().map { d -> Int in if case .value(let v) = d, v > 0, v < Int64(Int32.max) { return Int(v) }; return -1 }
                if dims.allSatisfy({ $0 > 0 }) { inputShape = Array(dims) }
            }
        }
        for node in graph.nodes { place(node) }
        outputs = graph.outputs.compactMap { data[$0.name] }
        if outputs.isEmpty, !nodes.isEmpty { outputs = [nodes.count - 1] }
    }

    @discardableResult
    mutating func append(_ node: Node) -> Int {
        var node = node
        var name = node.name
        var k = 1
        while usedNames.contains(name) { k += 1; name = "\(node.name)#\(k)" }
        usedNames.insert(name)
        node.name = name
        nodes.append(node)
        return nodes.count - 1
    }

    func ref(_ value: String, _ rule: OrientationRule) -> TensorRef? {
        guard let t = weights[value] else { return nil }
        return TensorRef(name: t.name, shape: t.shape, orientation: rule)
    }

    /// A folded integer constant or shape computation.
    func shapeValue(_ value: String) -> ONNXShapeValue {
        if let f = folded[value] { return f }
        if let t = weights[value], !t.dtype.isFloatingPoint, t.elementCount <= 64, let v = load(t.name) {
            return .list(v.map { .known(Int64($0)) })
        }
        return .opaque
    }

    mutating func place(_ node: ONNXNode) {
        if let owner {
            // Outer-scope values not known here are the control-flow node's data.
            for i in node.inputs where !i.isEmpty && data[i] == nil && weights[i] == nil && folded[i] == nil { data[i] = owner }
        }
        let dataInputs = node.inputs.filter { !$0.isEmpty && data[$0] != nil }
        if node.opType == "Shape" || dataInputs.isEmpty {
            fold(node)
            return
        }
        let x = data[dataInputs[0]]!
        let kind = ONNXOpMapping.kind(node, builder: self, dataInputs: dataInputs)
        switch kind {
        case .alias:
            for o in node.outputs where !o.isEmpty { data[o] = x }
        case .bias(let producer, let bias):
            if case .dense(let k, nil) = nodes[producer].kind {
                nodes[producer].kind = .dense(kernel: k, bias: bias)
            } else if case .conv(var c) = nodes[producer].kind {
                c.bias = bias
                nodes[producer].kind = .conv(c)
            }
            for o in node.outputs where !o.isEmpty { data[o] = producer }
        case .layer(let k, let inputs):
            let i = append(Node(name: namePrefix + node.name, kind: k, inputs: inputs.map { data[$0]! }))
            if node.qualifiedOpType == "LSTM" || node.qualifiedOpType == "GRU" { nodes[i].attributes = recurrentAttributes(node) }
            for o in node.outputs where !o.isEmpty { data[o] = i }
            if case .unsupported(let cls, let refs) = k { placeSubgraphs(of: node, at: i, className: cls, refs: refs) }
        }
    }

    /// Issue 19: an ONNX `LSTM`/`GRU` node's scalar attributes by their ONNX names (strings lists
    /// joined by `,`) and, as `onnx.input.<slot>`, the stored tensor in each input slot (`W`, `R`,
    /// `B`, `sequence_lens`, `initial_h`, `initial_c`, `P`), or `(computed)` when the graph
    /// computes it — for the horizon bound, which must know which matrix is which.
    func recurrentAttributes(_ n: ONNXNode) -> [String: String] {
        var a: [String: String] = ["onnx.op": n.opType]
        for attr in n.attributes {
            switch attr.value {
            case .int(let v): a[attr.name] = String(v)
            case .float(let v): a[attr.name] = String(v)
            case .string(let v): a[attr.name] = v
            case .strings(let v): a[attr.name] = v.joined(separator: ",")
            case .floats(let v): a[attr.name] = v.map { String($0) }.joined(separator: ",")
            default: a[attr.name] = "(unsupported attribute type)"
            }
        }
        for (k, slot) in ["X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"].enumerated()
        where k > 0 && k < n.inputs.count && !n.inputs[k].isEmpty {
            a["onnx.input." + slot] = weights[n.inputs[k]]?.name ?? "(computed)"
        }
        return a
    }

    /// The layers of a control-flow node's subgraphs (`If` branches, `Loop`/`Scan` bodies) are
    /// placed after it, fed by it (the subgraph's inputs; outer-scope values keep their producer),
    /// named `<path>/<node>`: they get their per-layer spectra while the
    /// network bound stops at the control-flow node. The node keeps the subgraph tensors no
    /// subgraph layer reads.
    mutating func placeSubgraphs(of node: ONNXNode, at index: Int, className: String, refs: [TensorRef]) {
        var subgraphs: [ONNXGraph] = []
        for a in node.attributes {
            if case .graph(let g) = a.value { subgraphs.append(g) }
            if case .graphs(let gs) = a.value { subgraphs += gs }
        }
        guard !subgraphs.isEmpty else { return }
        let first = nodes.count
        for g in subgraphs {
            let saved = (data, weights, folded, owner, namePrefix)
            owner = index
            namePrefix = g.path + "/"
            for input in g.inputs { data[input.name] = index }
            for (value, stored) in g.constants { if let t = infos[stored] { weights[value] = t } }
            for n in g.nodes { for i in n.inputs where !i.isEmpty { consumers[i, default: 0] += 1 } }
            for n in g.nodes { place(n) }
            (data, weights, folded, owner, namePrefix) = saved
        }
        let used = Set(nodes[first...].flatMap { $0.tensors.map(\.name) })
        nodes[index].kind = .unsupported(className: className, tensors: refs.filter { !used.contains($0.name) })
    }

    mutating func fold(_ node: ONNXNode) {
        let value: ONNXShapeValue
        if node.opType == "Shape" {
            let hasRange = node.attribute("start") != nil || node.attribute("end") != nil
            value = hasRange ? .opaque : .shapeOf
        } else if node.opType == "Identity", let w = weights[node.inputs.first ?? ""], let out = node.outputs.first {
            weights[out] = w
            return
        } else {
            value = ONNXShapeValue.fold(node, inputs: node.inputs.map { shapeValue($0) })
        }
        for o in node.outputs where !o.isEmpty && weights[o] == nil { folded[o] = value }
    }
}
