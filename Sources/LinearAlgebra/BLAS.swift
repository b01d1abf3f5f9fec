/// Pointer-level BLAS level-3/level-1 entry points for the batched forward engine
/// (`SpectralModel`'s ops). Everything runs in float64 through OpenBLAS (`LAPACKCalls`, the one
/// caller of CBLAS); a product of length-k dot products has the usual error bound
/// `|fl(AB) − AB| ≤ k·u·|A||B|` with `u = 2⁻⁵³` (Higham, *Accuracy and Stability*, §3.5), so
/// reordering the sums against a scalar loop changes results only in the last few ulps.
public enum BLAS {
    /// `C ← alpha·op(A)·op(B) + beta·C`, all row-major: `op(A)` is `m × k`, `op(B)` is `k × n`,
    /// `C` is `m × n` with leading dimensions `lda`, `ldb`, `ldc` (`cblas_dgemm`). Empty products
    /// (`k == 0`) scale C by beta; empty outputs do nothing.
    @inline(__always)
    public static func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Double = 1,
                            _ a: UnsafePointer<Double>, lda: Int, _ b: UnsafePointer<Double>, ldb: Int,
                            beta: Double = 0, _ c: UnsafeMutablePointer<Double>, ldc: Int) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            for i in 0..<m {
                let row = c + i * ldc
                if beta == 0 { for j in 0..<n { row[j] = 0 } } else if beta != 1 { for j in 0..<n { row[j] *= beta } }
            }
            return
        }
        LAPACKCalls.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a, lda: lda, b, ldb: ldb,
                         beta: beta, c, ldc: ldc)
    }

    /// Array form of `gemm` for whole row-major operands: returns `alpha·op(A)·op(B)` (`m × n`),
    /// or adds it into `accumulate` when given.
    public static func product(_ a: [Double], transA: Bool = false, _ b: [Double], transB: Bool = false,
                               m: Int, n: Int, k: Int, alpha: Double = 1) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        productAdd(a, transA: transA, b, transB: transB, m: m, n: n, k: k, alpha: alpha, into: &c)
        return c
    }

    /// `C += alpha·op(A)·op(B)` for whole row-major operands (`C` is `m × n`).
    public static func productAdd(_ a: [Double], transA: Bool = false, _ b: [Double], transB: Bool = false,
                                  m: Int, n: Int, k: Int, alpha: Double = 1, into c: inout [Double]) {
        precondition(a.count >= m * k && b.count >= k * n && c.count >= m * n, "BLAS.productAdd: operand sizes")
        if m == 0 || n == 0 || k == 0 { return }
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, ap.baseAddress!,
                         lda: transA ? m : k, bp.baseAddress!, ldb: transB ? k : n, beta: 1, cp.baseAddress!, ldc: n)
                }
            }
        }
    }

    /// `G += alpha·A·Aᵀ` for a row-major `rows × cols` A, G `rows × rows` row-major, full (both
    /// triangles written, symmetric exactly).
    public static func gramAdd(_ a: UnsafePointer<Double>, rows: Int, cols: Int, lda: Int, alpha: Double = 1,
                               into g: UnsafeMutablePointer<Double>) {
        if rows == 0 || cols == 0 { return }
        var tmp = [Double](repeating: 0, count: rows * rows)
        tmp.withUnsafeMutableBufferPointer { tp in
            gemm(transA: false, transB: true, m: rows, n: rows, k: cols, alpha: alpha, a, lda: lda, a, ldb: lda,
                 beta: 0, tp.baseAddress!, ldc: rows)
        }
        for i in 0..<rows {
            for j in i..<rows {
                let v = 0.5 * (tmp[i * rows + j] + tmp[j * rows + i])
                g[i * rows + j] += v
                if i != j { g[j * rows + i] += v }
            }
        }
    }

    /// Euclidean norm (`cblas_dnrm2`, scaled against overflow).
    public static func norm(_ x: [Double]) -> Double {
        if x.isEmpty { return 0 }
        return x.withUnsafeBufferPointer { LAPACKCalls.nrm2($0.count, $0.baseAddress!) }
    }
}
