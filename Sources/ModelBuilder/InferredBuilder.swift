import SpectralModel
import WeightFiles

/// The state of one structure inference (`NetworkGraph.inferred`); rules in its doc comment.
struct InferredBuilder {
    struct Group {
        var layer: String
        var tensors: [TensorInfo]
        var kind: Kind = .other

        enum Kind {
            case batchNorm(BatchNormSpec, channels: Int, torch: Bool)
            case op(NodeKind, InferredOrder.Shape)
            case embedding(NodeKind)
            case prelu(TensorRef, count: Int)
            /// `shape` (per-step features in → out) for LSTM/GRU modules, which chain through
            /// their horizon bound (issue 19); nil for other recurrent cells, which break it.
            case recurrent(cell: String, shape: InferredOrder.Shape?)
            case buffers
            case other
        }

        var shape: InferredOrder.Shape? {
            if case .op(_, let s) = kind { return s }
            if case .recurrent(_, let s) = kind { return s }
            return nil
        }
        var isBatchNorm: Bool {
            if case .batchNorm = kind { return true }
            return false
        }
        var isPReLU: Bool {
            if case .prelu = kind { return true }
            return false
        }
        var isRecurrent: Bool {
            if case .recurrent = kind { return true }
            return false
        }
        var isBuffers: Bool {
            if case .buffers = kind { return true }
            return false
        }
        var refs: [TensorRef] { tensors.map { TensorRef(name: $0.name, shape: $0.shape, orientation: .vector) } }
    }

    let tensors: [TensorInfo]
    let fileOrderIsModelOrder: Bool
    var groups: [Group] = []
    var guesses: [StructureGuess] = []
    var assumptions: [String] = []
    /// The first reason the layers do not form a chain the tool can bound.
    var issue: String?
    /// How the order was obtained: `file`, `name`, `search`, or nil (no operators / broken).
    var orderSource: String?

    init(tensors: [TensorInfo], fileOrderIsModelOrder: Bool) {
        self.tensors = tensors
        self.fileOrderIsModelOrder = fileOrderIsModelOrder
    }

    static let manifestRemedy = "state the structure with an --arch manifest (spectral-audit-formats(5)), or audit an ONNX export of the model (torch.onnx.export), whose graph is the structure"

    mutating func fail(_ why: String) {
        if issue == nil { issue = why }
    }

    func variable(_ t: TensorInfo) -> String { t.variable ?? String(t.name.split(separator: ".").last ?? "") }

    mutating func build() -> NetworkGraph {
        collectGroups()
        for i in groups.indices { groups[i].kind = classify(groups[i]) }
        for g in groups where !g.isBatchNorm && !g.isBuffers {
            switch g.kind {
            case .recurrent(_, let shape?) where shape.fanIn > 0: break
            case .recurrent, .embedding, .other: fail(breakReason(g))
            default: if let m = InferredNames.marker(in: g.layer) { fail(markerReason(layer: g.layer, component: m)) }
            }
        }
        let chain = groups.indices.filter { !groups[$0].isBatchNorm && !groups[$0].isPReLU && !groups[$0].isBuffers }
        let order = chooseOrder(chain)
        let pairs = pairBatchNorms(order: order)
        let prelus = placePReLUs(order: order)
        var graph = assemble(order: order, batchNorms: pairs, prelus: prelus)
        if !groups.isEmpty { graph.assumptions.insert("structure inferred from tensor names and shapes", at: 0) }
        return graph
    }

    // MARK: groups

    mutating func collectGroups() {
        var position: [String: Int] = [:]
        for t in tensors where (t.role == .weights || t.role == .buffer) && !InferredNames.isAnnotation(t.name) {
            let layer = t.layer ?? NetworkGraph.layerName(of: t.name)
            if let p = position[layer] {
                groups[p].tensors.append(t)
            } else {
                position[layer] = groups.count
                groups.append(Group(layer: layer, tensors: [t]))
            }
        }
    }

    func classify(_ g: Group) -> Group.Kind {
        let ts = g.tensors
        func find(_ v: String) -> TensorInfo? { ts.first { variable($0) == v } }
        func vec(_ t: TensorInfo) -> TensorRef { TensorRef(name: t.name, shape: t.shape, orientation: .vector) }
        if let mean = find("running_mean") ?? find("moving_mean"), let variance = find("running_var") ?? find("moving_variance") {
            let torch = variable(mean) == "running_mean"
            let spec = BatchNormSpec(gamma: (find("weight") ?? find("gamma")).map(vec), beta: (find("bias") ?? find("beta")).map(vec),
                                     mean: vec(mean), variance: vec(variance), epsilon: torch ? 1e-5 : 1e-3)
            return .batchNorm(spec, channels: mean.shape.first ?? 0, torch: torch)
        }
        let recurrentKeys = TorchRecurrentKey.keys(in: ts.map(\.name))
        if let anyKey = recurrentKeys.first {
            var byKey: [TorchRecurrentKey: TensorInfo] = [:]
            for t in ts { if let k = TorchRecurrentKey(name: t.name), byKey[k] == nil { byKey[k] = t } }
            func tensor(_ role: TorchRecurrentKey.Role, reverse: Bool = false) -> TensorInfo? {
                anyKey.at(layer: 0, reverse: reverse, role: role).flatMap { byKey[$0] }.flatMap { $0.shape.count == 2 ? $0 : nil }
            }
            let hh = tensor(.weightHH)
            var cell = "rnn"
            // With proj_size, weight_hh is [4h, p] and weight_hr_l* [p, h]: an LSTM.
            let hr = tensor(.weightHR)
            if let hh, let hr, hr.shape[1] > 0, hh.shape[0] == 4 * hr.shape[1] {
                cell = "lstm"
            } else if let hh, hh.shape[1] > 0, hh.shape[0] % hh.shape[1] == 0 {
                cell = [4: "lstm", 3: "gru"][hh.shape[0] / hh.shape[1]] ?? "rnn"
            }
            // Per-step features: in = weight_ih_l0's columns, out = directions × (proj or hidden).
            // A plain RNN (one gate) has a horizon bound too (issue 19).
            var shape: InferredOrder.Shape?
            if let ih0 = tensor(.weightIH), let hh, hh.shape[1] > 0, cell != "rnn" || hh.shape[0] == hh.shape[1] {
                let directions = tensor(.weightIH, reverse: true) != nil ? 2 : 1
                shape = InferredOrder.Shape(fanIn: ih0.shape[1], fanOut: directions * hh.shape[1], conv: false)
            }
            return .recurrent(cell: cell, shape: shape)
        }
        let floats = ts.filter { $0.dtype.isFloatingPoint }
        if floats.count == 1, let w = find("weight"), w.dtype.isFloatingPoint, w.shape.count <= 1,
           InferredNames.isPReLUName(g.layer) {
            return .prelu(vec(w), count: w.shape.first ?? 1)
        }
        let words = InferredNames.components(g.layer).flatMap { $0.lowercased().split(separator: "_").map(String.init) }
        if let w = find("weight") ?? find("embeddings"), w.shape.count == 2, w.dtype.isFloatingPoint,
           variable(w) == "embeddings" || words.contains(where: { ["embed", "embedding", "embeddings", "wte", "wpe"].contains($0) }) {
            return .embedding(.embedding(table: TensorRef(name: w.name, shape: w.shape, orientation: .inOut)))
        }
        if let w = find("weight") ?? find("kernel"), w.shape.count >= 2, w.dtype.isFloatingPoint {
            let bias = find("bias").map(vec)
            if w.shape.count == 2 {
                let rule: OrientationRule = w.orientation == .inOut ? .inOut : .outIn
                let fanIn = rule == .outIn ? w.shape[1] : w.shape[0]
                let fanOut = rule == .outIn ? w.shape[0] : w.shape[1]
                return .op(.dense(kernel: TensorRef(name: w.name, shape: w.shape, orientation: rule), bias: bias),
                           InferredOrder.Shape(fanIn: fanIn, fanOut: fanOut, conv: false))
            }
            let rule: OrientationRule = w.orientation == .convHWIO ? .convHWIO : .convOIHW
            let cin = rule == .convOIHW ? w.shape[1] : w.shape[w.shape.count - 2]
            let cout = rule == .convOIHW ? w.shape[0] : w.shape[w.shape.count - 1]
            let spec = ConvSpec(spatialRank: w.shape.count - 2, kernel: TensorRef(name: w.name, shape: w.shape, orientation: rule),
                                bias: bias, groups: 1, strides: [], padding: "same", depthwise: false)
            return .op(.conv(spec), InferredOrder.Shape(fanIn: cin, fanOut: cout, conv: true))
        }
        if ts.allSatisfy({ !$0.dtype.isFloatingPoint }) { return .buffers }
        return .other
    }

    func markerReason(layer: String, component: String) -> String {
        let what: String
        switch component {
        case let c where ["lstm", "gru", "rnn"].contains(where: { c.contains($0) }):
            what = "a recurrent cell, which has no global Lipschitz constant over an unbounded horizon"
        case let c where c.contains("norm") || c == "ln" || c.hasPrefix("ln_"):
            what = "a normalisation layer other than BatchNorm (LayerNorm/RMSNorm: its global constant max|γ|/√ε is meaningless)"
        default:
            what = "attention, which has no global Lipschitz constant (Kim, Papamakarios & Mnih 2021)"
        }
        return "layer '\(layer)' looks like \(what) (name component '\(component)'); its weight tensors are analysed one by one, "
            + "but no network bound exists for it in the operator-product model and no manifest type expresses it yet"
    }

    // MARK: order

    /// The chain items (operators and layers that break the chain) in model order.
    mutating func chooseOrder(_ chain: [Int]) -> [Int] {
        let natural = chain.sorted { NetworkGraph.naturalLess(groups[$0].layer, groups[$1].layer) }
        if let bad = chain.first(where: { groups[$0].shape == nil }) {
            fail(breakReason(groups[bad]))
            return fileOrderIsModelOrder ? chain : natural
        }
        let shapes = chain.map { groups[$0].shape! }
        guard chain.count > 1 else {
            orderSource = "file"
            return chain
        }
        // A file whose layers are stored sorted by name (safetensors writers sort) says nothing
        // about the model order, even when that order happens to chain (square layers).
        let sortedByName = zip(chain, chain.dropFirst()).allSatisfy { groups[$0].layer <= groups[$1].layer }
        if !sortedByName, InferredOrder.firstMismatch(shapes) == nil {
            orderSource = "file"
            assumptions.append("layer order: the file's own order (its operators chain shape-consistently)")
            return chain
        }
        let why = sortedByName ? "the file stores its tensors sorted by name, so its order says nothing"
                               : "the file's order does not chain (\(mismatch(chain) ?? "shape mismatch"))"
        let naturalShapes = natural.map { groups[$0].shape! }
        if InferredOrder.firstMismatch(naturalShapes) == nil {
            orderSource = "name"
            guesses.append(StructureGuess(kind: .order, layer: nil,
                                          detail: "layer order guessed: \(why); layers in name order, numbers compared as numbers"))
            return natural
        }
        let found = InferredOrder.search(naturalShapes)
        if let first = found.first {
            orderSource = "search"
            let order = first.map { natural[$0] }
            let others = found.exhausted ? "other orders may fit too" : (found.count > 1 ? "other orders fit too" : "it is the only one")
            guesses.append(StructureGuess(kind: .order, layer: nil,
                                          detail: "layer order guessed: \(why), and name order does not chain (\(mismatch(natural)!)); used the order closest to name order in which the shapes chain (\(others))"))
            return order
        }
        fail("the layers do not chain in the file's order, in name order or in any order of their shapes (\(mismatch(natural) ?? "shape mismatch")); "
             + "grouped convolutions, branches and skipped layers need the structure stated: \(Self.manifestRemedy)")
        return fileOrderIsModelOrder ? chain : natural
    }

    /// "'b' takes N inputs but 'a' gives M" for the first break of `seq`.
    func mismatch(_ seq: [Int]) -> String? {
        guard let k = InferredOrder.firstMismatch(seq.map { groups[$0].shape! }) else { return nil }
        let a = groups[seq[k - 1]], b = groups[seq[k]]
        return "'\(b.layer)' takes \(b.shape!.fanIn) \(b.shape!.conv ? "channels" : "inputs") but '\(a.layer)' gives \(a.shape!.fanOut)"
    }

    func breakReason(_ g: Group) -> String {
        let list = g.tensors.map { "\(variable($0)) \($0.shape)" }.joined(separator: ", ")
        switch g.kind {
        case .recurrent(let cell, _):
            return "layer '\(g.layer)' is a PyTorch \(cell.uppercased()) (recurrent cell): it has no global Lipschitz constant over an unbounded horizon, so the operator-product model gives no network bound; its matrices are analysed per tensor and per gate, and no manifest type expresses a recurrent cell yet"
        case .embedding:
            return "layer '\(g.layer)' is an embedding (a lookup on discrete tokens): a network fed by tokens has no Lipschitz bound in its input; its table is analysed as a tensor"
        default:
            return "tensors of '\(g.layer)' (\(list)) are not a layer the name inference knows (no running statistics, no ≥ 2-D weight, no PReLU name); its ≥ 2-D tensors are analysed one by one. If it is a layer the manifest can express (dense, conv, batch_norm, prelu, activation, pooling, add, concatenate…), \(Self.manifestRemedy); otherwise no network bound is available"
        }
    }
}
