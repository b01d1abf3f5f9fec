/// A dense real matrix in row-major order, Float64. The operator `A ∈ R^{m×n}` of SPEC.md §1
/// is stored with `rows = m` (fan-out) and `cols = n` (fan-in), so that `y = A x`.
public struct Matrix: Sendable, Equatable {
    public let rows: Int
    public let cols: Int
    /// Row-major elements: `A[i, j] = storage[i * cols + j]`.
    public var storage: [Double]

    public init(rows: Int, cols: Int, storage: [Double]) {
        precondition(rows >= 0 && cols >= 0 && storage.count == rows * cols,
                     "Matrix: \(storage.count) elements for \(rows)×\(cols)")
        self.rows = rows
        self.cols = cols
        self.storage = storage
    }

    public init(rows: Int, cols: Int, repeating value: Double = 0) {
        self.init(rows: rows, cols: cols, storage: [Double](repeating: value, count: rows * cols))
    }

    public subscript(i: Int, j: Int) -> Double {
        get { storage[i * cols + j] }
        set { storage[i * cols + j] = newValue }
    }

    public var isEmpty: Bool { rows == 0 || cols == 0 }

    /// `min(m, n)`: the number of singular values.
    public var rankBound: Int { Swift.min(rows, cols) }

    /// Aᵀ, as a new row-major matrix.
    public func transposed() -> Matrix {
        var t = [Double](repeating: 0, count: storage.count)
        storage.withUnsafeBufferPointer { s in
            t.withUnsafeMutableBufferPointer { d in
                for i in 0..<rows {
                    for j in 0..<cols { d[j * rows + i] = s[i * cols + j] }
                }
            }
        }
        return Matrix(rows: cols, cols: rows, storage: t)
    }

    /// True when every element is finite (no NaN, no ±Inf).
    public var allFinite: Bool { storage.allSatisfy { $0.isFinite } }
}
