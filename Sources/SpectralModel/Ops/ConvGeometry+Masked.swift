import LinearAlgebra

/// Per-sample products of a convolution when each sample carries many cotangent rows (k = C rows
/// of an input Jacobian) that share one zero pattern.
///
/// Behind a ReLU and a max-pool, a sample's cotangent at the convolution's output is zero at every
/// (position, channel) the activation switched off or the pool did not select — the same set for
/// all k rows of that sample (≈ 75 % of the outputs in a conv → ReLU → pool stack). Restricted to
/// the active outputs A of sample s (those nonzero in some row):
/// - input VJP: `Ḡx_s = Ḡ_s[:, A] · M_A`, with `M_A` (`|A| × inSize`) the rows of the
///   convolution's matrix for A (row (p, o) holds `w[o, c, t]` at input `(src(p, t), c)`): dgemms
///   of `k × |block| × span` over blocks of A and the inputs each reads, instead of the im2col
///   product's `k·P·c_out × c_in·taps` columns and their scatter (which for a small c_out is
///   bound by memory, not arithmetic);
/// - parameter Gram: `⟨R_a, R_b⟩ = Σ_o Ȳ_a[S_o, o]ᵀ (C C ᵀ)[S_o, S_o] Ȳ_b[S_o, o]` per output channel
///   o over its active positions S_o (ungrouped convolutions), instead of the dense
///   `P × P × k·c_out` and `k × k × P·c_out` products.
/// Entries left out are exact zeros, so the results equal the dense products up to the order of
/// the sums (float64, `|Δ| ≤ n·u·Σ|terms|`, u = 2⁻⁵³; Higham §3.5). A non-finite weight met only by
/// zero cotangents gives 0 here where the dense product gives NaN; the data audit refuses
/// non-finite weights before it runs.
extension ConvGeometry {
    /// Output coordinates (`position·c_out + channel`) where any of the k rows at `gy`
    /// (`k × outSize`) is nonzero (NaN counts as nonzero).
    func activeOutputs(_ gy: UnsafePointer<Double>, rows k: Int) -> [Int] {
        let size = outSize
        var on = [Bool](repeating: false, count: size)
        on.withUnsafeMutableBufferPointer { op in
            for q in 0..<k {
                let r = gy + q * size
                for e in 0..<size where r[e] != 0 { op[e] = true }
            }
        }
        return (0..<size).filter { on[$0] }
    }

    /// Flop ratio of the masked input VJP to the im2col one for `nnz` active outputs (< 1: cheaper).
    func maskedTransposeRatio(active nnz: Int) -> Double {
        Double(nnz) * Double(inSize) / (Double(outPositions) * Double(cout) * Double(cig * taps))
    }

    /// Rows of the convolution's matrix for the outputs `active` restricted to the input
    /// coordinates `lo ..< lo + span` (`|active| × span`, row-major; nothing of a row lies outside
    /// when the span covers the rows' receptive fields).
    func matrixRows(_ active: ArraySlice<Int>, weights w: UnsafePointer<Double>, lo: Int, span: Int) -> [Double] {
        let kw = cig * taps
        var m = [Double](repeating: 0, count: active.count * span)
        m.withUnsafeMutableBufferPointer { mp in
            src.withUnsafeBufferPointer { sp in
                for (a, col) in active.enumerated() {
                    let p = col / cout, o = col % cout, c0 = (o / cog) * cig
                    let row = mp.baseAddress! + a * span - lo, wo = w + o * kw
                    for t in 0..<taps {
                        let s = Int(sp[p * taps + t])
                        if s < 0 { continue }
                        let dst = row + s * cin + c0
                        for c in 0..<cig { dst[c] += wo[c * taps + t] }
                    }
                }
            }
        }
        return m
    }

    /// Active outputs per block of the masked input VJP: consecutive in position order, so a
    /// block's rows of the matrix span only the inputs its positions read (for torchcrepe's
    /// first layer, 4 positions × stride 4 + 512 taps of 1,024 inputs).
    static let maskedBlockRows = 64

    /// `gx_s += Ḡ_s[:, A_s] · M_{A_s}` for the k rows of sample s (rows `s·k ..< (s+1)·k`), one
    /// dgemm per block of `maskedBlockRows` active outputs over the input span that block reads.
    func maskedTranspose(_ gy: UnsafePointer<Double>, rows k: Int, active: [Int], weights w: UnsafePointer<Double>,
                         into gx: UnsafeMutablePointer<Double>) {
        let nnz = active.count, size = outSize
        if nnz == 0 { return }
        var g = [Double](repeating: 0, count: k * nnz)
        g.withUnsafeMutableBufferPointer { gp in
            for q in 0..<k {
                let src = gy + q * size, dst = gp.baseAddress! + q * nnz
                for (a, col) in active.enumerated() { dst[a] = src[col] }
            }
        }
        for b0 in stride(from: 0, to: nnz, by: Self.maskedBlockRows) {
            let b1 = Swift.min(nnz, b0 + Self.maskedBlockRows)
            var lo = Int.max, hi = -1
            src.withUnsafeBufferPointer { sp in
                for p in (active[b0] / cout)...(active[b1 - 1] / cout) {
                    for t in 0..<taps {
                        let s = Int(sp[p * taps + t])
                        if s >= 0 { lo = Swift.min(lo, s); hi = Swift.max(hi, s) }
                    }
                }
            }
            if hi < 0 { continue }
            let span = (hi - lo + 1) * cin
            let m = matrixRows(active[b0..<b1], weights: w, lo: lo * cin, span: span)
            g.withUnsafeBufferPointer { gp in
                m.withUnsafeBufferPointer { mp in
                    BLAS.gemm(m: k, n: span, k: b1 - b0, gp.baseAddress! + b0, lda: nnz, mp.baseAddress!, ldb: span,
                              beta: 1, gx + lo * cin, ldc: inSize)
                }
            }
        }
    }

    /// `gram (k × k) += Σ_o Ȳ_o M_o Ȳ_oᵀ` with `Ȳ_o = Ḡ[:, S_o, o]` (`k × |S_o|`) and
    /// `M_o = positions[S_o, S_o]` (`positions` = `C Cᵀ`, `P × P`, of one ungrouped sample):
    /// the weight part of the per-sample parameter Gram. `active` from `activeOutputs`.
    func maskedWeightGram(_ gy: UnsafePointer<Double>, rows k: Int, active: [Int], positions: UnsafePointer<Double>,
                          into gram: UnsafeMutablePointer<Double>) {
        let P = outPositions, size = outSize
        var perChannel = [[Int]](repeating: [], count: cout)
        for col in active { perChannel[col % cout].append(col / cout) }
        let widest = perChannel.map(\.count).max() ?? 0
        if widest == 0 { return }
        var y = [Double](repeating: 0, count: k * widest)
        var mo = [Double](repeating: 0, count: widest * widest)
        var t = [Double](repeating: 0, count: k * widest)
        y.withUnsafeMutableBufferPointer { yp in
            mo.withUnsafeMutableBufferPointer { mp in
                t.withUnsafeMutableBufferPointer { tp in
                    for o in 0..<cout {
                        let s = perChannel[o], w = s.count
                        if w == 0 { continue }
                        for q in 0..<k {
                            let row = gy + q * size + o, dst = yp.baseAddress! + q * w
                            for (a, p) in s.enumerated() { dst[a] = row[p * cout] }
                        }
                        for (a, p) in s.enumerated() {
                            let src = positions + p * P, dst = mp.baseAddress! + a * w
                            for (b, p2) in s.enumerated() { dst[b] = src[p2] }
                        }
                        BLAS.gemm(m: k, n: w, k: w, yp.baseAddress!, lda: w, mp.baseAddress!, ldb: w,
                                  beta: 0, tp.baseAddress!, ldc: w)
                        BLAS.gemm(transB: true, m: k, n: k, k: w, tp.baseAddress!, lda: w, yp.baseAddress!, ldb: w,
                                  beta: 1, gram, ldc: k)
                    }
                }
            }
        }
    }
}
