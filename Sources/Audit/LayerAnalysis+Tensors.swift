import AuditReport
import Foundation
import LinearAlgebra
import ModelBuilder
import SpectralModel
import WeightFiles

/// Spectrum rows for weight tensors no operator of the graph analyses (issue 16, item 1): every
/// floating tensor with ≥ 2 dimensions gets a row of its own — tensors of layers the operator
/// model does not cover (LSTM/GRU matrices, attention projections, unknown layers) and tensors
/// the structure does not place (not referenced by a manifest, strays). Stacked recurrent gate
/// matrices also get one row per gate (`RecurrentGateLayout`).
///
/// The matrix analysed is the tensor as stored, in the documented orientation (`orientation`):
/// - 2-D `[out, in]` (PyTorch `weight`): as stored, `out_in`;
/// - 2-D `[in, out]` (Keras `kernel`, `recurrent_kernel`, GPT-2 `Conv1D`): transposed, `in_out→transpose`;
/// - 2-D of unknown layout: as stored, rows = first dimension, `as_stored`;
/// - ≥ 3-D channels-last conv kernels `[k…, in, out]`: `[out, k…·in]`, `conv_hwio→[out, k·in]`;
/// - any other ≥ 3-D tensor (PyTorch conv `[out, in, k…]`, unknown): `[d0, d1·d2…]`, `as_stored→[d0, rest]`.
/// Singular values do not depend on the orientation; `typical_gain` and `entropy_bound` (which
/// divide by the fan-in n) do.
/// These rows are never factors of the network bound.
extension LayerAnalysis {
    /// Rows for `tensor` (and its gates). `owner`: the graph node it belongs to, if any.
    func tensorRows(_ tensor: TensorInfo, owner: Node?, siblings: [TensorInfo]) throws -> [LayerReport] {
        let ownerText = owner.map { "of '\($0.name)' (\($0.kind.reportKind))" } ?? "placed in no layer of the structure"
        var row = LayerReport(name: tensor.name, kind: "tensor", tensors: [tensor.name], status: .analyzed)
        guard tensor.role == .weights, tensor.dtype.isFloatingPoint else {
            row.status = .skipped
            row.reason = tensor.role == .buffer ? "integer buffer" : "not a weight (\(tensor.role.rawValue))"
            return [row]
        }
        let values = try store.loadFloat64(tensor.name)
        if let bad = NonFinite.scan(values) {
            // A tensor of a layer row already fails as that row; a stray one fails here.
            row.status = owner == nil ? .nonFinite : .skipped
            row.reason = "\(bad.count) non-finite value\(bad.count == 1 ? "" : "s") in '\(tensor.name)' (first at flat index \(bad.first))"
            return [row]
        }
        guard tensor.shape.count >= 2, tensor.elementCount > 0 else {
            row.status = .skipped
            row.reason = tensor.shape.count < 2 ? "\(tensor.shape.count)-D tensor \(ownerText): no spectrum" : "empty tensor"
            return [row]
        }
        let (matrix, orientation) = Self.storedMatrix(values, tensor)
        row.orientation = orientation
        row.reason = "tensor \(ownerText), analysed as stored; not a factor of the network bound"
        _ = try spectrum(blocks: [matrix], rows: matrix.rows, cols: matrix.cols, row: &row)
        var rows = [row]
        if let (layout, label) = gateLayout(tensor, owner: owner, siblings: siblings) {
            for (gate, m) in layout.split(values: values, shape: tensor.shape) {
                var g = LayerReport(name: "\(tensor.name):\(gate)", kind: "recurrent_gate", tensors: [tensor.name], status: .analyzed)
                g.gate = gate
                g.orientation = layout.framework == .pytorch ? "out_in" : "in_out→transpose"
                g.reason = "gate \(gate) of \(label) (\(layout.framework.rawValue) order \(layout.labels.joined(separator: ","))), [h, in] with h = \(layout.hidden); not a factor of the network bound"
                _ = try spectrum(blocks: [m], rows: m.rows, cols: m.cols, row: &g)
                rows.append(g)
            }
        }
        return rows
    }

    /// The tensor as a matrix in its documented orientation (see the type's doc comment).
    static func storedMatrix(_ values: [Double], _ t: TensorInfo) -> (Matrix, String) {
        let s = t.shape
        if s.count == 2 {
            let inOut = t.orientation == .inOut || (t.variable == "recurrent_kernel")
            if inOut {
                var m = Matrix(rows: s[1], cols: s[0], storage: [Double](repeating: 0, count: values.count))
                for r in 0..<s[0] { for c in 0..<s[1] { m.storage[c * s[0] + r] = values[r * s[1] + c] } }
                return (m, "in_out→transpose")
            }
            return (Matrix(rows: s[0], cols: s[1], storage: values), t.orientation == .outIn ? "out_in" : "as_stored")
        }
        if t.orientation == .convHWIO {
            let out = s[s.count - 1], rest = values.count / out
            var m = Matrix(rows: out, cols: rest, storage: [Double](repeating: 0, count: values.count))
            for r in 0..<rest { for c in 0..<out { m.storage[c * rest + r] = values[r * out + c] } }
            return (m, "conv_hwio→[out, k·in]")
        }
        return (Matrix(rows: s[0], cols: values.count / s[0], storage: values), "as_stored→[d0, rest]")
    }

    /// The gate layout of a stacked recurrent matrix and a label for its cell, or nil.
    func gateLayout(_ t: TensorInfo, owner: Node?, siblings: [TensorInfo]) -> (RecurrentGateLayout, String)? {
        guard t.shape.count == 2 else { return nil }
        let variable = t.variable ?? String(t.name.split(separator: ".").last ?? "")
        if let key = TorchRecurrentKey(name: t.name), key.role == .weightIH || key.role == .weightHH {
            // With proj_size, weight_hh is [4h, p] and weight_hr [p, h] fixes h (issue 19).
            func sibling(_ role: TorchRecurrentKey.Role) -> TensorInfo? {
                let name = key.with(role).name
                return siblings.first(where: { $0.name == name }) ?? store.tensors.first(where: { $0.name == name })
            }
            guard let hh = sibling(.weightHH),
                  let layout = RecurrentGateLayout.pytorch(shape: t.shape, hiddenShape: hh.shape, projectionShape: sibling(.weightHR)?.shape) else { return nil }
            return (layout, "a PyTorch \(layout.cell.uppercased())\(key.isCell ? "Cell" : "")")
        }
        if variable == "kernel" || variable == "recurrent_kernel", let owner,
           case .unsupported(let cls, _) = owner.kind,
           let rk = siblings.first(where: { $0.variable == "recurrent_kernel" }),
           let layout = RecurrentGateLayout.keras(className: cls, shape: t.shape, recurrentShape: rk.shape) {
            return (layout, "a Keras \(cls)")
        }
        return nil
    }
}
