import LinearAlgebra

/// How a stacked recurrent weight matrix splits into its gates (issue 16), per framework, as
/// each framework's own source defines it:
/// - PyTorch `nn.LSTM`: `weight_ih_l{k}` is `(W_ii|W_if|W_ig|W_io)` of shape `[4h, in]` and
///   `weight_hh_l{k}` `[4h, h]` — gates i, f, g, o stacked along rows; `nn.GRU`:
///   `(W_ir|W_iz|W_in)` `[3h, in]` — r, z, n (torch/nn/modules/rnn.py docstrings, torch 2.13).
/// - Keras 3 `LSTMCell`: `kernel [in, 4u]`, `recurrent_kernel [u, 4u]`, split along the last axis
///   into i, f, c, o (`ops.split(self.kernel, 4, axis=1)`); `GRUCell`: `kernel [in, 3u]` with
///   columns z, r, h (`self.kernel[:, :units]` is z) (keras/src/layers/rnn/{lstm,gru}.py, 3.15.1).
/// Each gate is reported in the canonical orientation `[h, in]` (`y = A x`): PyTorch rows as
/// stored, Keras columns transposed.
public struct RecurrentGateLayout: Sendable, Equatable {
    public enum Framework: String, Sendable { case pytorch, keras }
    public var framework: Framework
    /// `lstm` or `gru`.
    public var cell: String
    /// Gate labels in storage order.
    public var labels: [String]
    /// The hidden size h (rows of each gate).
    public var hidden: Int

    public static func labels(framework: Framework, cell: String) -> [String]? {
        switch (framework, cell) {
        case (.pytorch, "lstm"): return ["i", "f", "g", "o"]
        case (.pytorch, "gru"): return ["r", "z", "n"]
        case (.keras, "lstm"): return ["i", "f", "c", "o"]
        case (.keras, "gru"): return ["z", "r", "h"]
        default: return nil
        }
    }

    /// The layout of a PyTorch `weight_ih_l*` / `weight_hh_l*` tensor of `shape`, given the
    /// shape of its layer's `weight_hh_l*` (same suffix), which fixes h = columns and the gate
    /// count = rows / h. Nil for plain RNNs (one gate), projections and odd shapes. An LSTM with
    /// `proj_size` (`projectionShape` = `weight_hr_l*` `[p, h]`) has `weight_hh` `[4h, p]`: h
    /// comes from the projection then.
    public static func pytorch(shape: [Int], hiddenShape: [Int], projectionShape: [Int]? = nil) -> RecurrentGateLayout? {
        guard shape.count == 2, hiddenShape.count == 2, hiddenShape[1] > 0 else { return nil }
        let h = projectionShape.flatMap { $0.count == 2 ? $0[1] : nil } ?? hiddenShape[1]
        guard h > 0, hiddenShape[0] % h == 0 else { return nil }
        let gates = hiddenShape[0] / h
        let cell = gates == 4 ? "lstm" : gates == 3 ? "gru" : ""
        guard let labels = labels(framework: .pytorch, cell: cell), shape[0] == gates * h else { return nil }
        return RecurrentGateLayout(framework: .pytorch, cell: cell, labels: labels, hidden: h)
    }

    /// The layout of a Keras `kernel` / `recurrent_kernel` `[in, G·u]` of an LSTM or GRU layer
    /// (`className`), given the `recurrent_kernel` shape `[u, G·u]`.
    public static func keras(className: String, shape: [Int], recurrentShape: [Int]) -> RecurrentGateLayout? {
        let cell = className.lowercased().hasPrefix("lstm") ? "lstm" : className.lowercased().hasPrefix("gru") ? "gru" : ""
        guard let labels = labels(framework: .keras, cell: cell), shape.count == 2, recurrentShape.count == 2 else { return nil }
        let u = recurrentShape[0]
        guard u > 0, recurrentShape[1] == labels.count * u, shape[1] == labels.count * u else { return nil }
        return RecurrentGateLayout(framework: .keras, cell: cell, labels: labels, hidden: u)
    }

    /// The gate matrices `[h, in]` of a stored tensor (`values` row-major with `shape`).
    public func split(values: [Double], shape: [Int]) -> [(label: String, matrix: Matrix)] {
        let h = hidden
        switch framework {
        case .pytorch:
            let cols = shape[1]
            return labels.enumerated().map { k, label in
                let block = Array(values[(k * h * cols)..<((k + 1) * h * cols)])
                return (label, Matrix(rows: h, cols: cols, storage: block))
            }
        case .keras:
            let rows = shape[0], width = shape[1]
            return labels.enumerated().map { k, label in
                var m = Matrix(rows: h, cols: rows, storage: [Double](repeating: 0, count: h * rows))
                for r in 0..<rows {
                    for j in 0..<h { m.storage[j * rows + r] = values[r * width + k * h + j] }
                }
                return (label, m)
            }
        }
    }
}
