/// Low-rank products: the spectrum of `s·B·A` from its thin factors (LoRA updates, transformer
/// heads' QK and OV maps), never forming the product, and projected norms (the share of a change
/// inside a base matrix's top singular subspace; the thin SVD itself is `SVD.thin`).
public enum LowRank {
    /// Singular values of `ΔW = s·B·A` (`B` is `m × r`, `A` is `r × n`) from the factors alone:
    ///
    ///     B = Q_B R_B,  Aᵀ = Q_A R_A   (Householder QR, `dgeqrf`; Q never formed)
    ///     ΔW = Q_B (s · R_B R_Aᵀ) Q_Aᵀ
    ///
    /// Q_B and Q_A have orthonormal columns, so ΔW has the singular values of the small core
    /// `C = s · R_B · R_Aᵀ` (at most r × r), computed by `dgesdd`; the remaining min(m, n) − rank(C)
    /// singular values of ΔW are exactly zero. Cost O((m + n) r² + r³) instead of O(m n r) to form
    /// ΔW and O(m n min(m, n)) to decompose it. Both QRs and the SVD are backward stable, so the
    /// values agree with those of the formed product to `c·ε·σ_1` (tests: numpy on the formed
    /// s·B·A to 1e-9 relative). Returns the values (descending, `min(r, m, n)` of them) and
    /// `‖ΔW‖_F = ‖C‖_F`.
    public static func productSingularValues(b: Matrix, a: Matrix, scale: Double) throws -> [Double] {
        guard b.cols == a.rows else { throw LinearAlgebraError.dimensionMismatch("B \(b.rows)×\(b.cols) · A \(a.rows)×\(a.cols)") }
        guard b.allFinite, a.allFinite, scale.isFinite else { throw LinearAlgebraError.nonFinite }
        let r = b.cols
        if r == 0 || b.rows == 0 || a.cols == 0 { return [] }
        // R_B: min(m, r) × r; R_A (of Aᵀ, n × r): min(n, r) × r.
        let pb = Swift.min(b.rows, r), pa = Swift.min(a.cols, r)
        let rb = Matrix(rows: pb, cols: r, storage: try LAPACKCalls.qrR(b.storage, rows: b.rows, cols: r))
        let rA = Matrix(rows: pa, cols: r, storage: try LAPACKCalls.qrR(a.transposed().storage, rows: a.cols, cols: r))
        var core = try rb.multiplied(by: rA.transposed())
        for i in core.storage.indices { core.storage[i] *= scale }
        return try LAPACKCalls.gesddValues(core.storage, rows: core.rows, cols: core.cols).map { Swift.abs($0) }
    }

    /// `‖Xᵀ M Y‖_F²` for `X` (`m × k`), `M` (`m × n`), `Y` (`n × k'`).
    public static func projectedFrobeniusSquared(left x: Matrix, _ m: Matrix, right y: Matrix) throws -> Double {
        let core = try x.transposed().multiplied(by: m).multiplied(by: y)
        return core.frobeniusSquared
    }
}
