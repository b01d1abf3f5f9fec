import Foundation
import SpectralModel
import WeightFiles

/// Places LSTM/GRU/RNN layers on the forward engine for the data audit (issue 19): each
/// recurrent node of a graph (kept `.unsupported` for the weights-only audit, which bounds it by
/// its horizon bound) becomes a `.parameterized("Recurrent", …)` node whose attributes say where
/// each weight block of the file is and how it is laid out (`RecurrentOp+Build.swift` lists them):
/// - PyTorch `nn.LSTM`/`nn.GRU` state dicts (`weight_ih_l<k>[_reverse]`, `weight_hh_…`,
///   `bias_ih_…`, `bias_hh_…`, `weight_hr_…`): rows, gates i,f,g,o / r,z,n; all stacked layers.
///   Output: every step's state when the module is the network's output (what the module
///   returns); the last layer's final state(s) when other layers follow (`fc(h_n[-1])`, stated
///   in the report's assumptions). `nn.RNN` is refused for now (the op has the Elman cell; no
///   torch-checked fixture places it yet).
/// - Keras `LSTM`/`GRU`: kernels `[in, G·u]` (columns), gates i,f,c,o / z,r,h, bias `[G·u]` or
///   GRU `reset_after` `[2, 3u]` (input row, recurrent row); `return_sequences` decides the output.
/// - ONNX `LSTM`/`GRU`: `W [D, G·h, F]`, `R [D, G·h, h]`, `B [D, 2·G·h]`, gates i,o,f,c / z,r,h;
///   output `Y` (every step, `[T, D, 1, h]` = our `[T, D·h]`).
/// The input is the probes' `[T, F]` sample read time-major and flat (`inputShape = [T·F]`), so
/// that no channels-first permutation applies to a sequence.
public enum RecurrentGraph {
    /// The graph with its recurrent nodes rewritten (unchanged when it has none), and notes.
    public static func forData(_ graph: NetworkGraph, store: any TensorStore, probeShape: [Int]) throws -> (NetworkGraph, [String]) {
        var g = graph, notes: [String] = []
        var rewritten = false
        for (i, node) in graph.nodes.enumerated() {
            guard case .unsupported(let cls, let refs) = node.kind else { continue }
            let isOutput = graph.outputs.contains(i)
            var a: [String: String]
            do {
                if graph.source == "keras_config", ["LSTM", "GRU"].contains(cls) {
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
                } else if refs.contains(where: { variable($0.name).hasPrefix("weight_ih_l") }) {
                    a = try pytorch(refs: refs, isOutput: isOutput, layer: node.name)
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

    static func variable(_ name: String) -> String { String(name.split(separator: ".").last ?? "") }

    static func pytorch(refs: [TensorRef], isOutput: Bool, layer: String) throws -> [String: String] {
        var byVar: [String: TensorRef] = [:]
        for r in refs { byVar[variable(r.name)] = r }
        guard let hh0 = byVar["weight_hh_l0"], let ih0 = byVar["weight_ih_l0"], hh0.shape.count == 2, ih0.shape.count == 2 else {
            throw RecurrentCells.Unsupported(reason: "no 2-D weight_ih_l0 / weight_hh_l0")
        }
        let hr0 = byVar["weight_hr_l0"]
        let hidden = hr0?.shape.last ?? hh0.shape[1]
        guard hidden > 0, hh0.shape[0] % hidden == 0 else { throw RecurrentCells.Unsupported(reason: "weight_hh_l0 \(hh0.shape) does not stack gates") }
        let gates = hh0.shape[0] / hidden
        let cell: String
        switch gates {
        case 4: cell = "lstm"
        case 3 where hr0 == nil: cell = "gru"
        case 1 where hr0 == nil:
            // The op has the Elman cell (RecurrentOpTests), but no torch-checked fixture places it yet.
            throw RecurrentCells.Unsupported(reason: "a plain RNN (nn.RNN) is not placed on the forward engine yet")
        default: throw RecurrentCells.Unsupported(reason: "weight_hh_l0 \(hh0.shape) stacks \(gates) gates")
        }
        var a: [String: String] = ["recurrent.cell": cell, "recurrent.hidden": "\(hidden)", "recurrent.gate_order": cell == "lstm" ? "ifgo" : cell == "gru" ? "rzn" : "h",
                                   "recurrent.output": isOutput ? "sequence" : "final_state", "recurrent.reset_after": "true"]
        if let hr0 { a["recurrent.projection"] = "\(hr0.shape[0])" }
        var layers = 0
        while byVar["weight_ih_l\(layers)"] != nil { layers += 1 }
        a["recurrent.layers"] = "\(layers)"
        for k in 0..<layers {
            let dirs = byVar["weight_ih_l\(k)_reverse"] != nil ? 2 : 1
            guard let ih = byVar["weight_ih_l\(k)"], ih.shape.count == 2 else { throw RecurrentCells.Unsupported(reason: "weight_ih_l\(k) is not 2-D") }
            a["recurrent.l\(k).features"] = "\(ih.shape[1])"
            a["recurrent.l\(k).directions"] = "\(dirs)"
            for d in 0..<dirs {
                for v in ["weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"] {
                    if let r = byVar["\(v)_l\(k)" + (d == 1 ? "_reverse" : "")] { a["recurrent.l\(k).d\(d).\(v)"] = r.name }
                }
            }
        }
        var notes: [String] = []
        if !isOutput { notes.append("PyTorch \(cell.uppercased()) '\(layer)': the layers after it read its last layer's final hidden state(s) (h_n; both directions concatenated), as in fc(h_n[-1])") }
        if !notes.isEmpty { a["recurrent.note"] = notes.joined(separator: "; ") }
        return a
    }

    static func keras(_ cls: String, node: Node, refs: [TensorRef], store: any TensorStore) throws -> [String: String] {
        let at = node.attributes
        for (key, bad) in [("stateful", "true"), ("go_backwards", "true"), ("unroll", "__never")] where at[key] == bad {
            throw RecurrentCells.Unsupported(reason: "\(key)=\(bad)")
        }
        let act = at["activation"] ?? "tanh", rec = at["recurrent_activation"] ?? "sigmoid"
        guard act == "tanh" else { throw RecurrentCells.Unsupported(reason: "activation '\(act)'") }
        guard rec == "sigmoid" else { throw RecurrentCells.Unsupported(reason: "recurrent_activation '\(rec)' (the engine runs sigmoid gates)") }
        let infos = Dictionary(store.tensors.map { ($0.name, $0) }, uniquingKeysWith: { x, _ in x })
        func find(_ v: String) -> TensorRef? { refs.first { infos[$0.name]?.variable == v || $0.name.hasSuffix("/" + v) } }
        guard let k = find("kernel"), let rk = find("recurrent_kernel"), k.shape.count == 2, rk.shape.count == 2 else {
            throw RecurrentCells.Unsupported(reason: "no 2-D kernel and recurrent_kernel")
        }
        let u = rk.shape[0]
        let cell = cls == "LSTM" ? "lstm" : "gru"
        var a: [String: String] = ["recurrent.cell": cell, "recurrent.hidden": "\(u)", "recurrent.layers": "1",
                                   "recurrent.gate_order": cls == "LSTM" ? "ifgo" : "zrn", "recurrent.orientation": "columns",
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
