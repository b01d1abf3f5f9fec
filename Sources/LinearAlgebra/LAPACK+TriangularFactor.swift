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
    /// `triangularFactor`) with X = T⁻¹ (`dtrtri`); `inverseProduct` then forms the symmetric
    /// `M = X·Xᵀ` (upper) or `Xᵀ·X` (lower), whose eigenvalues are `1/σ_i(T)²`. Returns false
    /// when T is exactly singular
    /// (`dtrtri` info > 0), the inverse overflows, or its Frobenius norm exceeds
    /// `maxInverseFrobenius` (the caller's certificate would then fail anyway: skip the product).
    static func invertTriangular(_ t: inout [Double], n: Int, upper: Bool, maxInverseFrobenius: Double = .infinity) throws -> Bool {
        BLASRuntime.ensureConfigured()
        let uplo = CChar(UInt8(ascii: upper ? "U" : "L"))
        let info = t.withUnsafeMutableBufferPointer { tp in
            LAPACKE_dtrtri(LAPACK_COL_MAJOR, uplo, CChar(UInt8(ascii: "N")), Int32(n), tp.baseAddress, Int32(n))
        }
        if info > 0 { return false }
        if info != 0 { throw LinearAlgebraError.lapack(routine: "dtrtri", info: Int(info)) }
        guard t.allSatisfy({ $0.isFinite }) else { return false }
        if maxInverseFrobenius.isFinite {
            let f = t.withUnsafeBufferPointer { nrm2($0.count, $0.baseAddress!) }
            if !(f <= maxInverseFrobenius) { return false }
        }
        return true
    }

    /// Second half of `inverseGram`: overwrites the triangular inverse X with the triangle of
    /// `X·Xᵀ` (upper) or `Xᵀ·X` (lower) (`dlauum`). False when the product overflows.
    static func inverseProduct(_ t: inout [Double], n: Int, upper: Bool) throws -> Bool {
        BLASRuntime.ensureConfigured()
        let info2 = t.withUnsafeMutableBufferPointer { tp in
            LAPACKE_dlauum(LAPACK_COL_MAJOR, CChar(UInt8(ascii: upper ? "U" : "L")), Int32(n), tp.baseAddress, Int32(n))
        }
        if info2 != 0 { throw LinearAlgebraError.lapack(routine: "dlauum", info: Int(info2)) }
        return t.allSatisfy { $0.isFinite }
    }
}

extension LAPACKCalls {
    /// `B ← op(X)·B` for the triangular column-major `n × n` X (`upper` as stored) and the
    /// column-major `n × cols` block B (`cblas_dtrmm`, op = Xᵀ when `transpose`).
    static func triangularMultiply(_ x: UnsafePointer<Double>, n: Int, upper: Bool, transpose: Bool,
                                   _ b: UnsafeMutablePointer<Double>, cols: Int) {
        BLASRuntime.ensureConfigured()
        cblas_dtrmm(CblasColMajor, CblasLeft, upper ? CblasUpper : CblasLower, transpose ? CblasTrans : CblasNoTrans,
                    CblasNonUnit, Int32(n), Int32(cols), 1.0, x, Int32(n), b, Int32(n))
    }

    /// Orthonormalises the columns of the column-major `n × cols` block in place (Householder QR,
    /// `dgeqrf` + `dorgqr`; `cols ≤ n`).
    static func orthonormalize(_ q: inout [Double], n: Int, cols: Int) throws {
        BLASRuntime.ensureConfigured()
        var tau = [Double](repeating: 0, count: cols)
        let info = q.withUnsafeMutableBufferPointer { qp in
            tau.withUnsafeMutableBufferPointer { tp -> Int32 in
                let i1 = LAPACKE_dgeqrf(LAPACK_COL_MAJOR, Int32(n), Int32(cols), qp.baseAddress, Int32(n), tp.baseAddress)
                if i1 != 0 { return i1 }
                return LAPACKE_dorgqr(LAPACK_COL_MAJOR, Int32(n), Int32(cols), Int32(cols), qp.baseAddress, Int32(n), tp.baseAddress)
            }
        }
        if info != 0 { throw LinearAlgebraError.lapack(routine: "dgeqrf/dorgqr", info: Int(info)) }
    }

    /// Column-major `C = op(A)·B` (`cblas_dgemm`): A is `k × m` when `transA` (else `m × k`), B `k × n`.
    static func columnMajorProduct(transA: Bool, m: Int, n: Int, k: Int, _ a: UnsafePointer<Double>, lda: Int,
                                   _ b: UnsafePointer<Double>, ldb: Int, _ c: UnsafeMutablePointer<Double>) {
        BLASRuntime.ensureConfigured()
        cblas_dgemm(CblasColMajor, transA ? CblasTrans : CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
                    1.0, a, Int32(lda), b, Int32(ldb), 0.0, c, Int32(m))
    }

    /// Eigenvalues (ascending) and eigenvectors (column-major, overwriting `a`) of a small
    /// symmetric `n × n` column-major matrix, lower triangle (`dsyevd`, `jobz = 'V'`).
    static func symmetricEigenvectors(_ a: inout [Double], n: Int) throws -> [Double] {
        BLASRuntime.ensureConfigured()
        var w = [Double](repeating: 0, count: n)
        let info = a.withUnsafeMutableBufferPointer { ap in
            LAPACKE_dsyevd(LAPACK_COL_MAJOR, CChar(UInt8(ascii: "V")), CChar(UInt8(ascii: "L")), Int32(n), ap.baseAddress, Int32(n), &w)
        }
        if info != 0 { throw LinearAlgebraError.lapack(routine: "dsyevd", info: Int(info)) }
        return w
    }
}
