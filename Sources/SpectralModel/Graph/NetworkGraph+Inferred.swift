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
    /// `fileOrderIsModelOrder`: false for safetensors, whose writers sort tensors by dtype and
    /// name; layers are then put in natural name order (`layer.2` before `layer.10`) and each
    /// BatchNorm is moved after the operator it normalises (same channel count, same trailing
    /// number when there is one).
    public static func inferred(from tensors: [TensorInfo], fileOrderIsModelOrder: Bool = true) -> NetworkGraph {
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
        if !fileOrderIsModelOrder {
            groups = modelOrder(groups)
            assumptions.append("layer order: the file does not keep model order; layers sorted by name (numbers compared as numbers) and each BatchNorm placed after the operator it normalises")
        }
        var nodes: [Node] = [Node(name: "input", kind: .input, inputs: [])]
        var chainBreak: String?
        let lowerNames = tensors.map { $0.name.lowercased() }
        if let marker = nonChainMarkers.first(where: { m in lowerNames.contains { Self.has($0, m) } }) {
            chainBreak = "tensor names suggest layers the chain model does not cover ('\(marker)'); pass --arch to describe the network"
        }
        var previousOut: Int?
        var lastOperatorIndex: Int?
        /// The last operator or BatchNorm: an assumed activation goes after it.
        var lastChainNode: Int?

        func variable(_ t: TensorInfo) -> String { t.variable ?? String(t.name.split(separator: ".").last ?? "") }

        for (layer, ts) in groups {
            func find(_ v: String) -> TensorInfo? { ts.first { variable($0) == v } }
            let refs = ts.map { TensorRef(name: $0.name, shape: $0.shape, orientation: .vector) }
            var kind: NodeKind
            if let mean = find("running_mean") ?? find("moving_mean"), let variance = find("running_var") ?? find("moving_variance") {
                let torch = variable(mean) == "running_mean"
                let g = (find("weight") ?? find("gamma")).map { TensorRef(name: $0.name, shape: $0.shape, orientation: .vector) }
                let b = (find("bias") ?? find("beta")).map { TensorRef(name: $0.name, shape: $0.shape, orientation: .vector) }
                kind = .batchNorm(BatchNormSpec(gamma: g, beta: b,
                                                mean: TensorRef(name: mean.name, shape: mean.shape, orientation: .vector),
                                                variance: TensorRef(name: variance.name, shape: variance.shape, orientation: .vector),
                                                epsilon: torch ? 1e-5 : 1e-3))
                assumptions.append("layer '\(layer)': BatchNorm epsilon assumed \(torch ? "1e-5 (PyTorch" : "1e-3 (Keras") default)")
            } else if let w = find("weight") ?? find("embeddings"), w.shape.count == 2, w.dtype.isFloatingPoint,
                      ["embed", "wte", "wpe"].contains(where: { Self.has(layer.lowercased(), $0) }) || variable(w) == "embeddings" {
                // A lookup table [vocab, dim]: per-operator metrics; it breaks the chain (discrete input).
                kind = .embedding(table: TensorRef(name: w.name, shape: w.shape, orientation: .inOut))
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
                if let last = lastChainNode {
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
            if kind.isOperator || kind.isBatchNorm { lastChainNode = nodes.count - 1 }
        }
        if chainBreak != nil {
            // The chain is not used: assumptions about it would only mislead.
            assumptions.removeAll { $0.hasPrefix("activation after") || $0.hasPrefix("a flatten is assumed") }
        }
        var inputShape: [Int]?
        if let first = nodes.first(where: { $0.kind.isOperator }), case .dense(let k, _) = first.kind {
            inputShape = [k.orientation == .outIn ? k.shape[1] : k.shape[0]]
        }
        if groups.isEmpty == false {
            assumptions.insert("structure inferred from tensor names and shapes", at: 0)
        }
        return NetworkGraph(nodes: nodes, outputs: [nodes.count - 1], inputShape: inputShape, source: "inferred",
                            assumptions: assumptions, structureIssue: chainBreak)
    }

    /// Natural name order, then each BatchNorm group moved right after its operator.
    static func modelOrder(_ groups: [(layer: String, tensors: [TensorInfo])]) -> [(layer: String, tensors: [TensorInfo])] {
        var sorted = groups.sorted { naturalLess($0.layer, $1.layer) }
        func isBatchNorm(_ g: (layer: String, tensors: [TensorInfo])) -> Bool {
            g.tensors.contains { ["running_mean", "moving_mean"].contains($0.variable ?? "") }
        }
        func outChannels(_ g: (layer: String, tensors: [TensorInfo])) -> Int? {
            guard let w = g.tensors.first(where: { ($0.variable == "weight" || $0.variable == "kernel") && $0.shape.count >= 2 }) else { return nil }
            return (w.orientation == .inOut || w.orientation == .convHWIO) ? w.shape.last : w.shape.first
        }
        func trailingNumber(_ s: String) -> String { String(s.reversed().prefix { $0.isNumber }.reversed()) }
        for bn in sorted.filter(isBatchNorm) {
            let channels = bn.tensors.first { ["running_mean", "moving_mean"].contains($0.variable ?? "") }?.shape.first
            let candidates = sorted.filter { !isBatchNorm($0) && outChannels($0) == channels }
            let number = trailingNumber(bn.layer)
            guard let target = candidates.first(where: { !number.isEmpty && trailingNumber($0.layer) == number }) ?? candidates.first
            else { continue }
            sorted.removeAll { $0.layer == bn.layer }
            let at = (sorted.firstIndex { $0.layer == target.layer } ?? sorted.count - 1) + 1
            sorted.insert(bn, at: at)
        }
        return sorted
    }

    /// `layer.2` < `layer.10`: digit runs compare as numbers.
    static func naturalLess(_ a: String, _ b: String) -> Bool {
        func parts(_ s: String) -> [(String, Int?)] {
            var out: [(String, Int?)] = []
            var cur = ""
            var digits = false
            for c in s {
                if c.isNumber != digits && !cur.isEmpty {
                    out.append((cur, digits ? Int(cur) : nil))
                    cur = ""
                }
                digits = c.isNumber
                cur.append(c)
            }
            if !cur.isEmpty { out.append((cur, digits ? Int(cur) : nil)) }
            return out
        }
        let pa = parts(a), pb = parts(b)
        for (x, y) in zip(pa, pb) {
            if let nx = x.1, let ny = y.1, nx != ny { return nx < ny }
            if x.0 != y.0 { return x.0 < y.0 }
        }
        return pa.count < pb.count
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

    var isBatchNorm: Bool {
        if case .batchNorm = self { return true }
        return false
    }
}

extension NetworkGraph {
    /// Substring test on UTF-8 bytes (the standard library's `firstRange(of:)`). Foundation's
    /// `String.contains(_:)` goes through NSString (`range(of:)`) and made name scans of
    /// checkpoints with tens of thousands of tensors take seconds.
    static func has(_ text: String, _ needle: String) -> Bool {
        text.utf8.firstRange(of: needle.utf8) != nil
    }
}

