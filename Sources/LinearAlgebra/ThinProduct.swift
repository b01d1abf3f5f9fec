/// Spectra of low-rank products given by their thin factors, without forming the product.
///
/// For `M = A·B` with `A` m×r and `B` r×n (r ≤ min(m, n)): write `A = Q_A R_A` and
/// `Bᵀ = Q_B R_B` (thin Householder QR, Q with orthonormal columns, R r×r). Then
/// `M = Q_A (R_A R_Bᵀ) Q_Bᵀ`, and since multiplying by matrices with orthonormal columns preserves
/// singular values, `σ(M) = σ(R_A R_Bᵀ)` padded with `min(m, n) − r` zeros. Cost
/// `O((m + n) r² + r³)` instead of `O(m n r)` to form M and `O(m n min(m, n))` to decompose it.
/// Accuracy: Householder QR and `dgesdd` are backward stable, so every σ_i is within
/// `c·r·ε·‖A‖₂‖B‖₂` of the exact value (the same absolute accuracy as `dgesdd` on the formed
/// product, which is itself only known to `ε·‖A‖‖B‖`). This is the form of a transformer head's
/// QK bilinear map `W_Qᵀ W_K / √d_h` and OV map `W_O W_V`, and of a LoRA update `s·B·A`.
public enum ThinProduct {
    /// All `min(m, n)` singular values (descending) of `a · b`; the `r` leading ones come from
    /// the r×r core, the rest are exactly zero (rank ≤ r).
    public static func singularValues(_ a: Matrix, _ b: Matrix) throws -> [Double] {
        precondition(a.cols == b.rows, "inner dimensions differ")
        guard a.allFinite, b.allFinite else { throw LinearAlgebraError.nonFinite }
        let m = a.rows, r = a.cols, n = b.cols
        let p = Swift.min(m, n)
        if p == 0 { return [] }
        guard r < p else {
            // Not thin: the product is no larger than its factors; decompose it directly.
            return try SVD.singularValues(try a.multiplied(by: b), method: .gesdd).values
        }
        if r == 0 { return [Double](repeating: 0, count: p) }
        let ra = try LAPACKCalls.qrR(a.storage, rows: m, cols: r)
        let rb = try LAPACKCalls.qrR(b.transposed().storage, rows: n, cols: r)
        let core = try Matrix(rows: r, cols: r, storage: ra).multiplied(by: Matrix(rows: r, cols: r, storage: rb).transposed())
        var values = try SVD.singularValues(core, method: .gesdd).values
        values.append(contentsOf: [Double](repeating: 0, count: p - r))
        return values
    }
}
