// LAPACK calls of the Gram path's refinement of small singular values (`SVD+SmallValues.swift`):
// a Householder triangular factor with the singular values of A, its inverse, and the Gram of
// that inverse.
internal import CLAPACK

extension LAPACKCalls {
    /// A `p × p` triangular factor T (`p = min(rows, cols)`, column-major, the other triangle
    /// zero) with `σ(T) = σ(scale · A)` for the row-major `rows × cols` matrix A. Row-major A is
    /// the column-major `cols × rows` matrix B = Aᵀ: when `cols ≥ rows`, B = QR (`dgeqrf`) and T = R
    /// (upper); otherwise B = LQ (`dgelqf`) and T = L (lower). Householder QR/LQ is backward stable:
    /// T is the exact factor of `B + E` with `‖E‖ ≤ c·p·ε·‖B‖` (Higham, *Accuracy and Stability*,
    /// 2nd ed., Thm 19.4), so `|σ_i(T) − σ_i(A)| ≤ c·p·ε·σ_1`, as for `dgesdd`.
    /// Memory: one copy of A, whose first p² entries become T.
    static func triangularFactor(_ a: UnsafeBufferPointer<Double>, rows: Int, cols: Int, scale: Double) throws
        -> (factor: [Double], upper: Bool) {
        BLASRuntime.ensureConfigured()
        let p = Swift.min(rows, cols)
        let upper = cols >= rows
        var b = scale == 1 ? Array(a) : a.map { $0 * scale }
        var tau = [Double](repeating: 0, count: p)
        let info = b.withUnsafeMutableBufferPointer { bp in
            tau.withUnsafeMutableBufferPointer { tp in
                upper ? LAPACKE_dgeqrf(LAPACK_COL_MAJOR, Int32(cols), Int32(rows), bp.baseAddress, Int32(cols), tp.baseAddress)
                      : LAPACKE_dgelqf(LAPACK_COL_MAJOR, Int32(cols), Int32(rows), bp.baseAddress, Int32(cols), tp.baseAddress)
            }
        }
        if info != 0 { throw LinearAlgebraError.lapack(routine: upper ? "dgeqrf" : "dgelqf", info: Int(info)) }
        // Compact T in place to leading dimension p (column j moves from offset j·cols to j·p ≤ j·cols,
        // rows in increasing order, so no entry is overwritten before it is read) and zero the other
        // triangle; no second p × p buffer, so the peak memory is that of the dgesdd path (A + copy).
        b.withUnsafeMutableBufferPointer { bp in
            for j in 0..<p {
                for i in 0..<p {
                    let inside = upper ? i <= j : i >= j
                    bp[i + j * p] = inside ? bp[i + j * cols] : 0
                }
            }
        }
        b.removeLast(b.count - p * p)
        return (b, upper)
    }

    /// Overwrites the triangular `n × n` column-major T (`upper` as returned by
    /// `triangularFactor`) with the triangle of the symmetric `M = T⁻¹T⁻ᵀ` (upper: `dtrtri`
    /// then `dlauum`, which forms `U·Uᵀ` for U = T⁻¹) or `M = T⁻ᵀT⁻¹` (lower: `Lᵀ·L` for
    /// L = T⁻¹), whose eigenvalues are `1/σ_i(T)²`. Returns false when T is exactly singular
    /// (`dtrtri` info > 0) or the inverse overflows.
    static func inverseGram(_ t: inout [Double], n: Int, upper: Bool) throws -> Bool {
        BLASRuntime.ensureConfigured()
        let uplo = CChar(UInt8(ascii: upper ? "U" : "L"))
        let info = t.withUnsafeMutableBufferPointer { tp in
            LAPACKE_dtrtri(LAPACK_COL_MAJOR, uplo, CChar(UInt8(ascii: "N")), Int32(n), tp.baseAddress, Int32(n))
        }
        if info > 0 { return false }
        if info != 0 { throw LinearAlgebraError.lapack(routine: "dtrtri", info: Int(info)) }
        guard t.allSatisfy({ $0.isFinite }) else { return false }
        let info2 = t.withUnsafeMutableBufferPointer { tp in
            LAPACKE_dlauum(LAPACK_COL_MAJOR, uplo, Int32(n), tp.baseAddress, Int32(n))
        }
        if info2 != 0 { throw LinearAlgebraError.lapack(routine: "dlauum", info: Int(info2)) }
        return t.allSatisfy { $0.isFinite }
    }
}
