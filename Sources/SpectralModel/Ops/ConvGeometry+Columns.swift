import LinearAlgebra

/// A batch's im2col kept by the forward pass (`OpSaved.values` of a `ConvOp`) for the passes that
/// read the same input again: the parameter-tangent JVP, the weight gradient, the second-order
/// step and the per-sample parameter Gram — every NTK and Hessian–vector product runs them, so a
/// data audit would otherwise gather the same columns once per product. Kept when the batch's
/// columns fit in `keptColumnsLimit` doubles (16 MB); the same GEMMs on the same values as the
/// blocked products of `ConvGeometry`, in one block.
extension ConvGeometry {
    static let keptColumnsLimit = 1 << 21

    /// Not when the output-side products (`ConvGeometry+OutputSide`) replace the columns.
    func keepsColumns(rows: Int) -> Bool { outputSide == nil && rows * outPositions * colWidth <= Self.keptColumnsLimit }

    /// im2col of all `rows` rows of `x` (`rows·outPositions × colWidth`).
    func columns(_ x: [Double], rows: Int) -> [Double] {
        var cols = Self.scratch(rows * outPositions * colWidth)
        x.withUnsafeBufferPointer { xp in
            cols.withUnsafeMutableBufferPointer { im2col(xp.baseAddress!, rows: 0, rows, into: $0.baseAddress!) }
        }
        return cols
    }

    /// `y += conv(x, w)` from the columns of x.
    func forward(columns cols: [Double], rows: Int, weights w: UnsafePointer<Double>, into y: inout [Double]) {
        let kw = cig * taps, m = rows * outPositions
        cols.withUnsafeBufferPointer { cp in
            y.withUnsafeMutableBufferPointer { yp in
                for g in 0..<groups {
                    BLAS.gemm(transB: true, m: m, n: cog, k: kw, cp.baseAddress! + g * kw, lda: colWidth,
                              w + g * cog * kw, ldb: kw, beta: 1, yp.baseAddress! + g * cog, ldc: cout)
                }
            }
        }
    }

    /// `gw += Σ_rows ∂⟨gy_r, conv(x_r, w)⟩/∂w` from the columns of x.
    func weightGradient(_ gy: [Double], columns cols: [Double], rows: Int, into gw: UnsafeMutablePointer<Double>) {
        let kw = cig * taps, m = rows * outPositions
        gy.withUnsafeBufferPointer { yp in
            cols.withUnsafeBufferPointer { cp in
                for g in 0..<groups {
                    BLAS.gemm(transA: true, m: cog, n: kw, k: m, yp.baseAddress! + g * cog, lda: cout,
                              cp.baseAddress! + g * kw, ldb: colWidth, beta: 1, gw + g * cog * kw, ldc: kw)
                }
            }
        }
    }

    /// Sample s's columns into `cols` (`outPositions × colWidth`): copied from the kept columns,
    /// or gathered from x.
    func sampleColumns(_ s: Int, kept: [Double], x: [Double], into cols: UnsafeMutablePointer<Double>) {
        let count = outPositions * colWidth
        if kept.count >= (s + 1) * count {
            kept.withUnsafeBufferPointer { cols.update(from: $0.baseAddress! + s * count, count: count) }
        } else {
            x.withUnsafeBufferPointer { im2col($0.baseAddress!, rows: s, s + 1, into: cols) }
        }
    }
}
