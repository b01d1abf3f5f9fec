import LinearAlgebra
import WeightFiles

/// Reads a transformer's linear maps from a store in the canonical orientation `y = W x`
/// (SPEC §1: PyTorch `[out, in]` as stored, GPT-2 `Conv1D` `[in, out]` transposed, a fused
/// `c_attn` split into its Q, K, V thirds, loaded once), and slices heads out of them.
final class TransformerWeights {
    let store: any TensorStore
    let width: Int
    /// The last canonical matrix read: a fused `c_attn` serves Q, K and V from one load.
    private var last: (name: String, matrix: Matrix)?

    init(store: any TensorStore, width: Int) {
        self.store = store
        self.width = width
    }

    /// The whole stored tensor of `t` in the canonical orientation `y = W x`.
    private func canonical(_ t: LinearTensor) throws -> Matrix {
        if let last, last.name == t.weight { return last.matrix }
        let info = try store.info(t.weight)
        guard info.shape.count == 2 else {
            throw TransformerAnalysisError("tensor '\(t.weight)' has shape \(info.shape), expected a matrix")
        }
        var m = Matrix(rows: info.shape[0], cols: info.shape[1], storage: try store.loadFloat64(t.weight))
        if t.storedInOut { m = m.transposed() }
        // Only a fused tensor is read again (its Q, K and V thirds); caching any other would keep
        // a whole matrix alive for nothing (a 11008×4096 MLP matrix is 360 MB in Float64).
        last = t.fusedPart != nil ? (t.weight, m) : nil
        return m
    }

    func matrix(_ t: LinearTensor) throws -> Matrix {
        var m = try canonical(t)
        if let part = t.fusedPart {
            guard m.rows == 3 * width else {
                throw TransformerAnalysisError("fused tensor '\(t.weight)' has \(m.rows) outputs, expected 3 × \(width)")
            }
            m = m.rowSlice(part * width, width)
        }
        return m
    }

    func bias(_ t: LinearTensor) throws -> [Double]? {
        guard let name = t.bias else { return nil }
        let b = try store.loadFloat64(name)
        guard let part = t.fusedPart else { return b }
        guard b.count == 3 * width else {
            throw TransformerAnalysisError("fused bias '\(name)' has \(b.count) values, expected 3 × \(width)")
        }
        return Array(b[(part * width)..<((part + 1) * width)])
    }

    func vector(_ name: String) throws -> [Double] { try store.loadFloat64(name) }

    /// σ_max of `t`'s matrix: the rows' exact σ_max of the whole stored matrix when `known` has it
    /// (`TransformerAudit.exactSpectralNorms`; never for a fused part), else computed from `m`
    /// when the caller already holds the matrix, or from a fresh load.
    func largestSingularValue(_ t: LinearTensor, known: [String: Double], matrix m: Matrix? = nil) throws -> Double {
        if t.fusedPart == nil, let s = known[t.weight] { return s }
        return try SVD.largestSingularValue(try m ?? matrix(t))
    }
}

extension Matrix {
    /// Rows `start ..< start + count`.
    func rowSlice(_ start: Int, _ count: Int) -> Matrix {
        Matrix(rows: count, cols: cols, storage: Array(storage[(start * cols)..<((start + count) * cols)]))
    }

    /// Columns `start ..< start + count`.
    func columnSlice(_ start: Int, _ count: Int) -> Matrix {
        var out = [Double](repeating: 0, count: rows * count)
        for i in 0..<rows {
            for j in 0..<count { out[i * count + j] = storage[i * cols + start + j] }
        }
        return Matrix(rows: rows, cols: count, storage: out)
    }
}

/// A structural problem found while reading a transformer's tensors (shapes that contradict the
/// config): reported as the reason the transformer analysis is unavailable.
public struct TransformerAnalysisError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ d: String) { description = d }
}
