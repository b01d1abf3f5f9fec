/// Singular vectors: for operations that change a matrix's spectrum (`spectral-audit repair`)
/// and for subspace shares (delta audits).
extension SVD {
    /// The thin SVD `A = U·diag(s)·Vᵀ` by `dgesdd` (float64; backward stable: the factors
    /// reproduce A to a few ulps of `σ_1`). `s` descending.
    public static func thin(_ a: Matrix) throws -> (u: Matrix, s: [Double], vt: Matrix) {
        let p = Swift.min(a.rows, a.cols)
        let r = try LAPACKCalls.gesddThin(a.storage, rows: a.rows, cols: a.cols)
        return (Matrix(rows: a.rows, cols: p, storage: r.u), r.values, Matrix(rows: p, cols: a.cols, storage: r.vt))
    }

    /// `A` with its singular values clipped at `level`: `σ_i → min(σ_i, level)`, i.e.
    /// `A − Σ_{σ_i > level} (σ_i − level) u_i v_iᵀ`. By the Eckart–Young–Mirsky theorem this is the
    /// matrix with `σ_max ≤ level` nearest to A in Frobenius norm, at distance
    /// `sqrt(Σ_i (σ_i − level)_+²)`. Returns A unchanged (bit for bit) when `σ_1 ≤ level`.
    public static func clipped(_ a: Matrix, at level: Double) throws -> Matrix {
        let (u, s, vt) = try thin(a)
        return clipped(a, u: u, s: s, vt: vt, at: level)
    }

    /// As `clipped(_:at:)` from a thin SVD already computed.
    public static func clipped(_ a: Matrix, u: Matrix, s: [Double], vt: Matrix, at level: Double) -> Matrix {
        var out = a
        for (i, sigma) in s.enumerated() where sigma > level {
            let d = sigma - level
            for r in 0..<a.rows {
                let ur = u[r, i] * d
                if ur == 0 { continue }
                for c in 0..<a.cols { out.storage[r * a.cols + c] -= ur * vt[i, c] }
            }
        }
        return out
    }
}
