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
/// view, either as the one `dsyrk` call every Gram used before, or — when other cores are idle
/// (`CoreSharing.idleCores`) — as square tiles `G[I, J]` (`I ≥ J`; `dsyrk` on a diagonal tile,
/// `dgemm` below it) computed by those cores too. Each tile sums over k in the chunks OpenBLAS's
/// own `dsyrk` driver uses: `kChunk` (= 384, `DGEMM_Q` of the SkylakeX/Cooperlake kernels) while at
/// least `2·kChunk` remain, then the rest in two halves `⌈r/2⌉, ⌊r/2⌋` when it exceeds `kChunk`
/// (`driver/level3/level3_syrk.c`). Each chunk is one block inside OpenBLAS (no further k split),
/// so every entry of G is `Σ_chunks fl(FMA chain over the chunk)`, added in chunk order: the same
/// operations in the same order as the one `dsyrk` call. On the SkylakeX/Cooperlake kernels the
/// tiled Gram equals the single call to the bit for every order that is a multiple of 16 and
/// tile edges at multiples of 64 (`TiledGramTests`: 1024–1536, tall and wide, tiles 256–768; a
/// ctypes check: 1088–4096 square, 5632×2048, 2048×5632; the 2048² and 4096×1024 benchmark
/// reports), so whether a Gram is tiled — which depends on the moment's idle cores — never
/// changes a bit. Orders that are not a multiple of 16 showed last-ulp differences in edge tiles,
/// and other kernels have another `DGEMM_Q`: `applies(order:)` keeps those on the single call.
///
/// Cost: smaller tiles repack the operands more often (measured here, one thread, CPU: 2048² Gram
/// 184 ms as one call, 192 / 218 / 266 ms in tiles of 1024 / 512 / 256), so a Gram is tiled only
/// when another core is idle, in as few tiles as give each thread a share (`tileSize`).
enum TiledGram {
    static let kChunk = 384
    static let minimumOrder = 1024
    /// OpenBLAS core families whose `DGEMM_Q` is `kChunk` (where tiles equal one `dsyrk` call).
    static let kernels: Set<String> = ["SkylakeX", "Cooperlake"]

    /// Whether the Gram of order `p` may be tiled: tiled or not, the result is the same to the bit.
    static func applies(order p: Int) -> Bool {
        p >= minimumOrder && p % 16 == 0 && kernels.contains(BLASRuntime.coreName)
    }

    /// The tile edge for `threads` threads: `p/threads` rounded up to a multiple of 64, at least
    /// 256 (for two threads, tiles of half the order: two diagonal tiles of ¼ of the work each and
    /// one off-diagonal tile of ½).
    static func tileSize(order p: Int, threads: Int) -> Int {
        let share = (p + threads - 1) / Swift.max(1, threads)
        return Swift.max(256, (share + 63) / 64 * 64)
    }

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

    /// `G ← XXᵀ` (`accumulate` false: β = 0) or `G ← G + XXᵀ` (`accumulate` true: β = 1, as
    /// `GramAccumulator`'s `dsyrk`), lower triangle of the column-major `p × p` G. One `dsyrk` call
    /// when no other core is idle (or `tile ≥ p`); else tiles on the calling thread and the idle
    /// cores of `sharing`. `tile` overrides the tile edge (tests).
    static func compute(_ x: Operand, order p: Int, k: Int, accumulate: Bool,
                        into g: UnsafeMutablePointer<Double>, sharing: CoreSharing?, tile: Int? = nil) {
        BLASRuntime.ensureConfigured()
        let threads = 1 + (sharing?.idleCores() ?? 0)
        let edge = tile ?? (threads > 1 ? tileSize(order: p, threads: threads) : p)
        if edge >= p {
            cblas_dsyrk(CblasColMajor, CblasLower, x.transposed ? CblasTrans : CblasNoTrans, Int32(p), Int32(k),
                        1.0, x.base, Int32(x.ld), accumulate ? 1.0 : 0.0, g, Int32(p))
            return
        }
        let blocks = (p + edge - 1) / edge
        let pairs: [(Int, Int)] = (0..<blocks).flatMap { j in (j..<blocks).map { i in (i, j) } }
        let parts = chunks(k: k)
        let out = SendablePointer(g)
        let run: @Sendable (Int) -> Void = { n in
            let (bi, bj) = pairs[n]
            let i0 = bi * edge, j0 = bj * edge
            let mI = Swift.min(edge, p - i0), nJ = Swift.min(edge, p - j0)
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
