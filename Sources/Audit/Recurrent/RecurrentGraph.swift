import Foundation
import ModelBuilder
import SpectralModel
import WeightFiles

/// Places LSTM/GRU/RNN layers on the forward engine for the data audit (issue 19): each
/// recurrent node of a graph (kept `.unsupported` for the weights-only audit, which bounds it by
/// its horizon bound) becomes a `.parameterized("Recurrent", …)` node whose attributes say where
/// each weight block of the file is and how it is laid out (`RecurrentOp+Build.swift` lists them):
/// - PyTorch `nn.LSTM`/`nn.GRU`/`nn.RNN` state dicts (`weight_ih_l<k>[_reverse]`, `weight_hh_…`,
///   `bias_ih_…`, `bias_hh_…`, `weight_hr_…`) and `nn.LSTMCell`/`nn.GRUCell`/`nn.RNNCell` ones
///   (`weight_ih`, `weight_hh`, `bias_ih`, `bias_hh`), names parsed by `TorchRecurrentKey`: rows,
///   gates i,f,g,o / r,z,n / h; all stacked layers. Output: every step's state when the module
///   is the network's output (what the module returns; for a Cell, what a loop collecting h over
///   the sequence returns); the last layer's final state(s) when other layers follow
///   (`fc(h_n[-1])`), stated in the report's assumptions. `nn.RNN`'s nonlinearity is not in the
///   file: `--rnn-nonlinearity` (tanh by default, stated).
/// - Keras `LSTM`/`GRU`/`SimpleRNN`: kernels `[in, G·u]` (columns), gates i,f,c,o / z,r,h / h,
///   bias `[G·u]` or GRU `reset_after` `[2, 3u]` (input row, recurrent row); `return_sequences`
///   decides the output; SimpleRNN's `activation` (tanh or relu) from the config.
/// - ONNX `LSTM`/`GRU`: `W [D, G·h, F]`, `R [D, G·h, h]`, `B [D, 2·G·h]`, gates i,o,f,c / z,r,h;
///   output `Y` (every step, `[T, D, 1, h]` = our `[T, D·h]`).
/// The input is the probes' `[T, F]` sample read time-major and flat (`inputShape = [T·F]`), so
/// that no channels-first permutation applies to a sequence.
public enum RecurrentGraph {
    /// The graph with its recurrent nodes rewritten (unchanged when it has none), and notes.
    public static func forData(_ graph: NetworkGraph, store: any TensorStore, probeShape: [Int],
                               rnnNonlinearity: RNNNonlinearity? = nil) throws -> (NetworkGraph, [String]) {
        var g = graph, notes: [String] = []
        var rewritten = false
        for (i, node) in graph.nodes.enumerated() {
            guard case .unsupported(let cls, let refs) = node.kind else { continue }
            let isOutput = graph.outputs.contains(i)
            var a: [String: String]
            do {
                if graph.source == "keras_config", ["LSTM", "GRU", "SimpleRNN"].contains(cls) {
                    a = try keras(cls, node: node, refs: refs, store: store)
                } else if graph.source == "onnx_graph", let op = node.attributes["onnx.op"], op == "LSTM" || op == "GRU" {
                    a = try onnx(node: node, store: store)
                    if !isOutput {
                        // torch.onnx's tail after Y [T, D, 1, h]: Transpose(0,2,1,3) + Reshape, or
                        // Squeeze: with a batch of 1 the identity on the values.
                        var j = i, chain: [Int] = []
                        while let next = singleConsumer(graph, j), case .passThrough(let w) = graph.nodes[next].kind,
                              ["transpose", "reshape", "squeeze", "unsqueeze"].contains(w) {
                            chain.append(next)
                            j = next
                        }
                        guard !chain.isEmpty, graph.outputs.contains(j) else {
                            throw RecurrentCells.Unsupported(reason: "an ONNX \(op) whose output Y feeds further computing nodes (only a recurrent output, possibly through the exporter's Transpose/Reshape/Squeeze, is placed on the engine)")
                        }
                        for c in chain { g.nodes[c].kind = .passThrough("identity") }
                        a["recurrent.flat_output"] = "true"
                        notes.append("ONNX \(op) '\(node.name)': the shape nodes after its output Y [T, D, 1, h] (\(chain.map { graph.nodes[$0].name }.joined(separator: ", "))) are the identity on the values of one sequence (batch 1): the output is every step's [D·h]")
                    }
                } else if !TorchRecurrentKey.keys(in: refs.map(\.name)).isEmpty {
                    a = try pytorch(refs: refs, isOutput: isOutput, layer: node.name, rnnNonlinearity: rnnNonlinearity)
                } else { continue }
            } catch let e as RecurrentCells.Unsupported {
                throw ForwardModelError("layer '\(node.name)': \(e.reason)", kind: .unsupported)
            }
            if let n = a["recurrent.note"] { notes.append(n); a["recurrent.note"] = nil }
            g.nodes[i].kind = .parameterized(className: "Recurrent", tensors: refs)
            g.nodes[i].attributes = a
            g.nodes[i].activation = nil
            rewritten = true
        }
        if rewritten {
            let n = probeShape.reduce(1, *)
            g.inputShape = [n]
            notes.append("recurrent network: each probe \(probeShape) is read as a time-major sequence of \(probeShape.last ?? n)-feature steps (\(n) values)")
        }
        return (g, notes)
    }

    /// The only node reading node `i`'s output, when there is exactly one.
    static func singleConsumer(_ graph: NetworkGraph, _ i: Int) -> Int? {
        let readers = graph.nodes.indices.filter { graph.nodes[$0].inputs.contains(i) }
        return readers.count == 1 ? readers[0] : nil
    }

    /// A PyTorch module's (or Cell module's) attributes; names parsed by `TorchRecurrentKey`, the
    /// cell from the shapes (`RecurrentCells.torchCell`). A plain RNN runs `rnnNonlinearity`
    /// (tanh when nil: PyTorch's default; a state dict does not store it, so the note says which).
    static func pytorch(refs: [TensorRef], isOutput: Bool, layer: String, rnnNonlinearity: RNNNonlinearity?) throws -> [String: String] {
        var byKey: [TorchRecurrentKey: TensorRef] = [:]
        for r in refs { if let k = TorchRecurrentKey(name: r.name) { byKey[k] = r } }
        guard let any = byKey.keys.first(where: { $0.role == .weightIH && $0.layer == 0 && !$0.reverse }),
              let ih0 = byKey[any], let hh0 = byKey[any.with(.weightHH)] else {
            throw RecurrentCells.Unsupported(reason: "no weight_ih_l0 / weight_hh_l0 (or Cell weight_ih / weight_hh)")
        }
        let hr0 = byKey[any.with(.weightHR)]
        let (kind, hidden) = try RecurrentCells.torchCell(any, ih: ih0, hh: hh0, hr: hr0)
        var notes: [String] = []
        let cell: String
        switch kind {
        case .lstm: cell = "lstm"
        case .gru: cell = "gru"
        case .rnn:
            let phi = rnnNonlinearity ?? .tanh
            cell = "rnn_" + phi.rawValue
            notes.append("PyTorch plain RNN '\(layer)': the nonlinearity is not stored in a state dict; \(phi.rawValue) \(rnnNonlinearity == nil ? "assumed (PyTorch's default; --rnn-nonlinearity relu for nonlinearity='relu')" : "as given by --rnn-nonlinearity")")
        }
        var a: [String: String] = ["recurrent.cell": cell, "recurrent.hidden": "\(hidden)", "recurrent.gate_order": kind == .lstm ? "ifgo" : kind == .gru ? "rzn" : "h",
                                   "recurrent.output": isOutput ? "sequence" : "final_state", "recurrent.reset_after": "true"]
        if let hr0 { a["recurrent.projection"] = "\(hr0.shape[0])" }
        var layers = 0
        while let k = any.at(layer: layers, reverse: false, role: .weightIH), byKey[k] != nil { layers += 1 }
        a["recurrent.layers"] = "\(layers)"
        for k in 0..<layers {
            let dirs = any.at(layer: k, reverse: true, role: .weightIH).flatMap { byKey[$0] } != nil ? 2 : 1
            guard let ihKey = any.at(layer: k, reverse: false, role: .weightIH), let ih = byKey[ihKey], ih.shape.count == 2 else {
                throw RecurrentCells.Unsupported(reason: "\(any.at(layer: k, reverse: false, role: .weightIH)?.variable ?? "weight_ih") is not 2-D")
            }
            a["recurrent.l\(k).features"] = "\(ih.shape[1])"
            a["recurrent.l\(k).directions"] = "\(dirs)"
            for d in 0..<dirs {
                for role in TorchRecurrentKey.Role.allCases {
                    if let key = any.at(layer: k, reverse: d == 1, role: role), let r = byKey[key] { a["recurrent.l\(k).d\(d).\(role.rawValue)"] = r.name }
                }
            }
        }
        let what = "PyTorch \(kind.rawValue.uppercased())\(any.isCell ? "Cell" : "") '\(layer)'"
        if any.isCell {
            notes.append("\(what): a Cell module, unrolled over the probe's T steps from a zero state as a loop over the sequence would apply it\(isOutput ? ", returning every step's h" : "; the layers after it read the last step's h")")
        } else if !isOutput {
            notes.append("\(what): the layers after it read its last layer's final hidden state(s) (h_n; both directions concatenated), as in fc(h_n[-1])")
        }
        if !notes.isEmpty { a["recurrent.note"] = notes.joined(separator: "; ") }
        return a
    }

    static func keras(_ cls: String, node: Node, refs: [TensorRef], store: any TensorStore) throws -> [String: String] {
        let at = node.attributes
        for (key, bad) in [("stateful", "true"), ("go_backwards", "true"), ("unroll", "__never")] where at[key] == bad {
            throw RecurrentCells.Unsupported(reason: "\(key)=\(bad)")
        }
        let act = at["activation"] ?? "tanh", rec = at["recurrent_activation"] ?? "sigmoid"
        let simple = cls == "SimpleRNN"
        guard act == "tanh" || (simple && act == "relu") else { throw RecurrentCells.Unsupported(reason: "activation '\(act)'") }
        guard simple || rec == "sigmoid" else { throw RecurrentCells.Unsupported(reason: "recurrent_activation '\(rec)' (the engine runs sigmoid gates)") }
        let infos = Dictionary(store.tensors.map { ($0.name, $0) }, uniquingKeysWith: { x, _ in x })
        func find(_ v: String) -> TensorRef? { refs.first { infos[$0.name]?.variable == v || $0.name.hasSuffix("/" + v) } }
        guard let k = find("kernel"), let rk = find("recurrent_kernel"), k.shape.count == 2, rk.shape.count == 2 else {
            throw RecurrentCells.Unsupported(reason: "no 2-D kernel and recurrent_kernel")
        }
        let u = rk.shape[0]
        let cell = cls == "LSTM" ? "lstm" : cls == "GRU" ? "gru" : "rnn_" + act
        var a: [String: String] = ["recurrent.cell": cell, "recurrent.hidden": "\(u)", "recurrent.layers": "1",
                                   "recurrent.gate_order": cls == "LSTM" ? "ifgo" : cls == "GRU" ? "zrn" : "h", "recurrent.orientation": "columns",
                                   "recurrent.output": at["return_sequences"] == "true" ? "sequence" : "final_state",
                                   "recurrent.reset_after": (at["reset_after"] ?? "true") == "true" || cls != "GRU" ? "true" : "false",
                                   "recurrent.l0.features": "\(k.shape[0])", "recurrent.l0.directions": "1",
                                   "recurrent.l0.d0.weight_ih": k.name, "recurrent.l0.d0.weight_hh": rk.name]
        if let b = find("bias") {
            a["recurrent.l0.d0.bias_ih"] = b.name
            if cls == "GRU", b.shape.count == 2, b.shape[0] == 2 {
                a["recurrent.l0.d0.bias_hh"] = b.name
                a["recurrent.l0.d0.bias_hh.offset"] = "\(b.shape[1])"
            }
        }
        return a
    }

    static func onnx(node: Node, store: any TensorStore) throws -> [String: String] {
        let at = node.attributes
        _ = try RecurrentCells.onnx(layer: node.name, attributes: at, store: store)   // refuses peepholes, other activations, stored states
        let op = at["onnx.op"]!
        guard let wName = at["onnx.input.W"], let rName = at["onnx.input.R"],
              let w = store.tensors.first(where: { $0.name == wName }), let r = store.tensors.first(where: { $0.name == rName }) else {
            throw RecurrentCells.Unsupported(reason: "W or R not stored")
        }
        if at["onnx.input.sequence_lens"] != nil { throw RecurrentCells.Unsupported(reason: "sequence_lens (every probe runs all its steps)") }
        let dirs = w.shape[0], g = op == "LSTM" ? 4 : 3, h = r.shape[2], f = w.shape[2]
        var a: [String: String] = ["recurrent.cell": op.lowercased(), "recurrent.hidden": "\(h)", "recurrent.layers": "1",
                                   "recurrent.gate_order": op == "LSTM" ? "iofg" : "zrn", "recurrent.output": "sequence",
                                   "recurrent.reset_after": (at["linear_before_reset"] ?? "0") != "0" ? "true" : "false",
                                   "recurrent.reverse": at["direction"] == "reverse" ? "true" : "false",
                                   "recurrent.l0.features": "\(f)", "recurrent.l0.directions": "\(dirs)"]
        for d in 0..<dirs {
            a["recurrent.l0.d\(d).weight_ih"] = wName
            a["recurrent.l0.d\(d).weight_ih.offset"] = "\(d * g * h * f)"
            a["recurrent.l0.d\(d).weight_hh"] = rName
            a["recurrent.l0.d\(d).weight_hh.offset"] = "\(d * g * h * h)"
            if let bName = at["onnx.input.B"], bName != "(computed)" {
                a["recurrent.l0.d\(d).bias_ih"] = bName
                a["recurrent.l0.d\(d).bias_ih.offset"] = "\(d * 2 * g * h)"
                a["recurrent.l0.d\(d).bias_hh"] = bName
                a["recurrent.l0.d\(d).bias_hh.offset"] = "\(d * 2 * g * h + g * h)"
            }
        }
        return a
    }
}

/// `--rnn-nonlinearity`: the φ of a PyTorch `nn.RNN`/`nn.RNNCell` (`nonlinearity=`), which a
/// state dict does not store (issue 19).
public enum RNNNonlinearity: String, Sendable, CaseIterable {
    case tanh, relu
}
