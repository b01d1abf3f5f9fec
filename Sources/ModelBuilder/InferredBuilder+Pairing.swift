import SpectralModel
/// BatchNorm pairing, PReLU placement and node assembly of an inferred structure.
extension InferredBuilder {
    /// Operator groups in `order` (chain items that are operators).
    func operators(_ order: [Int]) -> [Int] { order.filter { groups[$0].shape != nil } }

    /// The operator a numbered module attaches to in a `Sequential` (`net.4` → the operator with
    /// the largest index below 4 under `net`), or nil when the name is not a bare index.
    func sequentialOwner(of layer: String, among ops: [Int]) -> Int? {
        guard let last = InferredNames.components(layer).last, last.allSatisfy(\.isNumber), let k = Int(last) else { return nil }
        let parent = InferredNames.parent(layer)
        let below = ops.compactMap { i -> (Int, Int)? in
            let name = groups[i].layer
            guard InferredNames.parent(name) == parent, let c = InferredNames.components(name).last,
                  c.allSatisfy(\.isNumber), let n = Int(c), n < k else { return nil }
            return (n, i)
        }
        return below.max { $0.0 < $1.0 }?.1
    }

    /// The group just before `g` in the file among non-buffer groups, when the file order is the
    /// model order used.
    func filePredecessor(_ g: Int, skippingBatchNorms: Bool) -> Int? {
        guard orderSource == "file" || (orderSource == nil && fileOrderIsModelOrder) else { return nil }
        var j = g - 1
        while j >= 0, groups[j].isBuffers || (skippingBatchNorms && groups[j].isBatchNorm) { j -= 1 }
        return j >= 0 ? j : nil
    }

    /// BatchNorm group → operator group. Ambiguities and contradictions set `issue`.
    mutating func pairBatchNorms(order: [Int]) -> [Int: Int] {
        let ops = operators(order)
        var pairs: [Int: Int] = [:]
        for b in groups.indices {
            guard case .batchNorm(_, let channels, let torch) = groups[b].kind else { continue }
            let name = groups[b].layer
            guesses.append(StructureGuess(kind: .epsilon, layer: name,
                                          detail: "BatchNorm '\(name)': epsilon assumed \(torch ? "1e-5 (PyTorch" : "1e-3 (Keras") default)"))
            func fits(_ i: Int) -> Bool { groups[i].shape?.fanOut == channels }
            func names(_ c: [Int]) -> String { c.map { "'\(groups[$0].layer)'" }.joined(separator: ", ") }
            var owner: Int?
            // 1. The name names the operator (read).
            if let base = InferredNames.batchNormBase(name) {
                var cands = ops.filter { groups[$0].layer == base }
                if cands.isEmpty { cands = ops.filter { InferredNames.parent(groups[$0].layer) == base } }
                if cands.count > 1 { cands = cands.filter(fits) }
                if cands.count == 1 {
                    if fits(cands[0]) {
                        owner = cands[0]
                    } else {
                        fail("BatchNorm '\(name)' is named after '\(groups[cands[0]].layer)' but normalises \(channels) channels where '\(groups[cands[0]].layer)' gives \(groups[cands[0]].shape!.fanOut); \(Self.manifestRemedy)")
                        continue
                    }
                } else if cands.count > 1 {
                    fail("BatchNorm '\(name)' could belong to \(names(cands)): more than one reading fits the shapes, so no bound; \(Self.manifestRemedy)")
                    continue
                }
            }
            // 2. `bnN`: the operator numbered N or the N-th operator of its parent, when they agree.
            if owner == nil, let (parent, n) = InferredNames.numberedBatchNorm(name) {
                // "The N-th operator" counts the numbered operators of the same parent in number
                // order, not a guessed chain order: `conv0…` with `bn1` is ambiguous, `conv1…` is not.
                let siblings = ops.filter { InferredNames.parent(groups[$0].layer) == parent && InferredNames.trailingNumber(groups[$0].layer) != nil }
                    .sorted { (InferredNames.trailingNumber(groups[$0].layer)!, groups[$0].layer) < (InferredNames.trailingNumber(groups[$1].layer)!, groups[$1].layer) }
                var cands = Set(siblings.filter { InferredNames.trailingNumber(groups[$0].layer) == n && fits($0) })
                if n >= 1, n <= siblings.count, fits(siblings[n - 1]) { cands.insert(siblings[n - 1]) }
                if cands.count == 1 {
                    owner = cands.first!
                    guesses.append(StructureGuess(kind: .pairing, layer: name,
                                                  detail: "BatchNorm '\(name)' paired with '\(groups[owner!].layer)' by its number \(n) (numbered \(n), or no. \(n) in layer order, with \(channels) outputs: one operator fits)"))
                } else if cands.count > 1 {
                    fail("BatchNorm '\(name)' could belong to \(names(cands.sorted())) (numbered \(n) vs the \(n)-th operator): more than one reading fits the shapes, so no bound; \(Self.manifestRemedy)")
                    continue
                }
            }
            // 3. Sequential index, then the operator it follows in a file kept in model order.
            if owner == nil, let s = sequentialOwner(of: name, among: ops), fits(s) {
                owner = s
                guesses.append(StructureGuess(kind: .pairing, layer: name,
                                              detail: "BatchNorm '\(name)' paired with '\(groups[s].layer)', the module before it in the Sequential numbering"))
            }
            if owner == nil, let p = filePredecessor(b, skippingBatchNorms: false), ops.contains(p), fits(p) {
                owner = p
                guesses.append(StructureGuess(kind: .pairing, layer: name,
                                              detail: "BatchNorm '\(name)' paired with '\(groups[p].layer)', which it follows in the file (whose order chains)"))
            }
            // 4. The only operator with its channel count.
            if owner == nil {
                let cands = ops.filter(fits)
                if cands.count == 1 {
                    owner = cands[0]
                    guesses.append(StructureGuess(kind: .pairing, layer: name,
                                                  detail: "BatchNorm '\(name)' paired with '\(groups[cands[0]].layer)', the only operator with \(channels) outputs"))
                } else if cands.isEmpty {
                    fail("BatchNorm '\(name)' normalises \(channels) channels but no operator gives \(channels) outputs; \(Self.manifestRemedy)")
                    continue
                } else {
                    fail("BatchNorm '\(name)' could belong to \(names(cands)) (its name names none of them): more than one reading fits the shapes, so no bound; \(Self.manifestRemedy)")
                    continue
                }
            }
            if let o = owner {
                if let other = pairs.first(where: { $0.value == o })?.key {
                    fail("BatchNorms '\(groups[other].layer)' and '\(name)' both pair with '\(groups[o].layer)': more than one reading fits the shapes, so no bound; \(Self.manifestRemedy)")
                    continue
                }
                pairs[b] = o
            }
        }
        return pairs
    }

    /// PReLU group → the operator it follows (by number, Sequential index or file position).
    mutating func placePReLUs(order: [Int]) -> [Int: Int] {
        let ops = operators(order)
        var placed: [Int: Int] = [:]
        for p in groups.indices {
            guard case .prelu(_, let count) = groups[p].kind else { continue }
            let name = groups[p].layer
            func fits(_ i: Int) -> Bool { count == 1 || groups[i].shape?.fanOut == count }
            var owner: Int?
            var how = ""
            if let n = InferredNames.trailingNumber(name), !InferredNames.components(name).last!.allSatisfy(\.isNumber) {
                let siblings = ops.filter { InferredNames.parent(groups[$0].layer) == InferredNames.parent(name) }
                var cands = Set(siblings.filter { InferredNames.trailingNumber(groups[$0].layer) == n && fits($0) })
                if n >= 1, n <= siblings.count, fits(siblings[n - 1]) { cands.insert(siblings[n - 1]) }
                if cands.count == 1 { owner = cands.first; how = "by its number \(n)" }
            }
            if owner == nil, let s = sequentialOwner(of: name, among: ops), fits(s) { owner = s; how = "by the Sequential numbering" }
            if owner == nil, let f = filePredecessor(p, skippingBatchNorms: true), ops.contains(f), fits(f) {
                owner = f
                how = "as it follows it in the file"
            }
            if owner == nil, let last = ops.last(where: { o in fits(o) && !placed.values.contains(o) }) {
                owner = last
                how = "for want of a better reading (its factor max(1, max|α|) multiplies the bound wherever it sits)"
            }
            guard let o = owner, !placed.values.contains(o) else {
                fail("PReLU '\(name)' (\(count) slopes) fits after no operator; \(Self.manifestRemedy)")
                continue
            }
            placed[p] = o
            guesses.append(StructureGuess(kind: .placement, layer: name, detail: "PReLU '\(name)' placed after '\(groups[o].layer)' \(how)"))
        }
        return placed
    }

    /// Nodes in model order: each operator, then its BatchNorm, then its PReLU or an assumed ReLU
    /// (not after the last operator); a flatten before a dense layer that follows a convolution.
    mutating func assemble(order: [Int], batchNorms: [Int: Int], prelus: [Int: Int]) -> NetworkGraph {
        var nodes = [Node(name: "input", kind: .input, inputs: [])]
        let bnOf = Dictionary(batchNorms.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a })
        let preluOf = Dictionary(prelus.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a })
        let lastOp = operators(order).last
        var previousConv: Int?
        var chainGuesses: [StructureGuess] = []
        func nodeKind(_ g: Group) -> NodeKind {
            switch g.kind {
            case .batchNorm(let spec, _, _): return .batchNorm(spec)
            case .op(let k, _), .embedding(let k): return k
            case .prelu(let a, _): return .prelu(alpha: a)
            case .recurrent(let cell, _): return .unsupported(className: cell.uppercased(), tensors: g.refs)
            case .buffers: return .parameterized(className: "buffers", tensors: g.refs)
            case .other: return .unsupported(className: "unrecognised", tensors: g.refs)
            }
        }
        for i in order {
            let g = groups[i]
            if let s = g.shape {
                if let channels = previousConv, !s.conv {
                    let name = g.layer + "/flatten"
                    nodes.append(Node(name: name, kind: .passThrough("flatten"), inputs: [nodes.count - 1]))
                    let positions = s.fanIn / max(channels, 1)
                    chainGuesses.append(StructureGuess(kind: .flatten, layer: name,
                                                       detail: positions == 1
                                                           ? "a flatten or global pooling (Lip ≤ 1) assumed before '\(g.layer)' (fan-in \(s.fanIn) = \(channels) channels)"
                                                           : "a flatten assumed before '\(g.layer)' (fan-in \(s.fanIn) = \(channels) channels × \(positions) positions)"))
                }
                previousConv = s.conv ? s.fanOut : nil
            }
            nodes.append(Node(name: g.layer, kind: nodeKind(g), inputs: [nodes.count - 1]))
            if let b = bnOf[i] {
                nodes.append(Node(name: groups[b].layer, kind: nodeKind(groups[b]), inputs: [nodes.count - 1]))
            }
            if let p = preluOf[i] {
                nodes.append(Node(name: groups[p].layer, kind: nodeKind(groups[p]), inputs: [nodes.count - 1]))
            } else if g.shape != nil, i != lastOp, !g.isRecurrent {
                // (An LSTM/GRU's output is its hidden state: no activation is assumed after it.)
                nodes[nodes.count - 1].activation = .relu
                nodes[nodes.count - 1].activationSource = "assumed"
                chainGuesses.append(StructureGuess(kind: .activation, layer: nodes[nodes.count - 1].name,
                                                   detail: "activation after '\(nodes[nodes.count - 1].name)' assumed relu (Lip 1)"))
            }
        }
        // BatchNorms and PReLUs that pair with nothing (the structure is then ambiguous) stay
        // visible as rows, outside the chain.
        for i in groups.indices where (groups[i].isBatchNorm && batchNorms[i] == nil) || (groups[i].isPReLU && prelus[i] == nil) {
            nodes.append(Node(name: groups[i].layer, kind: nodeKind(groups[i]), inputs: [nodes.count - 1]))
        }
        let outputs = [nodes.count - 1]
        for g in groups where g.isBuffers {
            nodes.append(Node(name: g.layer, kind: nodeKind(g), inputs: []))
        }
        if issue == nil { guesses += chainGuesses }
        var inputShape: [Int]?
        if let first = operators(order).first, let s = groups[first].shape, !s.conv { inputShape = [s.fanIn] }
        var graph = NetworkGraph(nodes: nodes, outputs: outputs, inputShape: inputShape, source: "inferred",
                                 assumptions: assumptions, structureIssue: issue)
        graph.guesses = guesses
        return graph
    }
}
