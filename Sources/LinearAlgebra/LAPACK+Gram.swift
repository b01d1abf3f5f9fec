// The Gram matrices of the spectrum path (`SVD`, the streamed Gram of `StreamedSpectrum`): one
// `cblas_dsyrk` call, or `TiledGram`'s tiles with the same sums for large orders.
internal import CLAPACK

extension LAPACKCalls {
    /// Gram matrix of the smaller side of a row-major `rows × cols` matrix, in column-major
    /// lower-triangle storage `p × p`, `p = min(rows, cols)`:
    /// `AᵀA` when `cols ≤ rows`, `AAᵀ` otherwise (`cblas_dsyrk`).
    static func gramSmallerSide(_ a: UnsafeBufferPointer<Double>, rows: Int, cols: Int, sharing: CoreSharing? = nil) -> [Double] {
        BLASRuntime.ensureConfigured()
        let p = Swift.min(rows, cols)
        var g = [Double](repeating: 0, count: p * p)
        g.withUnsafeMutableBufferPointer { gp in
            // Row-major A (rows × cols) is column-major Aᵀ (cols × rows, lda = cols).
            if TiledGram.applies(order: p), let base = a.baseAddress {
                // Large orders: the same sums as one dsyrk call, as tiles other jobs can share.
                TiledGram.compute(TiledGram.Operand(base: base, ld: cols, transposed: cols > rows), order: p,
                                  k: Swift.max(rows, cols), accumulate: false, into: gp.baseAddress!, sharing: sharing)
            } else {
                syrkWhole(a, rows: rows, cols: cols, into: gp.baseAddress!)
            }
        }
        return g
    }

    /// The Gram of the smaller side as one `cblas_dsyrk` call (what `TiledGram` reproduces).
    static func syrkWhole(_ a: UnsafeBufferPointer<Double>, rows: Int, cols: Int, into g: UnsafeMutablePointer<Double>) {
        BLASRuntime.ensureConfigured()
        let p = Swift.min(rows, cols)
        if cols <= rows {
            // AᵀA = (Aᵀ)(Aᵀ)ᵀ : NoTrans on the column-major Aᵀ.
            cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, Int32(p), Int32(rows),
                        1.0, a.baseAddress, Int32(cols), 0.0, g, Int32(p))
        } else {
            // AAᵀ = (Aᵀ)ᵀ(Aᵀ) : Trans on the column-major Aᵀ.
            cblas_dsyrk(CblasColMajor, CblasLower, CblasTrans, Int32(p), Int32(cols),
                        1.0, a.baseAddress, Int32(cols), 0.0, g, Int32(p))
        }
    }

    /// `G += XᵀX` (lower triangle, column-major `n × n`) for a row-major `rows × n` chunk X.
    static func syrkAccumulate(_ chunk: UnsafePointer<Double>, rows: Int, n: Int, into g: UnsafeMutablePointer<Double>,
                               sharing: CoreSharing? = nil) {
        BLASRuntime.ensureConfigured()
        if TiledGram.applies(order: n) {
            TiledGram.compute(TiledGram.Operand(base: chunk, ld: n, transposed: false), order: n, k: rows, accumulate: true,
                              into: g, sharing: sharing)
            return
        }
        // Row-major chunk (rows × n) is column-major chunkᵀ (n × rows, lda = n).
        cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, Int32(n), Int32(rows), 1.0, chunk, Int32(n), 1.0, g, Int32(n))
    }

    /// `G += BBᵀ` (lower triangle, column-major `n × n`) for a row-major `n × k` block B.
    static func syrkAccumulateColumns(_ block: UnsafePointer<Double>, k: Int, n: Int, into g: UnsafeMutablePointer<Double>,
                                      sharing: CoreSharing? = nil) {
        BLASRuntime.ensureConfigured()
        if TiledGram.applies(order: n) {
            TiledGram.compute(TiledGram.Operand(base: block, ld: k, transposed: true), order: n, k: k, accumulate: true,
                              into: g, sharing: sharing)
            return
        }
        // Row-major B (n × k) is column-major Bᵀ (k × n, lda = k): BBᵀ = (Bᵀ)ᵀ(Bᵀ), Trans.
        cblas_dsyrk(CblasColMajor, CblasLower, CblasTrans, Int32(n), Int32(k), 1.0, block, Int32(k), 1.0, g, Int32(n))
    }
}
