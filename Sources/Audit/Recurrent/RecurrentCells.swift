import Foundation
import LinearAlgebra
import SpectralModel
import WeightFiles

/// One direction of one layer of a stored LSTM/GRU, as the horizon bound needs it: the gate
/// blocks' norms in the canonical gate names (LSTM i, f, g, o; GRU r, z, n).
struct RecurrentDirection {
    /// `l0`, `l0_reverse`, … (PyTorch), `forward`/`reverse` (ONNX), `cell` (Keras).
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
        let labels = cell == .lstm ? ["i", "f", "g", "o"] : ["r", "z", "n"]
        var n = RecurrentCellNorms(cell: cell, input: try gateNorms(wx, labels: labels), recurrent: try gateNorms(wh, labels: labels))
        if let projection { n.projection = try SVD.largestSingularValue(projection) }
        if cell == .gru {
            n.resetCoupling = resetAfter ? resetCoupling(wh, rowStart: 2 * (wh.rows / 3), bias: candidateBias) : n.recurrent["n"]!
        }
        return n
    }

    // MARK: PyTorch `nn.LSTM` / `nn.GRU` state dicts

    /// Every direction of a PyTorch module whose tensors are `refs` (`<prefix>.weight_ih_l0`…).
    static func pytorch(refs: [TensorRef], store: any TensorStore) throws -> [RecurrentDirection] {
        var byVariable: [String: TensorRef] = [:]
        for r in refs { byVariable[String(r.name.split(separator: ".").last ?? "")] = r }
        let suffixes = byVariable.keys.filter { $0.hasPrefix("weight_ih_") }.map { String($0.dropFirst("weight_ih_".count)) }
        guard !suffixes.isEmpty else { throw Unsupported(reason: "no weight_ih_l* tensor") }
        func layerIndex(_ s: String) -> Int { Int(s.dropFirst().prefix { $0.isNumber }) ?? 0 }
        let ordered = suffixes.sorted { (layerIndex($0), $0.hasSuffix("_reverse") ? 1 : 0) < (layerIndex($1), $1.hasSuffix("_reverse") ? 1 : 0) }
        var out: [RecurrentDirection] = []
        for s in ordered {
            guard let ih = byVariable["weight_ih_" + s], let hh = byVariable["weight_hh_" + s],
                  ih.shape.count == 2, hh.shape.count == 2, hh.shape[1] > 0 else {
                throw Unsupported(reason: "direction \(s) lacks a 2-D weight_hh_\(s)")
            }
            let hr = byVariable["weight_hr_" + s]
            let gatesTimesH = hh.shape[0]
            let h = hr?.shape[1] ?? hh.shape[1]
            guard h > 0, gatesTimesH % h == 0, ih.shape[0] == gatesTimesH else {
                throw Unsupported(reason: "weight_hh_\(s) \(hh.shape) does not stack gates of one hidden size")
            }
            let cell: RecurrentCellNorms.Cell
            switch gatesTimesH / h {
            case 4: cell = .lstm
            case 3 where hr == nil: cell = .gru
            default: throw Unsupported(reason: "weight_hh_\(s) \(hh.shape) stacks \(gatesTimesH / h) gates: not an LSTM (4) or GRU (3); plain RNNs have no horizon bound yet")
            }
            if let hr, hr.shape != [hh.shape[1], h] { throw Unsupported(reason: "weight_hr_\(s) \(hr.shape) is not [\(hh.shape[1]), \(h)]") }
            let wx = try load(store, ih.name, rows: ih.shape[0], cols: ih.shape[1])
            let wh = try load(store, hh.name, rows: hh.shape[0], cols: hh.shape[1])
            let proj = try hr.map { try load(store, $0.name, rows: $0.shape[0], cols: $0.shape[1]) }
            var bhn: [Double]?
            if cell == .gru, let b = byVariable["bias_hh_" + s] { bhn = Array(try store.loadFloat64(b.name)[(2 * h)..<(3 * h)]) }
            let norms = try norms(cell: cell, wx: wx, wh: wh, projection: proj, resetAfter: true, candidateBias: bhn)
            out.append(RecurrentDirection(name: s, layer: layerIndex(s), norms: norms))
        }
        return out
    }

    // MARK: Keras `LSTM` / `GRU` layers

    /// The single direction of a Keras LSTM/GRU layer (`kernel [in, G·u]`, `recurrent_kernel
    /// [u, G·u]`, `bias [G·u]` or GRU `reset_after` `[2, 3u]`).
    static func keras(className: String, refs: [TensorRef], store: any TensorStore, attributes: [String: String]) throws -> RecurrentDirection {
        let cell: RecurrentCellNorms.Cell = className == "LSTM" ? .lstm : .gru
        let act = attributes["activation"] ?? "tanh"
        let rec = attributes["recurrent_activation"] ?? "sigmoid"
        guard act == "tanh" else { throw Unsupported(reason: "activation '\(act)': the horizon bound uses |tanh| ≤ 1 and tanh' ≤ 1") }
        guard ["sigmoid", "hard_sigmoid"].contains(rec) else {
            throw Unsupported(reason: "recurrent_activation '\(rec)': the horizon bound needs gates in [0, 1] with slope ≤ 1/4 (sigmoid, hard_sigmoid)")
        }
        let infos = Dictionary(store.tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        func find(_ v: String) -> TensorRef? { refs.first { infos[$0.name]?.variable == v || $0.name.hasSuffix("/" + v) } }
        guard let k = find("kernel"), let rk = find("recurrent_kernel"), k.shape.count == 2, rk.shape.count == 2 else {
            throw Unsupported(reason: "no 2-D kernel and recurrent_kernel")
        }
        let g = cell == .lstm ? 4 : 3, u = rk.shape[0]
        guard u > 0, rk.shape[1] == g * u, k.shape[1] == g * u else {
            throw Unsupported(reason: "kernel \(k.shape) / recurrent_kernel \(rk.shape) are not [in, \(g)u] / [u, \(g)u]")
        }
        let from = cell == .lstm ? ["i", "f", "g", "o"] : ["z", "r", "n"]
        let to = cell == .lstm ? ["i", "f", "g", "o"] : ["r", "z", "n"]
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
