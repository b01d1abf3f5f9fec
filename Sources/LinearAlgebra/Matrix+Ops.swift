/// Small, allocation-explicit helpers on `Matrix` used by the spectral code and its tests.
extension Matrix {
    /// `‖A‖_F`, accumulated in float64 with a running scale (LAPACK `dlassq` style), so it neither
    /// overflows nor underflows for any finite entries.
    public var frobeniusNorm: Double {
        let (scale, ssq) = scaledSumOfSquares()
        return scale * ssq.squareRoot()
    }

    /// `‖A‖_F²` (overflows to +inf when ‖A‖_F > 1.3e154; prefer `frobeniusNorm`).
    public var frobeniusSquared: Double {
        let (scale, ssq) = scaledSumOfSquares()
        return scale * scale * ssq
    }

    /// `(scale, ssq)` with `Σ a_ij² = scale² · ssq`.
    func scaledSumOfSquares() -> (Double, Double) {
        var scale = 0.0, ssq = 1.0
        for x in storage where x != 0 {
            let ax = Swift.abs(x)
            if scale < ax {
                ssq = 1 + ssq * (scale / ax) * (scale / ax)
                scale = ax
            } else {
                ssq += (ax / scale) * (ax / scale)
            }
        }
        return (scale, scale == 0 ? 0 : ssq)
    }

    /// Largest absolute entry (0 for an empty matrix).
    public var maxAbs: Double { storage.reduce(0) { Swift.max($0, Swift.abs($1)) } }

    /// One pass over the entries for the checks the spectral paths need before LAPACK: whether
    /// every entry is finite, and the largest absolute entry (0 for an empty or all-zero matrix,
    /// so `maxAbs == 0` is the all-zero test; `maxAbs` is meaningless when `allFinite` is
    /// false). Replaces three passes (`allFinite`, the zero test, `maxAbs`) with the same
    /// answers: finiteness is read off `Σ x·0` (±0 for finite x, NaN for NaN or ±Inf), the
    /// maximum of |x| is exact in any order. Four independent lanes let the compiler vectorise.
    public func finiteMaxAbs() -> (allFinite: Bool, maxAbs: Double) {
        storage.withUnsafeBufferPointer { Matrix.finiteMaxAbs($0) }
    }

    /// `finiteMaxAbs()` of any buffer of float64 values (e.g. a chunk of a streamed tensor).
    public static func finiteMaxAbs(_ p: UnsafeBufferPointer<Double>) -> (allFinite: Bool, maxAbs: Double) {
        let n = p.count
        var m0 = 0.0, m1 = 0.0, m2 = 0.0, m3 = 0.0
        var z0 = 0.0, z1 = 0.0, z2 = 0.0, z3 = 0.0
        var i = 0
        while i + 4 <= n {
            let a = p[i], b = p[i + 1], c = p[i + 2], d = p[i + 3]
            m0 = Swift.max(m0, Swift.abs(a)); z0 += a * 0
            m1 = Swift.max(m1, Swift.abs(b)); z1 += b * 0
            m2 = Swift.max(m2, Swift.abs(c)); z2 += c * 0
            m3 = Swift.max(m3, Swift.abs(d)); z3 += d * 0
            i += 4
        }
        while i < n {
            m0 = Swift.max(m0, Swift.abs(p[i])); z0 += p[i] * 0
            i += 1
        }
        let zero = z0 + z1 + z2 + z3
        return (zero == 0, Swift.max(Swift.max(m0, m1), Swift.max(m2, m3)))
    }

    /// `diag(s) · A`: row i multiplied by `s[i]`.
    public func scalingRows(by s: [Double]) -> Matrix {
        precondition(s.count == rows, "scalingRows: \(s.count) factors for \(rows) rows")
        var out = storage
        for i in 0..<rows {
            let f = s[i]
            for j in 0..<cols { out[i * cols + j] *= f }
        }
        return Matrix(rows: rows, cols: cols, storage: out)
    }

    /// `A · B` (float64, `dgemm`).
    public func multiplied(by b: Matrix) throws -> Matrix {
        guard cols == b.rows else {
            throw LinearAlgebraError.dimensionMismatch("\(rows)×\(cols) · \(b.rows)×\(b.cols)")
        }
        var c = [Double](repeating: 0, count: rows * b.cols)
        if rows > 0 && b.cols > 0 && cols > 0 {
            storage.withUnsafeBufferPointer { ap in
                b.storage.withUnsafeBufferPointer { bp in
                    c.withUnsafeMutableBufferPointer { cp in
                        LAPACKCalls.gemm(transA: false, transB: false, m: rows, n: b.cols, k: cols,
                                         alpha: 1, ap.baseAddress!, lda: cols, bp.baseAddress!, ldb: b.cols,
                                         beta: 0, cp.baseAddress!, ldc: b.cols)
                    }
                }
            }
        }
        return Matrix(rows: rows, cols: b.cols, storage: c)
    }

    /// `A x` (`dgemv`).
    public func applied(to x: [Double]) -> [Double] {
        precondition(x.count == cols)
        var y = [Double](repeating: 0, count: rows)
        storage.withUnsafeBufferPointer { ap in
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    LAPACKCalls.gemv(transpose: false, rows: rows, cols: cols, alpha: 1,
                                     ap.baseAddress ?? UnsafePointer(bitPattern: 8)!,
                                     xp.baseAddress ?? UnsafePointer(bitPattern: 8)!, beta: 0,
                                     yp.baseAddress ?? UnsafeMutablePointer(bitPattern: 8)!)
                }
            }
        }
        return y
    }
}
