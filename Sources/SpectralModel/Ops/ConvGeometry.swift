import LinearAlgebra

/// Geometry of a 1-D or 2-D (or 3-D) convolution on channels-last data, and its batched
/// im2col + GEMM products.
///
/// Output extent per spatial axis (effective kernel `k' = d(k − 1) + 1`, dilation d, stride s):
/// - `valid`: `⌊(n − k')/s⌋ + 1`, no padding;
/// - `same` (Keras/TensorFlow, and PyTorch `padding='same'` at stride 1): `⌈n/s⌉`, total padding
///   `max((⌈n/s⌉ − 1)s + k' − n, 0)`, the smaller half before;
/// - `causal` (Keras Conv1D): `k' − 1` zeros before, `⌈n/s⌉` outputs;
/// - `circular` (PyTorch `padding_mode='circular'` with `same` extents): indices wrap;
/// - explicit pads (PyTorch `padding=p`, ONNX `pads`): `⌊(n + p_b + p_a − k')/s⌋ + 1`.
///
/// `src[p·taps + t]` is the input position read by tap t at output position p, or −1 for a zero
/// of the padding. The im2col matrix of a batch has one row per (sample, output position) and
/// columns ordered `(channel, tap)`, so group g's weights `[c_out_g, c_in_g·taps]` (canonical
/// `[out, in/groups, k…]` order) multiply its column block directly: forward `Y_g = C_g W_gᵀ`,
/// input VJP `C̄_g = Ȳ_g W_g` then col2im (scatter-add), weight gradient `W̄_g = Ȳ_gᵀ C_g`.
/// Float64 `dgemm`; the sums are reordered against a direct loop, nothing else changes.
struct ConvGeometry: Sendable {
    let inSpatial: [Int]
    let outSpatial: [Int]
    let cin: Int
    let cout: Int
    let groups: Int
    let taps: Int
    let inPositions: Int
    let outPositions: Int
    let src: [Int32]
    /// The inverse tap table of the output-side products (`ConvGeometry+OutputSide`), set when
    /// they are cheaper than the input's im2col; nil otherwise.
    let outputSide: [Int32]?

    var cig: Int { cin / groups }
    var cog: Int { cout / groups }
    var inSize: Int { inPositions * cin }
    var outSize: Int { outPositions * cout }
    /// im2col row width.
    var colWidth: Int { cin * taps }

    init(inSpatial: [Int], kernel: [Int], strides: [Int], dilation: [Int], padding: String, pads: [Int]?,
         cin: Int, cout: Int, groups: Int, layer: String) throws {
        let d = inSpatial.count
        var out = [Int](), before = [Int]()
        let circular = padding == "circular"
        for a in 0..<d {
            let n = inSpatial[a], s = strides[a], keff = dilation[a] * (kernel[a] - 1) + 1
            switch padding {
            case "valid":
                guard n >= keff else { throw ForwardModelError("layer '\(layer)': input \(inSpatial) smaller than kernel \(kernel)") }
                out.append((n - keff) / s + 1)
                before.append(0)
            case "same", "circular":
                let o = (n + s - 1) / s
                out.append(o)
                before.append(Swift.max((o - 1) * s + keff - n, 0) / 2)
            case "causal":
                out.append((n + s - 1) / s)
                before.append(keff - 1)
            case "explicit":
                guard let pads, pads.count == 2 * d else {
                    throw ForwardModelError("layer '\(layer)': explicit padding without its \(2 * d) pads", kind: .unsupported)
                }
                let total = n + pads[a] + pads[d + a]
                guard total >= keff else { throw ForwardModelError("layer '\(layer)': padded input smaller than kernel \(kernel)") }
                out.append((total - keff) / s + 1)
                before.append(pads[a])
            default:
                throw ForwardModelError("layer '\(layer)': padding '\(padding)' is not one the forward engine runs (same, valid, circular, causal, explicit)",
                                        kind: .unsupported)
            }
        }
        self.inSpatial = inSpatial
        outSpatial = out
        self.cin = cin
        self.cout = cout
        self.groups = groups
        taps = kernel.reduce(1, *)
        inPositions = inSpatial.reduce(1, *)
        outPositions = out.reduce(1, *)
        var src = [Int32](repeating: -1, count: outPositions * taps)
        var oIdx = [Int](repeating: 0, count: d), tIdx = [Int](repeating: 0, count: d)
        for p in 0..<outPositions {
            var rem = p
            for a in stride(from: d - 1, through: 0, by: -1) { oIdx[a] = rem % out[a]; rem /= out[a] }
            for t in 0..<taps {
                var trem = t
                for a in stride(from: d - 1, through: 0, by: -1) { tIdx[a] = trem % kernel[a]; trem /= kernel[a] }
                var pos = 0, inside = true
                for a in 0..<d {
                    var i = oIdx[a] * strides[a] + tIdx[a] * dilation[a] - before[a]
                    if circular {
                        i = ((i % inSpatial[a]) + inSpatial[a]) % inSpatial[a]
                    } else if i < 0 || i >= inSpatial[a] {
                        inside = false
                    }
                    pos = pos * inSpatial[a] + i
                }
                if inside { src[p * taps + t] = Int32(pos) }
            }
        }
        self.src = src
        outputSide = Self.outputSideTable(src: src, inPositions: inPositions, outPositions: outPositions, taps: taps,
                                          cin: cin, cout: cout, groups: groups)
    }

    /// A buffer every element of which the caller writes before reading (im2col, or a GEMM with
    /// beta 0 over all its columns): no zero fill of up to 32 MB per call.
    static func scratch(_ count: Int) -> [Double] {
        [Double](unsafeUninitializedCapacity: count) { _, n in n = count }
    }

    /// Samples per im2col block, so that a block holds at most ~4 M doubles (32 MB).
    var blockRows: Int { Swift.max(1, (1 << 22) / Swift.max(1, outPositions * colWidth)) }

    /// im2col of rows `r0..<r1` of `x` (`rows × inSize`) into `cols` (`(r1−r0)·outPositions × colWidth`).
    func im2col(_ x: UnsafePointer<Double>, rows r0: Int, _ r1: Int, into cols: UnsafeMutablePointer<Double>) {
        let w = colWidth, cin = self.cin, taps = self.taps
        src.withUnsafeBufferPointer { sp in
            for r in r0..<r1 {
                let xb = x + r * inSize
                for p in 0..<outPositions {
                    // Written in row order (channel-major, taps inner): contiguous stores.
                    let row = cols + ((r - r0) * outPositions + p) * w, st = sp.baseAddress! + p * taps
                    for c in 0..<cin {
                        let dst = row + c * taps, xc = xb + c
                        for t in 0..<taps {
                            let s = Int(st[t])
                            dst[t] = s < 0 ? 0 : xc[s * cin]
                        }
                    }
                }
            }
        }
    }

    /// Scatter-adds `cols` (rows `r0..<r1`) back into `gx` (the transpose of `im2col`).
    func col2im(_ cols: UnsafePointer<Double>, rows r0: Int, _ r1: Int, into gx: UnsafeMutablePointer<Double>) {
        let w = colWidth, cin = self.cin, taps = self.taps
        src.withUnsafeBufferPointer { sp in
            for r in r0..<r1 {
                let xb = gx + r * inSize
                for p in 0..<outPositions {
                    let row = cols + ((r - r0) * outPositions + p) * w
                    for t in 0..<taps {
                        let s = Int(sp[p * taps + t])
                        if s < 0 { continue }
                        let xs = xb + s * cin
                        for c in 0..<cin { xs[c] += row[c * taps + t] }
                    }
                }
            }
        }
    }

    /// `y += conv(x, w)` for `rows` rows (no bias): per block, im2col and one GEMM per group.
    func forward(_ x: [Double], rows: Int, weights w: UnsafePointer<Double>, into y: inout [Double]) {
        if outputSide != nil { return forwardOutputSide(x, rows: rows, weights: w, into: &y) }
        let bs = blockRows, kw = cig * taps
        var cols = Self.scratch(Swift.min(bs, rows) * outPositions * colWidth)
        x.withUnsafeBufferPointer { xp in
            cols.withUnsafeMutableBufferPointer { cp in
                y.withUnsafeMutableBufferPointer { yp in
                    for r0 in stride(from: 0, to: rows, by: bs) {
                        let r1 = Swift.min(rows, r0 + bs), m = (r1 - r0) * outPositions
                        im2col(xp.baseAddress!, rows: r0, r1, into: cp.baseAddress!)
                        for g in 0..<groups {
                            BLAS.gemm(transB: true, m: m, n: cog, k: kw, cp.baseAddress! + g * kw, lda: colWidth,
                                      w + g * cog * kw, ldb: kw, beta: 1, yp.baseAddress! + r0 * outSize + g * cog, ldc: cout)
                        }
                    }
                }
            }
        }
    }

    /// `gx += convᵀ(gy, w)` for `rows` rows.
    func transpose(_ gy: [Double], rows: Int, weights w: UnsafePointer<Double>, into gx: inout [Double]) {
        if let inv = outputSide { return transposeOutputSide(gy, rows: rows, weights: w, inverse: inv, into: &gx) }
        let bs = blockRows, kw = cig * taps
        var cols = Self.scratch(Swift.min(bs, rows) * outPositions * colWidth)
        gy.withUnsafeBufferPointer { yp in
            cols.withUnsafeMutableBufferPointer { cp in
                gx.withUnsafeMutableBufferPointer { xp in
                    for r0 in stride(from: 0, to: rows, by: bs) {
                        let r1 = Swift.min(rows, r0 + bs), m = (r1 - r0) * outPositions
                        for g in 0..<groups {
                            BLAS.gemm(m: m, n: kw, k: cog, yp.baseAddress! + r0 * outSize + g * cog, lda: cout,
                                      w + g * cog * kw, ldb: kw, beta: 0, cp.baseAddress! + g * kw, ldc: colWidth)
                        }
                        col2im(cp.baseAddress!, rows: r0, r1, into: xp.baseAddress!)
                    }
                }
            }
        }
    }

    /// `gw += Σ_rows ∂⟨gy_r, conv(x_r, w)⟩/∂w` (one row of gy per row of x).
    func weightGradient(_ gy: [Double], _ x: [Double], rows: Int, into gw: UnsafeMutablePointer<Double>) {
        if let inv = outputSide { return weightGradientOutputSide(gy, x, rows: rows, inverse: inv, into: gw) }
        let bs = blockRows, kw = cig * taps
        var cols = Self.scratch(Swift.min(bs, rows) * outPositions * colWidth)
        gy.withUnsafeBufferPointer { yp in
            x.withUnsafeBufferPointer { xp in
                cols.withUnsafeMutableBufferPointer { cp in
                    for r0 in stride(from: 0, to: rows, by: bs) {
                        let r1 = Swift.min(rows, r0 + bs), m = (r1 - r0) * outPositions
                        im2col(xp.baseAddress!, rows: r0, r1, into: cp.baseAddress!)
                        for g in 0..<groups {
                            BLAS.gemm(transA: true, m: cog, n: kw, k: m, yp.baseAddress! + r0 * outSize + g * cog, lda: cout,
                                      cp.baseAddress! + g * kw, ldb: colWidth, beta: 1, gw + g * cog * kw, ldc: kw)
                        }
                    }
                }
            }
        }
    }

    /// Weight-gradient rows of sample `s`'s k cotangent rows `gy` (`k × outSize`) against the
    /// im2col of its input `cols` (`outPositions × colWidth`): row q gets `W̄ = Ȳ_qᵀ C`.
    func weightRows(_ gy: UnsafePointer<Double>, rows k: Int, cols: UnsafePointer<Double>, into out: UnsafeMutablePointer<Double>,
                    rowStride: Int) {
        let kw = cig * taps
        for q in 0..<k {
            for g in 0..<groups {
                BLAS.gemm(transA: true, m: cog, n: kw, k: outPositions, gy + q * outSize + g * cog, lda: cout,
                          cols + g * kw, ldb: colWidth, beta: 1, out + q * rowStride + g * cog * kw, ldc: kw)
            }
        }
    }
}
