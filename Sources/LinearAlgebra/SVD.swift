/// Singular values of real float64 matrices.
///
/// Paths (every result records its `method`):
/// - `.gramSyevd` (default): `G = AᵀA` or `AAᵀ` of the smaller side in float64 (`dsyrk`), its
///   eigenvalues (`dsyevd`, values only), `σ_i = sqrt(max(λ_i, 0))`. Accuracy: the computed λ
///   carry an absolute error of order `p·ε·λ_1` (p = min(m, n)), so
///   `|δσ_i| ≲ p·ε·σ_1²/(2σ_i)` and never more than about `sqrt(p·ε)·σ_1`. Large σ match
///   `dgesdd` to rounding; small ones lose relative accuracy as `κ_i² ε`. Whenever some
///   `λ_i < λ_1 · p·ε / (2·gramAccuracyTarget)` — i.e. the pessimistic relative error of σ_i
///   could exceed `gramAccuracyTarget` (1e-4), which also covers every numerically rank-deficient
///   matrix, where the Gram cannot tell a zero σ from one of order `sqrt(ε)·σ_1` — the result is
///   recomputed with `dgesdd` and reported as `.gesdd` — from p = `refinementMinimumOrder` (1024)
///   on, the values below the threshold are first recomputed from the inverse of a triangular
///   factor and certified (`.gramQRInverse`, `SVD+SmallValues.swift`), `dgesdd` only when that
///   fails. So `rank` and `sigma_min` (SPEC §2) are always decided on values that are accurate
///   to `c·ε·σ_1` or to `1e-4` relative.
/// - `.gesdd`: LAPACK `dgesdd`, values only. Backward stable: `|δσ_i| ≤ c·p·ε·σ_1`.
/// - `topK` / `spectralNorm`: Golub–Kahan–Lanczos (see `Lanczos`), used when k is small relative
///   to min(m, n) and the cost model (`denseIsCheaper`) favours it; otherwise the dense path,
///   truncated (exact, `isComplete` false unless k ≥ min(m, n)).
///
/// Degenerate shapes never reach LAPACK: an empty matrix has no singular values, `1×n` and
/// `n×1` have the single value `‖A‖₂ = ‖A‖_F`, a zero matrix has all σ = 0. Non-finite entries
/// throw `.nonFinite` before any LAPACK call.
public enum SVD {
    /// Relative accuracy the Gram path must guarantee (pessimistically) for every σ_i it returns;
    /// below that it falls back to `dgesdd`.
    public static let gramAccuracyTarget = 1e-4

    /// `sharing`: idle jobs may compute tiles of a large Gram (`TiledGram`); the values are the
    /// same to the bit with or without it.
    public static func singularValues(_ a: Matrix, method: SpectrumMethod = .gramSyevd, sharing: CoreSharing? = nil) throws
        -> SingularValueResult {
        // One pass for the finiteness check, the zero test and the prescaling peak.
        let (finite, peak) = a.finiteMaxAbs()
        guard finite else { throw LinearAlgebraError.nonFinite }
        if let trivial = trivialSpectrum(a, method: method == .gesdd ? .gesdd : .gramSyevd, peak: peak) {
            return trivial
        }
        switch method {
        case .gramSyevd, .gramQRInverse:
            return try gramResult(a, peak: peak, sharing: sharing)
        case .gesdd:
            return SingularValueResult(values: try LAPACKCalls.gesddValues(a.storage, rows: a.rows, cols: a.cols),
                                       method: .gesdd, isComplete: true)
        case .lanczosTopK, .powerIteration:
            throw LinearAlgebraError.invalidArgument("use SVD.topK / SVD.spectralNorm for \(method.rawValue)")
        case .fftExact, .upperBound:
            throw LinearAlgebraError.invalidArgument("\(method.rawValue) applies to convolutions, not matrices")
        }
    }

    /// The k largest singular values. Lanczos (Golub–Kahan, full reorthogonalisation, seeded
    /// start) when `k` is small against `min(m, n)`; the dense default path otherwise.
    /// `tolerance`: every returned θ_i has a singular value of A within `tolerance · θ_1`
    /// (residual bound; see `Lanczos`). Values are lower bounds of σ_1 … σ_k (interlacing).
    /// How `topK` / `spectralNorm` choose between Krylov and the dense path.
    public enum TopKStrategy: Sendable {
        /// Dense when k is a large share of min(m, n), when min(m, n) ≤ 64, or when the cost model
        /// `denseIsCheaper` predicts the full Gram path to be faster (e.g. 768×3072 here).
        case automatic
        /// Lanczos whenever `k < min(m, n)`.
        case lanczos
        /// The dense default path, truncated to k values.
        case dense
    }

    /// Cost model calibrated on this machine (OpenBLAS SkylakeX kernels, one thread): the Gram
    /// path runs `max(m,n)·q² + 4q³/3` flops at ~25 GFLOP/s; Lanczos needs about `60 + 8k`
    /// iterations on unstructured (Marchenko–Pastur-like) data — fewer on trained weights with a
    /// separated top spectrum — each streaming the matrix twice at ~20 GB/s (when it fits
    /// in a 4 MB cache, where per-iteration overheads weigh more: 30 GB/s effective). True when the dense path is predicted faster.
    public static func denseIsCheaper(rows m: Int, cols n: Int, k: Int) -> Bool {
        let big = Double(Swift.max(m, n)), q = Double(Swift.min(m, n))
        let denseSeconds = (big * q * q + 4.0 / 3.0 * q * q * q) / 25e9
        let bytes = 8 * big * q
        let bandwidth = bytes <= 4e6 ? 30e9 : 20e9
        let lanczosSeconds = (60 + 8 * Double(k)) * 2 * bytes / bandwidth
        return denseSeconds < lanczosSeconds
    }

    public static func topK(_ a: Matrix, k: Int, tolerance: Double = 1e-10, seed: UInt64 = 0x5EED,
                            strategy: TopKStrategy = .automatic) throws -> SingularValueResult {
        guard k >= 1 else { throw LinearAlgebraError.invalidArgument("k = \(k) < 1") }
        guard tolerance > 0 else { throw LinearAlgebraError.invalidArgument("tolerance must be > 0") }
        guard a.allFinite else { throw LinearAlgebraError.nonFinite }
        let p = a.rankBound
        if p == 0 { return SingularValueResult(values: [], method: .gramSyevd, isComplete: true) }
        let dense: Bool
        switch strategy {
        case .dense: dense = true
        case .lanczos: dense = k >= p
        case .automatic: dense = p <= 64 || k * 4 >= p || denseIsCheaper(rows: a.rows, cols: a.cols, k: k)
        }
        if dense {
            var r = try singularValues(a)
            r.isComplete = k >= p
            r.values = Array(r.values.prefix(k))
            return r
        }
        let op = Lanczos.Operator(matrix: a)
        do {
            return try Lanczos.topK(op, k: k, tolerance: tolerance, seed: seed,
                                    maxIterations: Swift.min(p - 1, Swift.max(4 * k + 100, 400)))
        } catch LinearAlgebraError.notConverged {
            var r = try singularValues(a)
            r.isComplete = false
            r.values = Array(r.values.prefix(k))
            return r
        }
    }

    /// σ_max alone, by Lanczos with k = 1, with the bracket `[values[0], values[0] + certificate]`:
    /// the lower end is rigorous (a Ritz value never exceeds σ_1); the upper end holds for the
    /// singular value nearest the Ritz value, which is σ_1 unless the seeded start vector is
    /// numerically orthogonal to the top singular subspace (probability ~0 for a random start).
    /// When the cost model prefers the dense path (small or very rectangular matrices), the
    /// result is the exact σ_1 of the Gram/gesdd path (no certificate needed; `method` says so).
    public static func spectralNorm(_ a: Matrix, tolerance: Double = 1e-10, seed: UInt64 = 0x5EED,
                                    strategy: TopKStrategy = .automatic) throws -> SingularValueResult {
        try topK(a, k: 1, tolerance: tolerance, seed: seed, strategy: strategy)
    }

    /// σ_max alone: the square root of the largest eigenvalue of the Gram of the smaller side
    /// (`dsyrk` + `dsyevr` for that one eigenvalue), with the same power-of-two prescaling as the Gram path. Unlike the full
    /// spectrum, the largest eigenvalue of a Gram is accurate to a relative p·ε (p = min(m, n))
    /// whatever the conditioning (Weyl: the rounding of G is ≲ p·ε·‖A‖², and λ_max = ‖A‖²), so no
    /// `dgesdd` fallback is ever needed (tested against `dgesdd` on rank-deficient and
    /// ill-conditioned matrices to 1e-13). For norms that must be certified upper bounds, callers
    /// add their own relative margin.
    public static func largestSingularValue(_ a: Matrix) throws -> Double {
        // No ceiling is ever certified: the value is always computed.
        try largestSingularValue(a, unlessAtMost: -.infinity)!
    }

    /// `σ_max(a)`, or nil when it is certified not to exceed `ceiling` — then no eigenvalue is
    /// computed. For a maximum over many matrices (`ConvKernel.circularSpectralNorm`): once one
    /// value is known, most of the others only need this cheaper check.
    ///
    /// The check: with `G` the (prescaled) Gram of order p and `μ = ceiling²·(1 − δ)`,
    /// `δ = 2p(p+1)ε`, the Cholesky factorisation of `μI − G` (`dpotrf`, p³/3 flops in level-3
    /// BLAS, against ~4p³/3 with half in level-2 for the tridiagonal reduction) runs to the end.
    /// In floating point that proves `λ_min(μI − G + E) ≥ 0` with `‖E‖₂ ≤ γ_{p+1}·p·max_i m_ii ≤
    /// p(p+1)ε·μ/(1 − (p+1)ε)` (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed.,
    /// Thm. 10.5; the bound on ‖|L||Lᵀ|‖₂ by p·max m_ii), hence `λ_max(G) ≤ μ(1 + p(p+1)ε +
    /// O(ε²)) ≤ ceiling²`. When the check fails (`σ_max` above or within δ of `ceiling`), the
    /// value is computed as by `largestSingularValue(_:)`, to the bit.
    public static func largestSingularValue(_ a: Matrix, unlessAtMost ceiling: Double) throws -> Double? {
        guard a.allFinite else { throw LinearAlgebraError.nonFinite }
        if let trivial = trivialSpectrum(a, method: .gramSyevd) {
            let value = trivial.values.first ?? 0
            return value <= ceiling ? nil : value
        }
        let p = a.rankBound
        var (g, scale) = prescaledGram(a)
        if try certifiedAtMost(ceiling, gram: g, scale: scale, order: p, complex: false) { return nil }
        let lambda = try LAPACKCalls.largestSymmetricEigenvalue(&g, n: p)
        return Swift.max(lambda, 0).squareRoot() / scale
    }

    /// Whether `λ_max(G) ≤ (ceiling·scale)²` is certified by the Cholesky factorisation of
    /// `μI − G`, `μ = (ceiling·scale)²(1 − δ)` (see `largestSingularValue(_:unlessAtMost:)`).
    /// `complex`: `G` is Hermitian, interleaved (re, im), and δ = 4p(p+1)ε instead of 2p(p+1)ε
    /// (Higham's γ constants for complex operations are at most twice the real ones). False
    /// without a factorisation when there is nothing to certify (ceiling ≤ 0 or not finite).
    private static func certifiedAtMost(_ ceiling: Double, gram g: [Double], scale: Double, order p: Int, complex: Bool) throws -> Bool {
        let delta = (complex ? 4 : 2) * Double(p) * Double(p + 1) * Double.ulpOfOne
        let scaledCeiling = ceiling * scale
        let mu = scaledCeiling * scaledCeiling * (1 - delta)
        guard delta < 0.5, ceiling > 0, mu.isFinite, mu > 0 else { return false }
        var shifted = g.map { -$0 }
        let stride = complex ? 2 : 1
        for i in 0..<p { shifted[stride * (i * p + i)] += mu }
        return complex ? try LAPACKCalls.complexCholeskySucceeds(&shifted, n: p) : try LAPACKCalls.choleskySucceeds(&shifted, n: p)
    }

    /// `complexLargestSingularValue(real:imaginary:)`, or nil when certified not to exceed
    /// `ceiling`: the check of `largestSingularValue(_:unlessAtMost:)` on the Hermitian Gram
    /// (`zpotrf` of `μI − G`), with δ = 4p(p+1)ε for complex arithmetic.
    public static func complexLargestSingularValue(real re: Matrix, imaginary im: Matrix, unlessAtMost ceiling: Double) throws -> Double? {
        try complexLargestSingularValue(interleaved: interleave(re, im), rows: re.rows, cols: re.cols, unlessAtMost: ceiling)
    }

    /// The same for a complex `rows × cols` matrix given as interleaved (re, im) doubles.
    public static func complexLargestSingularValue(interleaved z: [Double], rows: Int, cols: Int, unlessAtMost ceiling: Double) throws -> Double? {
        guard let (gram, scale, p) = try prescaledComplexGram(z, rows: rows, cols: cols) else { return 0 <= ceiling ? nil : 0 }
        var g = gram
        if try certifiedAtMost(ceiling, gram: g, scale: scale, order: p, complex: true) { return nil }
        let lambda = try LAPACKCalls.largestHermitianEigenvalue(&g, n: p)
        return Swift.max(lambda, 0).squareRoot() / scale
    }

    /// `[re₀, im₀, re₁, im₁, …]`, checking the shapes agree.
    static func interleave(_ re: Matrix, _ im: Matrix) throws -> [Double] {
        guard re.rows == im.rows, re.cols == im.cols else {
            throw LinearAlgebraError.dimensionMismatch("real \(re.rows)×\(re.cols), imaginary \(im.rows)×\(im.cols)")
        }
        var z = [Double](repeating: 0, count: 2 * re.storage.count)
        for k in re.storage.indices {
            z[2 * k] = re.storage[k]
            z[2 * k + 1] = im.storage[k]
        }
        return z
    }

    /// The Hermitian Gram of the smaller side of `Z·scale` (interleaved complex, `rows × cols`;
    /// lower triangle), `scale` a power of two as in `prescaledGram`, and its order; nil for an
    /// empty or all-zero matrix (σ_max = 0).
    static func prescaledComplexGram(_ z: [Double], rows m: Int, cols n: Int) throws -> (gram: [Double], scale: Double, order: Int)? {
        guard z.count == 2 * m * n else {
            throw LinearAlgebraError.dimensionMismatch("\(z.count) doubles for a complex \(m)×\(n) matrix")
        }
        var peak = 0.0
        for v in z {
            guard v.isFinite else { throw LinearAlgebraError.nonFinite }
            peak = Swift.max(peak, Swift.abs(v))
        }
        let p = Swift.min(m, n)
        guard p > 0, peak > 0 else { return nil }
        let scale = prescale(peak: peak)
        let scaled = scale == 1 ? z : z.map { $0 * scale }
        return (scaled.withUnsafeBufferPointer { LAPACKCalls.complexGramSmallerSide($0, rows: m, cols: n) }, scale, p)
    }

    /// A certified lower bound on `σ_max(a)`: `‖A x‖/‖x‖` after `iterations` steps of the power
    /// method on `AᵀA` (any x gives a lower bound; the steps make it tight for a dominant σ),
    /// times `1 − 1e-9` against rounding in the norms (relative error ≲ n·ε). O(iterations·m·n):
    /// lets a caller skip an exact σ_max that provably cannot matter.
    public static func largestSingularValueLowerBound(_ a: Matrix, iterations: Int = 8) -> Double {
        let m = a.rows, n = a.cols
        guard m > 0, n > 0, a.allFinite else { return 0 }
        // Start from the largest column (never orthogonal to the top right singular vector
        // unless that column is zero... which a largest nonzero column is not).
        var x = [Double](repeating: 0, count: n)
        var bestColumn = 0, bestNorm = -1.0
        for j in 0..<n {
            var s = 0.0
            for i in 0..<m { let v = a.storage[i * n + j]; s += v * v }
            if s > bestNorm { bestNorm = s; bestColumn = j }
        }
        if bestNorm <= 0 { return 0 }
        x[bestColumn] = 1
        var y = [Double](repeating: 0, count: m)
        var best = 0.0
        a.storage.withUnsafeBufferPointer { ap in
            for _ in 0..<Swift.max(1, iterations) {
                let xNorm = x.withUnsafeBufferPointer { LAPACKCalls.nrm2(n, $0.baseAddress!) }
                guard xNorm > 0, xNorm.isFinite else { break }
                for j in 0..<n { x[j] /= xNorm }
                x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer { yp in
                        LAPACKCalls.gemv(transpose: false, rows: m, cols: n, alpha: 1, ap.baseAddress!, xp.baseAddress!, beta: 0, yp.baseAddress!)
                    }
                }
                let estimate = y.withUnsafeBufferPointer { LAPACKCalls.nrm2(m, $0.baseAddress!) }
                guard estimate.isFinite else { break }
                best = Swift.max(best, estimate)
                y.withUnsafeBufferPointer { yp in
                    x.withUnsafeMutableBufferPointer { xp in
                        LAPACKCalls.gemv(transpose: true, rows: m, cols: n, alpha: 1, ap.baseAddress!, yp.baseAddress!, beta: 0, xp.baseAddress!)
                    }
                }
            }
        }
        return best * (1 - 1e-9)
    }

    /// The largest singular value of the complex matrix `Re + i·Im`: the largest eigenvalue of its
    /// Hermitian Gram (`zherk` + `zheevr`, one eigenvalue), square-rooted; relative error of
    /// order p·ε, as the real path (tested against `complexSingularValues`, dgesdd on the real
    /// embedding, to 1e-12). Half the flops of the same computation on the real embedding
    /// `[[Re, −Im], [Im, Re]]`, whose Gram has twice the order.
    public static func complexLargestSingularValue(real re: Matrix, imaginary im: Matrix) throws -> Double {
        try complexLargestSingularValue(interleaved: interleave(re, im), rows: re.rows, cols: re.cols)
    }

    /// The same for a complex `rows × cols` matrix given as interleaved (re, im) doubles.
    public static func complexLargestSingularValue(interleaved z: [Double], rows: Int, cols: Int) throws -> Double {
        // No ceiling is ever certified: the value is always computed.
        try complexLargestSingularValue(interleaved: z, rows: rows, cols: cols, unlessAtMost: -.infinity)!
    }

    /// `[[Re, −Im], [Im, Re]]`, `2·rows × 2·cols`.
    static func realEmbedding(_ re: Matrix, _ im: Matrix) -> Matrix {
        let m = re.rows, n = re.cols
        var e = [Double](repeating: 0, count: 4 * m * n)
        let w = 2 * n
        for i in 0..<m {
            for j in 0..<n {
                let r = re.storage[i * n + j], c = im.storage[i * n + j]
                e[i * w + j] = r
                e[i * w + n + j] = -c
                e[(m + i) * w + j] = c
                e[(m + i) * w + n + j] = r
            }
        }
        return Matrix(rows: 2 * m, cols: 2 * n, storage: e)
    }

    /// Singular values (descending) of the complex matrix `Re + i·Im` (both `rows × cols`), from
    /// the real embedding `[[Re, −Im], [Im, Re]]`, whose spectrum is that of the complex matrix
    /// with every value doubled (`dgesdd`; each pair is averaged). Accuracy as `dgesdd`.
    public static func complexSingularValues(real re: Matrix, imaginary im: Matrix) throws -> [Double] {
        guard re.rows == im.rows, re.cols == im.cols else {
            throw LinearAlgebraError.dimensionMismatch("real \(re.rows)×\(re.cols), imaginary \(im.rows)×\(im.cols)")
        }
        guard re.allFinite && im.allFinite else { throw LinearAlgebraError.nonFinite }
        let m = re.rows, n = re.cols, p = Swift.min(m, n)
        if p == 0 { return [] }
        let e = realEmbedding(re, im).storage
        let s = try LAPACKCalls.gesddValues(e, rows: 2 * m, cols: 2 * n)
        var out = [Double](repeating: 0, count: p)
        for i in 0..<p {
            let hi: Double = s[2 * i], lo: Double = s[2 * i + 1]
            out[i] = 0.5 * (hi + lo)
        }
        return out
    }

    // MARK: internals

    /// Empty, zero, single row/column: no LAPACK. `peak`: `a.maxAbs` when the caller has it.
    static func trivialSpectrum(_ a: Matrix, method: SpectrumMethod, peak: Double? = nil) -> SingularValueResult? {
        let p = a.rankBound
        if p == 0 { return SingularValueResult(values: [], method: method, isComplete: true) }
        if p == 1 {
            return SingularValueResult(values: [a.frobeniusNorm], method: method, isComplete: true)
        }
        if peak.map({ $0 == 0 }) ?? a.storage.allSatisfy({ $0 == 0 }) {
            return SingularValueResult(values: [Double](repeating: 0, count: p), method: method, isComplete: true)
        }
        return nil
    }

    /// The Gram of the smaller side of `a · scale` (lower triangle, `dsyrk`) and `scale`: an exact
    /// power of two that keeps the squared entries inside float64's range (1 for ordinary data).
    static func prescaledGram(_ a: Matrix, peak: Double? = nil, sharing: CoreSharing? = nil) -> (gram: [Double], scale: Double) {
        let scale = prescale(peak: peak ?? a.maxAbs)
        let scaled = scale == 1 ? a.storage : a.storage.map { $0 * scale }
        return (scaled.withUnsafeBufferPointer { LAPACKCalls.gramSmallerSide($0, rows: a.rows, cols: a.cols, sharing: sharing) }, scale)
    }

    /// 1, or the power of two `2^−e` (`e` the exponent of `peak`) when squared entries of that
    /// size would leave float64's range (|e| > 200): exact, so it changes no digit.
    static func prescale(peak: Double) -> Double {
        let e = peak.exponent
        return (e > 200 || e < -200) ? Double(sign: .plus, exponent: -e, significand: 1) : 1
    }

    /// The Gram path (`.gramSyevd`); when it cannot guarantee `gramAccuracyTarget`, the
    /// refinement of the small values (`.gramQRInverse`, p ≥ `refinementMinimumOrder`), else
    /// `dgesdd` (`.gesdd`).
    static func gramResult(_ a: Matrix, peak: Double? = nil, sharing: CoreSharing? = nil) throws -> SingularValueResult {
        let p = a.rankBound
        var (g, scale) = prescaledGram(a, peak: peak, sharing: sharing)
        let lambda = try LAPACKCalls.symmetricEigenvalues(&g, n: p)  // ascending
        g = []
        if let lmax = lambda.last, lmax > 0 {
            let threshold = lmax * Double(p) * Double.ulpOfOne / (2 * gramAccuracyTarget)
            if lambda[0] >= threshold {
                let inv = 1 / scale
                return SingularValueResult(values: lambda.reversed().map { Swift.max($0, 0).squareRoot() * inv },
                                           method: .gramSyevd, isComplete: true)
            }
        }
        return try afterFailedGram(a, gramEigenvalues: lambda, scale: scale)
    }

    /// The singular values of `a` when the Gram of `scale · a` (eigenvalues `lambda`, ascending)
    /// failed the accuracy guard: `refinedSmallValues` when it certifies every value
    /// (`.gramQRInverse`), else `dgesdd` (`.gesdd`). `a` must be finite.
    public static func afterFailedGram(_ a: Matrix, gramEigenvalues lambda: [Double], scale: Double = 1) throws
        -> SingularValueResult {
        if a.rankBound >= refinementMinimumOrder,
           let values = try a.storage.withUnsafeBufferPointer({
               try refinedSmallValues($0, rows: a.rows, cols: a.cols, gramEigenvalues: lambda, scale: scale)
           }) {
            return SingularValueResult(values: values, method: .gramQRInverse, isComplete: true)
        }
        return SingularValueResult(values: try LAPACKCalls.gesddValues(a.storage, rows: a.rows, cols: a.cols),
                                   method: .gesdd, isComplete: true)
    }
}
