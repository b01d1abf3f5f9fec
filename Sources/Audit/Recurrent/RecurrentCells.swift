import Foundation
import LinearAlgebra
import ModelBuilder
import SpectralModel
import WeightFiles

/// One direction of one layer of a stored LSTM/GRU, as the horizon bound needs it: the gate
/// blocks' norms in the canonical gate names (LSTM i, f, g, o; GRU r, z, n).
struct RecurrentDirection {
    /// `l0`, `l0_reverse`, … (PyTorch modules), `forward`/`reverse` (ONNX), `cell` (Keras, PyTorch Cell modules).
    var name: String
    /// Index of the stacked layer (0 = reads the network input).
    var layer: Int
    var norms: RecurrentCellNorms
}

/// How a file's LSTM/GRU tensors become `RecurrentCellNorms` (issue 19). Reads tensor names,
/// shapes and values; knows the gate orders of each framework (see `RecurrentGateLayout`):
/// PyTorch rows i,f,g,o / r,z,n; Keras columns i,f,c,o / z,r,h; ONNX rows i,o,f,c / z,r,h.
enum RecurrentCells {
    struct Unsupported: Error { var reason: String }

    /// σ_max of each gate block of a row-stacked matrix `[G·h, cols]`, keyed by canonical name.
    static func gateNorms(_ m: Matrix, labels: [String]) throws -> [String: Double] {
        let h = m.rows / labels.count
        var out: [String: Double] = [:]
        for (k, label) in labels.enumerated() {
            let block = Matrix(rows: h, cols: m.cols, storage: Array(m.storage[(k * h * m.cols)..<((k + 1) * h * m.cols)]))
            out[label] = try SVD.largestSingularValue(block)
        }
        return out
    }

    /// ν = max_j Σ_k |W[j,k]| + |b[j]| for the candidate gate's recurrent block (rows
    /// `[2h, 3h)` of a row-stacked `[3h, h]` matrix in canonical order r, z, n) and its bias.
    static func resetCoupling(_ m: Matrix, rowStart: Int, bias: [Double]?) -> Double {
        let h = m.rows / 3
        var nu = 0.0
        for j in 0..<h {
            var s = bias.map { abs($0[j]) } ?? 0
            for k in 0..<m.cols { s += abs(m[rowStart + j, k]) }
            nu = max(nu, s)
        }
        return nu
    }

    /// Rows of `m` reordered from `from` gate order to `to` (both label lists of the same set).
    static func reorder(_ m: Matrix, from: [String], to: [String]) -> Matrix {
        let h = m.rows / from.count
        var storage: [Double] = []
        storage.reserveCapacity(m.storage.count)
        for label in to {
            let k = from.firstIndex(of: label)!
            storage += m.storage[(k * h * m.cols)..<((k + 1) * h * m.cols)]
        }
        return Matrix(rows: m.rows, cols: m.cols, storage: storage)
    }

    static func load(_ store: any TensorStore, _ name: String, rows: Int, cols: Int) throws -> Matrix {
        Matrix(rows: rows, cols: cols, storage: try store.loadFloat64(name))
    }

    /// Norms of one direction from row-stacked `[G·h, in]`, `[G·h, h']` matrices already in
    /// canonical gate order; `candidateBias`: b_hn (reset-after GRU), nil for reset-before.
    static func norms(cell: RecurrentCellNorms.Cell, wx: Matrix, wh: Matrix, projection: Matrix?,
                      resetAfter: Bool, candidateBias: [Double]?) throws -> RecurrentCellNorms {
        let labels = cell == .lstm ? ["i", "f", "g", "o"] : cell == .gru ? ["r", "z", "n"] : ["h"]
        var n = RecurrentCellNorms(cell: cell, input: try gateNorms(wx, labels: labels), recurrent: try gateNorms(wh, labels: labels))
        if let projection { n.projection = try SVD.largestSingularValue(projection) }
        if cell == .gru {
            let h = wh.rows / 3
            n.resetCoupling = resetAfter ? resetCoupling(wh, rowStart: 2 * h, bias: candidateBias) : n.recurrent["n"]!
            // ℓ∞ route: row ℓ1 norms of the recurrent blocks, row ℓ2 norms of the input blocks.
            func rowMax(_ m: Matrix, gate k: Int, _ f: (ArraySlice<Double>) -> Double) -> Double {
                (0..<h).map { j in f(m.storage[((k * h + j) * m.cols)..<((k * h + j + 1) * m.cols)]) }.max() ?? 0
            }
            let l1: (ArraySlice<Double>) -> Double = { $0.reduce(0) { $0 + abs($1) } }
            let l2: (ArraySlice<Double>) -> Double = { $0.reduce(0) { $0 + $1 * $1 }.squareRoot() }
            let nuInf = resetAfter ? n.resetCoupling : rowMax(wh, gate: 2, l1)
            let gammaH = rowMax(wh, gate: 2, l1) + nuInf * rowMax(wh, gate: 0, l1) / 4 + 2 * rowMax(wh, gate: 1, l1)
            let gammaX = rowMax(wx, gate: 2, l2) + nuInf * rowMax(wx, gate: 0, l2) / 4 + 2 * rowMax(wx, gate: 1, l2)
            n.infinityGains = (gammaH, gammaX, h)
        }
        return n
    }

    // MARK: PyTorch `nn.LSTM` / `nn.GRU` / `nn.RNN` and Cell state dicts

    /// The cell of a PyTorch direction from its shapes (`TorchRecurrentKey` names them): with
    /// `weight_hh` `[G·h, h']` (h' = h, or the projection p with `weight_hr` `[p, h]`),
    /// G = 4 → LSTM, 3 → GRU, 1 → plain RNN (no projection for the last two). Anything else, or a
    /// `weight_ih` whose rows differ, is refused with the shapes (never guessed).
    static func torchCell(_ key: TorchRecurrentKey, ih: TensorRef, hh: TensorRef, hr: TensorRef?) throws -> (RecurrentCellNorms.Cell, hidden: Int) {
        let hhName = key.with(.weightHH).variable
        guard ih.shape.count == 2, hh.shape.count == 2, hh.shape[1] > 0 else {
            throw Unsupported(reason: "direction \(key.direction) lacks a 2-D \(key.with(.weightIH).variable) / \(hhName)")
        }
        let h = hr?.shape.last ?? hh.shape[1]
        guard h > 0, ih.shape[1] > 0, hh.shape[0] % h == 0 else {
            throw Unsupported(reason: "\(hhName) \(hh.shape) does not stack gates of one hidden size")
        }
        guard ih.shape[0] == hh.shape[0] else {
            throw Unsupported(reason: "\(key.with(.weightIH).variable) \(ih.shape) and \(hhName) \(hh.shape) stack different numbers of rows")
        }
        switch (hh.shape[0] / h, hr == nil) {
        case (4, _): return (.lstm, h)
        case (3, true): return (.gru, h)
        case (1, true): return (.rnn, h)
        default:
            throw Unsupported(reason: "\(hhName) \(hh.shape) stacks \(hh.shape[0] / h) gates of \(h) rows\(hr == nil ? "" : " with a projection"): not an LSTM (4), GRU (3) or plain RNN (1)")
        }
    }

    /// Every direction of a PyTorch module whose tensors are `refs` (`<prefix>.weight_ih_l0`…,
    /// or a Cell module's `<prefix>.weight_ih`…, parsed by `TorchRecurrentKey`).
    static func pytorch(refs: [TensorRef], store: any TensorStore) throws -> [RecurrentDirection] {
        var byKey: [TorchRecurrentKey: TensorRef] = [:]
        for r in refs { if let k = TorchRecurrentKey(name: r.name) { byKey[k] = r } }
        let inputs = byKey.keys.filter { $0.role == .weightIH }
            .sorted { ($0.layer, $0.reverse ? 1 : 0) < ($1.layer, $1.reverse ? 1 : 0) }
        guard !inputs.isEmpty else { throw Unsupported(reason: "no weight_ih_l* (or Cell weight_ih) tensor") }
        var out: [RecurrentDirection] = []
        for key in inputs {
            guard let ih = byKey[key], let hh = byKey[key.with(.weightHH)] else {
                throw Unsupported(reason: "direction \(key.direction) lacks a 2-D \(key.with(.weightHH).variable)")
            }
            let hr = byKey[key.with(.weightHR)]
            let (cell, h) = try torchCell(key, ih: ih, hh: hh, hr: hr)
            if let hr, hr.shape != [hh.shape[1], h] { throw Unsupported(reason: "\(key.with(.weightHR).variable) \(hr.shape) is not [\(hh.shape[1]), \(h)]") }
            let wx = try load(store, ih.name, rows: ih.shape[0], cols: ih.shape[1])
            let wh = try load(store, hh.name, rows: hh.shape[0], cols: hh.shape[1])
            let proj = try hr.map { try load(store, $0.name, rows: $0.shape[0], cols: $0.shape[1]) }
            var bhn: [Double]?
            if cell == .gru, let b = byKey[key.with(.biasHH)] {
                let values = try store.loadFloat64(b.name)
                guard values.count == 3 * h else { throw Unsupported(reason: "\(key.with(.biasHH).variable) has \(values.count) values, not \(3 * h)") }
                bhn = Array(values[(2 * h)..<(3 * h)])
            }
            let norms = try norms(cell: cell, wx: wx, wh: wh, projection: proj, resetAfter: true, candidateBias: bhn)
            out.append(RecurrentDirection(name: key.direction, layer: key.layer, norms: norms))
        }
        return out
    }

    // MARK: Keras `LSTM` / `GRU` layers

    /// The single direction of a Keras LSTM/GRU/SimpleRNN layer (`kernel [in, G·u]`,
    /// `recurrent_kernel [u, G·u]`, `bias [G·u]` or GRU `reset_after` `[2, 3u]`; G = 1 for
    /// SimpleRNN, whose `activation` may be tanh or relu: the bound only uses φ' ≤ 1).
    static func keras(className: String, refs: [TensorRef], store: any TensorStore, attributes: [String: String]) throws -> RecurrentDirection {
        let cell: RecurrentCellNorms.Cell = className == "LSTM" ? .lstm : className == "GRU" ? .gru : .rnn
        let act = attributes["activation"] ?? "tanh"
        let rec = attributes["recurrent_activation"] ?? "sigmoid"
        if cell == .rnn {
            guard act == "tanh" || act == "relu" else { throw Unsupported(reason: "activation '\(act)': the horizon bound of a SimpleRNN needs a 1-Lipschitz tanh or relu") }
        } else {
            guard act == "tanh" else { throw Unsupported(reason: "activation '\(act)': the horizon bound uses |tanh| ≤ 1 and tanh' ≤ 1") }
        }
        guard cell == .rnn || ["sigmoid", "hard_sigmoid"].contains(rec) else {
            throw Unsupported(reason: "recurrent_activation '\(rec)': the horizon bound needs gates in [0, 1] with slope ≤ 1/4 (sigmoid, hard_sigmoid)")
        }
        let infos = Dictionary(store.tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        func find(_ v: String) -> TensorRef? { refs.first { infos[$0.name]?.variable == v || $0.name.hasSuffix("/" + v) } }
        guard let k = find("kernel"), let rk = find("recurrent_kernel"), k.shape.count == 2, rk.shape.count == 2 else {
            throw Unsupported(reason: "no 2-D kernel and recurrent_kernel")
        }
        let g = cell == .lstm ? 4 : cell == .gru ? 3 : 1, u = rk.shape[0]
        guard u > 0, k.shape[0] > 0, rk.shape[1] == g * u, k.shape[1] == g * u else {
            throw Unsupported(reason: "kernel \(k.shape) / recurrent_kernel \(rk.shape) are not [in, \(g)u] / [u, \(g)u]")
        }
        let from = cell == .lstm ? ["i", "f", "g", "o"] : cell == .gru ? ["z", "r", "n"] : ["h"]
        let to = cell == .lstm ? ["i", "f", "g", "o"] : cell == .gru ? ["r", "z", "n"] : ["h"]
        let wx = reorder(try load(store, k.name, rows: k.shape[0], cols: k.shape[1]).transposed(), from: from, to: to)
        let wh = reorder(try load(store, rk.name, rows: rk.shape[0], cols: rk.shape[1]).transposed(), from: from, to: to)
        let resetAfter = (attributes["reset_after"] ?? "true") == "true"
        var bhn: [Double]?
        if cell == .gru, resetAfter, let b = find("bias") {
            // reset_after: bias [2, 3u], row 1 the recurrent bias, columns z, r, h.
            let values = try store.loadFloat64(b.name)
            guard b.shape == [2, 3 * u] else { throw Unsupported(reason: "reset_after GRU bias \(b.shape) is not [2, \(3 * u)]") }
            bhn = Array(values[(3 * u + 2 * u)..<(6 * u)])
        }
        return RecurrentDirection(name: "cell", layer: 0,
                                  norms: try norms(cell: cell, wx: wx, wh: wh, projection: nil, resetAfter: resetAfter, candidateBias: bhn))
    }
}

// MARK: ONNX `LSTM` / `GRU` nodes

extension RecurrentCells {
    /// The directions of an ONNX `LSTM`/`GRU` node (opset 7–22): `W [D, G·h, in]`, `R [D, G·h, h]`,
    /// `B [D, 2·G·h]` (`Wb` then `Rb`), gate rows i,o,f,c (LSTM) or z,r,h (GRU); `direction`
    /// forward/reverse/bidirectional; GRU `linear_before_reset` 1 = the reset after the product.
    /// Refused: other activations, `input_forget=1`, non-zero peepholes `P` or stored initial
    /// states. `clip` is accepted (a clipped pre-activation keeps σ' ≤ 1/4, tanh' ≤ 1 and the
    /// gates' ranges). Returns the directions and notes for the report's assumptions.
    static func onnx(layer: String, attributes a: [String: String], store: any TensorStore) throws -> ([RecurrentDirection], [String]) {
        let op = a["onnx.op"] ?? ""
        let cell: RecurrentCellNorms.Cell = op == "LSTM" ? .lstm : .gru
        let g = cell == .lstm ? 4 : 3
        guard let wName = a["onnx.input.W"], let rName = a["onnx.input.R"], wName != "(computed)", rName != "(computed)" else {
            throw Unsupported(reason: "W or R is computed in the graph, not stored")
        }
        guard let w = store.tensors.first(where: { $0.name == wName }), let r = store.tensors.first(where: { $0.name == rName }),
              w.shape.count == 3, r.shape.count == 3, w.shape[0] == r.shape[0], r.shape[1] == g * r.shape[2], w.shape[1] == r.shape[1]
        else { throw Unsupported(reason: "W/R are not [D, \(g)h, in] / [D, \(g)h, h]") }
        let dirs = w.shape[0], h = r.shape[2], input = w.shape[2]
        guard h > 0, input > 0, dirs == 1 || dirs == 2 else { throw Unsupported(reason: "W \(w.shape) / R \(r.shape): empty, or not 1 or 2 directions") }
        let direction = a["direction"] ?? "forward"
        guard (direction == "bidirectional" ? 2 : 1) == dirs, ["forward", "reverse", "bidirectional"].contains(direction) else {
            throw Unsupported(reason: "direction '\(direction)' does not match W's \(dirs) directions")
        }
        let defaults = cell == .lstm ? ["Sigmoid", "Tanh", "Tanh"] : ["Sigmoid", "Tanh"]
        if let acts = a["activations"], acts.split(separator: ",").map(String.init) != Array([[String]](repeating: defaults, count: dirs).joined()) {
            throw Unsupported(reason: "activations \(acts): the horizon bound needs the default \(defaults.joined(separator: ","))")
        }
        if (a["input_forget"] ?? "0") != "0" { throw Unsupported(reason: "input_forget=1 couples the input and forget gates") }
        var notes: [String] = []
        for slot in ["P", "initial_h", "initial_c"] {
            guard let name = a["onnx.input." + slot] else { continue }
            if name == "(computed)" {
                if slot != "P" { notes.append("ONNX \(op) '\(layer)': \(slot) is computed in the graph (exporters expand a zero constant); the horizon bound assumes it is zero") }
                else { throw Unsupported(reason: "peepholes P are computed in the graph") }
                continue
            }
            guard try store.loadFloat64(name).allSatisfy({ $0 == 0 }) else {
                throw Unsupported(reason: slot == "P" ? "peephole weights P are not zero" : "stored \(slot) is not zero (the bound assumes zero initial states)")
            }
        }
        let wv = try store.loadFloat64(w.name), rv = try store.loadFloat64(r.name)
        let bv = try a["onnx.input.B"].flatMap { $0 == "(computed)" ? nil : try store.loadFloat64($0) }
        let from = cell == .lstm ? ["i", "o", "f", "g"] : ["z", "r", "n"]
        let to = cell == .lstm ? ["i", "f", "g", "o"] : ["r", "z", "n"]
        let resetAfter = (a["linear_before_reset"] ?? "0") != "0"
        var out: [RecurrentDirection] = []
        for d in 0..<dirs {
            let wx = reorder(Matrix(rows: g * h, cols: input, storage: Array(wv[(d * g * h * input)..<((d + 1) * g * h * input)])), from: from, to: to)
            let wh = reorder(Matrix(rows: g * h, cols: h, storage: Array(rv[(d * g * h * h)..<((d + 1) * g * h * h)])), from: from, to: to)
            var bhn: [Double]?
            if cell == .gru, resetAfter, let bv {
                guard bv.count == dirs * 6 * h else { throw Unsupported(reason: "B has \(bv.count) values, not \(dirs * 6 * h)") }
                bhn = Array(bv[(d * 6 * h + 5 * h)..<(d * 6 * h + 6 * h)])   // Rb_h
            }
            let name = dirs == 2 ? (d == 0 ? "forward" : "reverse") : direction
            out.append(RecurrentDirection(name: name, layer: 0,
                                          norms: try norms(cell: cell, wx: wx, wh: wh, projection: nil, resetAfter: resetAfter, candidateBias: bhn)))
        }
        return (out, notes)
    }
}
