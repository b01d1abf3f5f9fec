// The Gram of a large matrix as independent tiles, so that an idle job can compute some of them
// (issue 20: a lone 2048² or 4096×1024 layer kept one of two cores idle), with every entry's
// arithmetic fixed by the shape alone: the result is the same to the bit whatever thread computes
// which tile and however many threads there are.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
internal import CLAPACK

/// `G = XXᵀ` (lower triangle, column-major `p × p`) for the `p × k` matrix X given as a strided
/// view, computed as square tiles `G[I, J]` (`I ≥ J`, `tile` = 256 rows/columns) — `dsyrk` on a
/// diagonal tile, `dgemm` below it — each tile summing over k in the chunks OpenBLAS's own `dsyrk`
/// uses: `kChunk` (= 384, `DGEMM_Q` of the SkylakeX/Cooperlake kernels) while at least `2·kChunk`
/// remain, then the rest in two halves `⌈r/2⌉, ⌊r/2⌋` when it exceeds `kChunk`
/// (`driver/level3/level3_syrk.c`). Each chunk is one block inside OpenBLAS (no further k split),
/// so every entry of G is `Σ_chunks fl(FMA chain over the chunk)`, added in chunk order — the
/// same operations in the same order as one `dsyrk` call of the whole matrix when `kChunk` is the
/// running kernel's `DGEMM_Q`: on this machine's Cooperlake kernels the tiled Gram equals
/// `cblas_dsyrk` to the bit for every order that is a multiple of 16 tested (1024–4096, tall and
/// wide, `TiledGramTests`); with other kernels it is a Gram of the same accuracy
/// (`|δG| ≤ k·u·|X||X|ᵀ`, Higham §3.5) whose summation order is still fixed by the shape alone.
/// Orders that are not a multiple of 16 showed last-ulp differences from one `dsyrk` call in some
/// edge tiles, so `applies(order:)` keeps those (and every order below 1024) on the single call.
enum TiledGram {
    static let tile = 256
    static let kChunk = 384
    static let minimumOrder = 1024

    /// Whether the Gram of order `p` is computed by tiles (a rule on the shape only, so that a
    /// report never depends on `--jobs`).
    static func applies(order p: Int) -> Bool { p >= minimumOrder && p % 16 == 0 }

    /// The k chunks `(start, length)` of OpenBLAS's `dsyrk` driver for block size `q`.
    static func chunks(k: Int, q: Int = kChunk) -> [(start: Int, length: Int)] {
        var out: [(Int, Int)] = []
        var start = 0
        while start < k {
            var length = k - start
            if length >= 2 * q { length = q } else if length > q { length = (length + 1) / 2 }
            out.append((start, length))
            start += length
        }
        return out
    }

    /// X as OpenBLAS sees it: `transposed == false`: X is column-major `p × k` with leading
    /// dimension `ld` (element (i, t) at `base[i + t·ld]`); `transposed == true`: X is stored as
    /// column-major Xᵀ (`k × p`, element (i, t) at `base[i·ld + t]`).
    struct Operand: @unchecked Sendable {
        let base: UnsafePointer<Double>
        let ld: Int
        let transposed: Bool

        func at(row i: Int, chunk t: Int) -> UnsafePointer<Double> {
            transposed ? base + i * ld + t : base + i + t * ld
        }
    }

    /// `G ← XXᵀ` (`accumulate` false: β = 0 on the first chunk) or `G ← G + XXᵀ` (`accumulate`
    /// true: β = 1 throughout, as `GramAccumulator`'s `dsyrk` with β = 1), lower triangle of the
    /// column-major `p × p` G. Tiles run on the calling thread and on any thread `sharing` lends.
    static func compute(_ x: Operand, order p: Int, k: Int, accumulate: Bool,
                        into g: UnsafeMutablePointer<Double>, sharing: CoreSharing?) {
        BLASRuntime.ensureConfigured()
        let blocks = (p + tile - 1) / tile
        let pairs: [(Int, Int)] = (0..<blocks).flatMap { j in (j..<blocks).map { i in (i, j) } }
        let parts = chunks(k: k)
        let out = SendablePointer(g)
        let run: @Sendable (Int) -> Void = { n in
            let (bi, bj) = pairs[n]
            let i0 = bi * tile, j0 = bj * tile
            let mI = Swift.min(tile, p - i0), nJ = Swift.min(tile, p - j0)
            let c = out.pointer + i0 + j0 * p
            for (number, part) in parts.enumerated() {
                let beta = (!accumulate && number == 0) ? 0.0 : 1.0
                let xj = x.at(row: j0, chunk: part.start)
                if bi == bj {
                    cblas_dsyrk(CblasColMajor, CblasLower, x.transposed ? CblasTrans : CblasNoTrans, Int32(nJ), Int32(part.length),
                                1.0, xj, Int32(x.ld), beta, c, Int32(p))
                } else {
                    let xi = x.at(row: i0, chunk: part.start)
                    cblas_dgemm(CblasColMajor, x.transposed ? CblasTrans : CblasNoTrans, x.transposed ? CblasNoTrans : CblasTrans,
                                Int32(mI), Int32(nJ), Int32(part.length), 1.0, xi, Int32(x.ld), xj, Int32(x.ld), beta, c, Int32(p))
                }
            }
        }
        if let sharing {
            sharing.perform(count: pairs.count, run)
        } else {
            for n in 0..<pairs.count { run(n) }
        }
    }
}

/// A raw pointer handed to the threads that compute disjoint tiles of one Gram.
struct SendablePointer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Double>
    init(_ p: UnsafeMutablePointer<Double>) { pointer = p }
}
