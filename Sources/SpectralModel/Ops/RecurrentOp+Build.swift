/// Building `RecurrentOp`s from a `.parameterized(className: "Recurrent", …)` node. The code
/// that reads a file's tensor names (Sources/Audit/Recurrent/RecurrentGraph.swift) states, in
/// the node's attributes, where each block is and how it is laid out; this builder only slices,
/// transposes and reorders:
/// - `recurrent.cell` (`lstm`, `gru`, `rnn_tanh`, `rnn_relu`), `recurrent.hidden`,
///   `recurrent.projection` (LSTM `proj_size`, optional), `recurrent.layers` (default 1),
///   `recurrent.output` (`sequence` | `final_state`: of the last layer), `recurrent.reset_after`,
///   `recurrent.reverse` (one direction running backwards), `recurrent.flat_output` (every step's
///   output as one flat vector even when identity nodes follow);
/// - `recurrent.gate_order`: the stored gate order in canonical letters (PyTorch `ifgo`/`rzn`,
///   Keras `ifgo`/`zrn`, ONNX `iofg`/`zrn`); `recurrent.orientation`: `rows` (`[G·H, in]`,
///   PyTorch/ONNX) or `columns` (Keras `[in, G·H]`);
/// - per layer k: `recurrent.l<k>.features`, `recurrent.l<k>.directions`; per layer and
///   direction d and block (`weight_ih`, `weight_hh`, `bias_ih`, `bias_hh`, `weight_hr`):
///   `recurrent.l<k>.d<d>.<block>` = tensor name and `….offset` = first element (default 0).
extension RecurrentOp {
    public static func build(_ node: Node, _ b: OpBuildContext) throws -> Int? {
        guard case .parameterized(let cls, let tensors) = node.kind, cls == "Recurrent" else { return nil }
        let a = node.attributes
        func int(_ key: String) throws -> Int {
            guard let v = a[key].flatMap(Int.init), v > 0 else { throw ForwardModelError("layer '\(node.name)': recurrent attribute \(key) missing or not positive") }
            return v
        }
        guard let cell = a["recurrent.cell"].flatMap(RecurrentLayerSpec.Cell.init(rawValue:)) else {
            throw ForwardModelError.unsupported(node, "recurrent cell '\(a["recurrent.cell"] ?? "")'")
        }
        let hidden = try int("recurrent.hidden"), layers = a["recurrent.layers"].flatMap(Int.init) ?? 1
        let projection = a["recurrent.projection"].flatMap(Int.init)
        let canonical = Array(cell == .lstm ? "ifgo" : cell == .gru ? "rzn" : "h")
        let stored = Array(a["recurrent.gate_order"] ?? String(canonical))
        guard stored.count == canonical.count, Set(stored) == Set(canonical) else {
            throw ForwardModelError("layer '\(node.name)': gate order '\(String(stored))' is not a permutation of '\(String(canonical))'")
        }
        let columns = a["recurrent.orientation"] == "columns"
        var slot = b.inputSlots[0]
        for k in 0..<layers {
            var spec = RecurrentLayerSpec(cell: cell, features: try int("recurrent.l\(k).features"), hidden: hidden,
                                          projection: projection, directions: try int("recurrent.l\(k).directions"))
            spec.resetAfter = (a["recurrent.reset_after"] ?? "true") == "true"
            spec.reverseOnly = a["recurrent.reverse"] == "true"
            spec.finalState = k == layers - 1 && a["recurrent.output"] == "final_state"
            let inCount = b.shape(slot).reduce(1, *)
            guard spec.directions <= 2, inCount % spec.features == 0, inCount > 0 else {
                throw ForwardModelError("layer '\(node.name)': an input of \(inCount) values is not a sequence of \(spec.features)-feature steps")
            }
            let steps = inCount / spec.features
            let gh = spec.gates * hidden
            func block(_ d: Int, _ role: String, rows: Int, cols: Int, gates: Bool) throws -> [Double]? {
                let key = "recurrent.l\(k).d\(d).\(role)"
                guard let tname = a[key] else { return nil }
                guard let ref = tensors.first(where: { $0.name == tname }) else {
                    throw ForwardModelError("layer '\(node.name)': tensor '\(tname)' (\(role)) is not one of the layer's tensors")
                }
                let all = try b.load(ref), off = a[key + ".offset"].flatMap(Int.init) ?? 0, count = rows * cols
                guard off >= 0, off + count <= all.count else {
                    throw ForwardModelError("layer '\(node.name)': '\(tname)' has \(all.count) values; \(role) needs \(count) from \(off)")
                }
                var v = Array(all[off..<(off + count)])
                if columns && cols > 1 {   // stored [cols, rows]
                    v = (0..<count).map { e in all[off + (e % cols) * rows + e / cols] }
                }
                guard gates, stored != canonical else { return v }
                let h = rows / stored.count
                return canonical.flatMap { g -> ArraySlice<Double> in
                    let src = stored.firstIndex(of: g)!
                    return v[(src * h * cols)..<((src + 1) * h * cols)]
                }
            }
            var params: [[Double]] = []
            var hasBih = true, hasBhh = true
            for d in 0..<spec.directions {
                guard let wih = try block(d, "weight_ih", rows: gh, cols: spec.features, gates: true),
                      let whh = try block(d, "weight_hh", rows: gh, cols: spec.out, gates: true) else {
                    throw ForwardModelError("layer '\(node.name)': layer \(k) direction \(d) has no weight_ih/weight_hh")
                }
                let bih = try block(d, "bias_ih", rows: gh, cols: 1, gates: true)
                let bhh = try block(d, "bias_hh", rows: gh, cols: 1, gates: true)
                let whr = projection == nil ? nil : try block(d, "weight_hr", rows: spec.out, cols: hidden, gates: false)
                if projection != nil && whr == nil { throw ForwardModelError("layer '\(node.name)': projection without weight_hr") }
                if d == 0 { hasBih = bih != nil; hasBhh = bhh != nil }
                guard (bih != nil) == hasBih, (bhh != nil) == hasBhh else {
                    throw ForwardModelError("layer '\(node.name)': the directions of layer \(k) do not have the same biases")
                }
                params += [wih, whh] + [bih, bhh, whr].compactMap { $0 }
            }
            spec.inputBias = hasBih
            spec.recurrentBias = hasBhh
            let name = layers > 1 ? "\(node.name)/l\(k)" : node.name
            let op = RecurrentOp(name: name, spec: spec, steps: steps, flatOutput: (b.isNetworkOutput || a["recurrent.flat_output"] == "true") && k == layers - 1)
            slot = try b.emit(op, inputs: [slot], parameters: params)
        }
        if let note = a["recurrent.note"] { b.note(note) }
        return slot
    }
}
