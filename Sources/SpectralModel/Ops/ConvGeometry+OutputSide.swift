import LinearAlgebra

/// Output-side products of an ungrouped convolution that narrows the channels (c_out·inPositions
/// well below c_in·outPositions, e.g. torchcrepe's conv2: 128 → 16 channels, 64 taps): instead of
/// the input's im2col (`outPositions × c_in·taps`, 8 MB per sample there), which every one-row
/// pass would write and read again, the passes gather the much smaller "output columns"
/// `G[(r, q), t·c_out + o] = ȳ[r, p(q, t), o]` (`inPositions × c_out·taps`, 1 MB), with `p(q, t)`
/// the output position whose tap t reads input position q (at most one: `q = p·s + t·d − pad`
/// is injective in p), or the products `Z = X Ŵᵀ` of the input with the permuted weights
/// `Ŵ[t·c_out + o, c] = w[o, c, t]`:
/// - input VJP `Ḡx = G Ŵ` (one dgemm `inPositions × c_in × c_out·taps`);
/// - weight gradient `w̄[o, c, t] += (Gᵀ X)[t·c_out + o, c]`;
/// - forward `y[p, o] = Σ_t Z[src(p, t), t·c_out + o]`, `Z = X Ŵᵀ`.
/// The same sums as the im2col products in another order (float64; `|Δ| ≤ n·u·Σ|terms|`, Higham
/// §3.5): reports agree to ~1e-16 relative.
extension ConvGeometry {
    /// The inverse tap table `inv[q·taps + t]` (output position or −1) when the output side is
    /// cheaper (ungrouped, `2·inPositions·c_out ≤ outPositions·c_in`), else nil.
    static func outputSideTable(src: [Int32], inPositions: Int, outPositions: Int, taps: Int, cin: Int, cout: Int,
                                groups: Int) -> [Int32]? {
        guard groups == 1, 2 * inPositions * cout <= outPositions * cin else { return nil }
        var inv = [Int32](repeating: -1, count: inPositions * taps)
        for p in 0..<outPositions {
            for t in 0..<taps {
                let q = Int(src[p * taps + t])
                if q < 0 { continue }
                if inv[q * taps + t] >= 0 { return nil }  // two outputs read q by tap t (wrapped padding)
                inv[q * taps + t] = Int32(p)
            }
        }
        return inv
    }

    /// Rows per output-side block (G or Z of a block ≤ 4 M doubles).
    var outputSideBlockRows: Int { Swift.max(1, (1 << 22) / Swift.max(1, inPositions * cout * taps)) }

    /// `Ŵ[t·c_out + o, c] = w[o, c, t]` (`c_out·taps × c_in`).
    func permutedWeights(_ w: UnsafePointer<Double>) -> [Double] {
        var out = Self.scratch(cout * taps * cin)
        out.withUnsafeMutableBufferPointer { op in
            // Destination order (contiguous stores); one output channel's block of w is read.
            for o in 0..<cout {
                let wo = w + o * cin * taps
                for t in 0..<taps {
                    let dst = op.baseAddress! + (t * cout + o) * cin
                    for c in 0..<cin { dst[c] = wo[c * taps + t] }
                }
            }
        }
        return out
    }

    /// G of rows `r0..<r1` of `gy` (`rows × outSize`) into `g` (`(r1−r0)·inPositions × c_out·taps`).
    func outputColumns(_ gy: UnsafePointer<Double>, rows r0: Int, _ r1: Int, inverse inv: [Int32], into g: UnsafeMutablePointer<Double>) {
        let w = cout * taps
        inv.withUnsafeBufferPointer { ip in
            for r in r0..<r1 {
                let yb = gy + r * outSize
                for q in 0..<inPositions {
                    let row = g + ((r - r0) * inPositions + q) * w, iq = ip.baseAddress! + q * taps
                    for t in 0..<taps {
                        let p = Int(iq[t]), dst = row + t * cout
                        if p < 0 {
                            for o in 0..<cout { dst[o] = 0 }
                        } else {
                            let src = yb + p * cout
                            for o in 0..<cout { dst[o] = src[o] }
                        }
                    }
                }
            }
        }
    }

    /// `gx += convᵀ(gy, w)`, output side.
    func transposeOutputSide(_ gy: [Double], rows: Int, weights w: UnsafePointer<Double>, inverse inv: [Int32], into gx: inout [Double]) {
        let bs = outputSideBlockRows, kw = cout * taps
        let wp = permutedWeights(w)
        var g = Self.scratch(Swift.min(bs, rows) * inPositions * kw)
        gy.withUnsafeBufferPointer { yp in
            g.withUnsafeMutableBufferPointer { gp in
                wp.withUnsafeBufferPointer { pp in
                    gx.withUnsafeMutableBufferPointer { xp in
                        for r0 in stride(from: 0, to: rows, by: bs) {
                            let r1 = Swift.min(rows, r0 + bs)
                            outputColumns(yp.baseAddress!, rows: r0, r1, inverse: inv, into: gp.baseAddress!)
                            BLAS.gemm(m: (r1 - r0) * inPositions, n: cin, k: kw, gp.baseAddress!, lda: kw, pp.baseAddress!, ldb: cin,
                                      beta: 1, xp.baseAddress! + r0 * inSize, ldc: cin)
                        }
                    }
                }
            }
        }
    }

    /// `gw += Σ_rows ∂⟨gy_r, conv(x_r, w)⟩/∂w`, output side.
    func weightGradientOutputSide(_ gy: [Double], _ x: [Double], rows: Int, inverse inv: [Int32], into gw: UnsafeMutablePointer<Double>) {
        let bs = outputSideBlockRows, kw = cout * taps
        var g = Self.scratch(Swift.min(bs, rows) * inPositions * kw)
        var t = [Double](repeating: 0, count: kw * cin)
        gy.withUnsafeBufferPointer { yp in
            x.withUnsafeBufferPointer { xp in
                g.withUnsafeMutableBufferPointer { gp in
                    t.withUnsafeMutableBufferPointer { tp in
                        for r0 in stride(from: 0, to: rows, by: bs) {
                            let r1 = Swift.min(rows, r0 + bs)
                            outputColumns(yp.baseAddress!, rows: r0, r1, inverse: inv, into: gp.baseAddress!)
                            BLAS.gemm(transA: true, m: kw, n: cin, k: (r1 - r0) * inPositions, gp.baseAddress!, lda: kw,
                                      xp.baseAddress! + r0 * inSize, ldb: cin, beta: 1, tp.baseAddress!, ldc: cin)
                        }
                        for o in 0..<cout {
                            let go = gw + o * cin * taps
                            for k in 0..<taps {
                                let src = tp.baseAddress! + (k * cout + o) * cin
                                for c in 0..<cin { go[c * taps + k] += src[c] }
                            }
                        }
                    }
                }
            }
        }
    }

    /// `y += conv(x, w)`, output side.
    func forwardOutputSide(_ x: [Double], rows: Int, weights w: UnsafePointer<Double>, into y: inout [Double]) {
        let bs = outputSideBlockRows, kw = cout * taps
        let wp = permutedWeights(w)
        var z = Self.scratch(Swift.min(bs, rows) * inPositions * kw)
        x.withUnsafeBufferPointer { xp in
            z.withUnsafeMutableBufferPointer { zp in
                wp.withUnsafeBufferPointer { pp in
                    y.withUnsafeMutableBufferPointer { yp in
                        src.withUnsafeBufferPointer { sp in
                            for r0 in stride(from: 0, to: rows, by: bs) {
                                let r1 = Swift.min(rows, r0 + bs)
                                BLAS.gemm(transB: true, m: (r1 - r0) * inPositions, n: kw, k: cin, xp.baseAddress! + r0 * inSize, lda: cin,
                                          pp.baseAddress!, ldb: cin, beta: 0, zp.baseAddress!, ldc: kw)
                                for r in r0..<r1 {
                                    let zb = zp.baseAddress! + (r - r0) * inPositions * kw
                                    for p in 0..<outPositions {
                                        let row = yp.baseAddress! + r * outSize + p * cout
                                        for t in 0..<taps {
                                            let s = Int(sp[p * taps + t])
                                            if s < 0 { continue }
                                            let zr = zb + s * kw + t * cout
                                            for o in 0..<cout { row[o] += zr[o] }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
