import Foundation
import LinearAlgebra
import WeightFiles

/// Spectra of large 2-D tensors read straight from a safetensors checkpoint (see
/// `RawTensorSource`), without materialising a Float64 copy of the whole tensor where it can be
/// avoided.
///
/// - `--svd gram` (default): for a stored `R × C` tensor with `C ≤ R`, the Gram `XᵀX` is
///   accumulated over row chunks of ~16 MB decoded to Float64 (`GramAccumulator`), so memory
///   stays at `C² · 8` bytes plus one chunk (the 32000×2048 bf16 embedding: 34 MB instead of
///   1 GB). The singular values of X and of the operator (X or Xᵀ) are the same; the accuracy
///   test and the `dgesdd` fallback are those of `SVD.singularValues`, so results equal the
///   in-memory path to rounding (the order of summation over rows differs).
/// - `--svd fast`: see `FastSpectrum`.
struct StreamedSpectrum {
    enum Outcome {
        case nonFinite(count: Int, first: Int)
        case values(SingularValueResult, frobenius: Double?, fast: FastSpectrum.Estimate?)
    }

    let source: RawTensorSource

    /// Bytes of Float64 decoded per chunk.
    static let chunkBytes = 16 << 20
    /// Tensors below this many elements take the in-memory path (nothing to gain).
    static let minimumElements = 1 << 18

    /// nil when the tensor is not handled here (the caller takes the in-memory path).
    func analyse(tensor name: String, svd: SVDChoice, seed: UInt64, sharing: CoreSharing? = nil) throws -> Outcome? {
        guard let loc = source.location(name), loc.info.shape.count == 2,
              loc.info.elementCount >= StreamedSpectrum.minimumElements else { return nil }
        let rows = loc.info.shape[0], cols = loc.info.shape[1]
        guard Swift.min(rows, cols) >= 2 else { return nil }
        switch svd {
        case .gram:
            // Float64 data may need power-of-two prescaling (SVD.gramValues): keep that in memory.
            guard loc.info.dtype != .float64 else { return nil }
            if cols <= rows { return try streamedGram(loc, rows: rows, cols: cols, sharing: sharing) }
            return try streamedGramWide(loc, rows: rows, cols: cols, sharing: sharing)
        case .fast:
            if FastSpectrum.prefersExact(rows: rows, cols: cols) {
                if loc.info.dtype != .float64 {
                    return cols <= rows ? try streamedGram(loc, rows: rows, cols: cols, sharing: sharing)
                                        : try streamedGramWide(loc, rows: rows, cols: cols, sharing: sharing)
                }
                let x = try source.loadFloat64(loc)
                if let bad = NonFinite.scan(x) { return .nonFinite(count: bad.count, first: bad.first) }
                return .values(try SVD.singularValues(Matrix(rows: rows, cols: cols, storage: x), method: .gramSyevd),
                               frobenius: nil, fast: nil)
            }
            let x = try source.loadFloat64(loc)
            if let bad = NonFinite.scan(x) { return .nonFinite(count: bad.count, first: bad.first) }
            let m = Matrix(rows: rows, cols: cols, storage: x)
            let (result, estimate) = try FastSpectrum.analyse(m, seed: seed)
            return .values(result, frobenius: estimate.frobenius, fast: estimate)
        case .exact, .topK:
            return nil
        }
    }

    /// A wide tensor (`rows < cols`, e.g. a Llama `down_proj` 4096×11008): the Gram of the
    /// smaller side `X Xᵀ = Σ_J X[:, J] X[:, J]ᵀ` accumulated over column blocks J of ~16 MB
    /// (each block read row segment by row segment into a row-major block B, or in one read when
    /// B is the whole tensor; `GramAccumulator.addColumns` adds `B Bᵀ` with `dsyrk` `Trans`,
    /// the same sums as the transposed copy with `NoTrans` that it replaced). Memory: `rows² · 8` bytes plus one block, instead of a whole
    /// Float64 copy (360 MB for 4096×11008) plus its Gram. Same accuracy test and `dgesdd`
    /// fallback as `streamedGram`.
    private func streamedGramWide(_ loc: RawTensorSource.Location, rows: Int, cols: Int, sharing: CoreSharing? = nil) throws -> Outcome {
        var acc = GramAccumulator(order: rows, sharing: sharing)
        let width = Swift.max(1, Swift.min(cols, StreamedSpectrum.chunkBytes / (8 * rows)))
        // Not zero-filled: each block is decoded into block[0..<rows·w] and only that is read.
        var block = [Double](unsafeUninitializedCapacity: width * rows) { _, n in n = width * rows }
        var scratch: [UInt8] = []
        var scan = ValueScan()
        var c0 = 0
        while c0 < cols {
            let w = Swift.min(width, cols - c0)
            // B = X[:, c0 ..< c0 + w], row-major rows × w; when it is the whole tensor (every
            // MiniLM/BERT-sized wide matrix), one read in stored order.
            try block.withUnsafeMutableBufferPointer { buf in
                if w == cols {
                    try source.read(loc, first: 0, into: UnsafeMutableBufferPointer(rebasing: buf[0..<(rows * cols)]), scratch: &scratch)
                } else {
                    for i in 0..<rows {
                        try source.read(loc, first: i * cols + c0, into: UnsafeMutableBufferPointer(rebasing: buf[(i * w)..<((i + 1) * w)]),
                                        scratch: &scratch)
                    }
                }
            }
            let base = c0
            block.withUnsafeBufferPointer { b in
                scan.see(UnsafeBufferPointer(rebasing: b[0..<(rows * w)])) { k in (k / w) * cols + base + k % w }
            }
            if scan.badCount == 0 {
                block.withUnsafeBufferPointer { acc.addColumns(UnsafeBufferPointer(rebasing: $0[0..<(rows * w)]), k: w) }
            }
            c0 += w
        }
        if scan.badCount > 0 { return .nonFinite(count: scan.badCount, first: scan.badFirst) }
        return try finish(&acc, allZero: scan.maxAbs == 0, loc, rows: rows, cols: cols)
    }

    private func streamedGram(_ loc: RawTensorSource.Location, rows: Int, cols: Int, sharing: CoreSharing? = nil) throws -> Outcome {
        var acc = GramAccumulator(order: cols, sharing: sharing)
        let chunkRows = Swift.max(1, Swift.min(rows, StreamedSpectrum.chunkBytes / (8 * cols)))
        // Not zero-filled: each iteration decodes into chunk[0..<n] and reads only that range.
        var chunk = [Double](unsafeUninitializedCapacity: chunkRows * cols) { _, n in n = chunkRows * cols }
        var scratch: [UInt8] = []
        var scan = ValueScan()
        var r = 0
        while r < rows {
            let c = Swift.min(chunkRows, rows - r)
            let n = c * cols
            try chunk.withUnsafeMutableBufferPointer { buf in
                try source.read(loc, first: r * cols, into: UnsafeMutableBufferPointer(rebasing: buf[0..<n]), scratch: &scratch)
            }
            let base = r * cols
            chunk.withUnsafeBufferPointer { scan.see(UnsafeBufferPointer(rebasing: $0[0..<n])) { base + $0 } }
            if scan.badCount == 0 {
                chunk.withUnsafeBufferPointer { acc.addRows(UnsafeBufferPointer(rebasing: $0[0..<n]), rows: c) }
            }
            r += c
        }
        if scan.badCount > 0 { return .nonFinite(count: scan.badCount, first: scan.badFirst) }
        return try finish(&acc, allZero: scan.maxAbs == 0, loc, rows: rows, cols: cols)
    }

    /// Non-finite count, first non-finite element (row-major index, whatever the reading order)
    /// and largest |value| of a tensor read in pieces.
    private struct ValueScan {
        var badCount = 0, badFirst = -1
        var maxAbs = 0.0

        /// A whole piece; `index(k)` is the row-major index of its k-th value. One branch-free
        /// pass (`Matrix.finiteMaxAbs`); the counting loop runs only when something is non-finite.
        mutating func see(_ values: UnsafeBufferPointer<Double>, index: (Int) -> Int) {
            let (finite, peak) = Matrix.finiteMaxAbs(values)
            if finite {
                maxAbs = Swift.max(maxAbs, peak)
                return
            }
            for k in values.indices { see(values[k], at: index(k)) }
        }

        @inline(__always) mutating func see(_ v: Double, at index: Int) {
            if !v.isFinite {
                if badFirst < 0 || index < badFirst { badFirst = index }
                badCount += 1
            } else if Swift.abs(v) > maxAbs {
                maxAbs = Swift.abs(v)
            }
        }
    }

    /// The spectrum from a finished Gram of a finite tensor: zeros for an all-zero tensor; else
    /// the Gram's eigenvalues when they resolve every singular value (`GramAccumulator`'s accuracy
    /// guard); else dgesdd on the whole tensor, as `SVD` does.
    private func finish(_ acc: inout GramAccumulator, allZero: Bool, _ loc: RawTensorSource.Location, rows: Int, cols: Int) throws -> Outcome {
        if allZero {
            return .values(SingularValueResult(values: [Double](repeating: 0, count: Swift.min(rows, cols)), method: .gramSyevd, isComplete: true),
                           frobenius: nil, fast: nil)
        }
        if let values = try acc.singularValues() {
            return .values(SingularValueResult(values: values, method: .gramSyevd, isComplete: true), frobenius: nil, fast: nil)
        }
        let x = try source.loadFloat64(loc)
        let m = Matrix(rows: rows, cols: cols, storage: x)
        // Large orders: the small values refined from a triangular factor (SVD.afterFailedGram);
        // otherwise, or when that cannot certify them, dgesdd on the whole tensor.
        if let lambda = acc.failedEigenvalues {
            return .values(try SVD.afterFailedGram(m, gramEigenvalues: lambda), frobenius: nil, fast: nil)
        }
        return .values(try SVD.singularValues(m, method: .gesdd), frobenius: nil, fast: nil)
    }
}
