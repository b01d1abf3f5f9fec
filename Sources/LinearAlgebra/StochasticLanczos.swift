// Streaming Gram accumulation and stochastic Lanczos quadrature (SLQ) for large operators.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `G = XᵀX` of a row-major `R × C` matrix X (C ≤ R) accumulated over row chunks (`dsyrk`
/// with β = 1), so that X never has to exist in memory as a whole: callers decode one chunk of
/// rows at a time (e.g. bf16 → float64) and add it. `G` is column-major `C × C`, lower triangle.
/// Same arithmetic as `SVD`'s Gram path up to the order of summation over rows.
public struct GramAccumulator: Sendable {
    public let order: Int
    public private(set) var gram: [Double]
    /// Lends idle jobs' cores to large orders' tiles (`TiledGram`); the sums do not depend on it.
    let sharing: CoreSharing?

    public init(order: Int, sharing: CoreSharing? = nil) {
        self.order = order
        self.sharing = sharing
        gram = [Double](repeating: 0, count: order * order)
    }

    /// Adds `XcᵀXc` for the row-major chunk `rows × order` at `chunk`.
    public mutating func addRows(_ chunk: UnsafeBufferPointer<Double>, rows: Int) {
        precondition(chunk.count >= rows * order)
        guard rows > 0, order > 0 else { return }
        let n = order
        gram.withUnsafeMutableBufferPointer { gp in
            LAPACKCalls.syrkAccumulate(chunk.baseAddress!, rows: rows, n: n, into: gp.baseAddress!, sharing: sharing)
        }
    }

    /// Adds `B Bᵀ` for the row-major `order × k` block B at `block` (leading dimension k): the
    /// columns of a wide tensor read row segment by row segment, without transposing them.
    /// `dsyrk` with `Trans` on B gives the same sums, in the same order, as `addRows` on the
    /// transposed copy Bᵀ (`dsyrk` `NoTrans`): only OpenBLAS's packing routine differs (checked
    /// bit for bit in `TiledGramTests`).
    public mutating func addColumns(_ block: UnsafeBufferPointer<Double>, k: Int) {
        precondition(block.count >= k * order)
        guard k > 0, order > 0 else { return }
        let n = order
        gram.withUnsafeMutableBufferPointer { gp in
            LAPACKCalls.syrkAccumulateColumns(block.baseAddress!, k: k, n: n, into: gp.baseAddress!, sharing: sharing)
        }
    }

    /// Singular values (descending) of X from the accumulated Gram, with exactly the accuracy
    /// test of `SVD.singularValues(.gramSyevd)`: nil when some σ could be less accurate than
    /// `SVD.gramAccuracyTarget` (the caller then falls back to `dgesdd`). Consumes the Gram.
    /// The Gram's eigenvalues (ascending) are then in `failedEigenvalues`, for
    /// `SVD.afterFailedGram`.
    public mutating func singularValues() throws -> [Double]? {
        let p = order
        let lambda = try LAPACKCalls.symmetricEigenvalues(&gram, n: p)
        gram = []
        failedEigenvalues = lambda
        guard let lmax = lambda.last, lmax > 0 else { return nil }
        let threshold = lmax * Double(p) * Double.ulpOfOne / (2 * SVD.gramAccuracyTarget)
        if lambda[0] < threshold { return nil }
        failedEigenvalues = nil
        return lambda.reversed().map { Swift.max($0, 0).squareRoot() }
    }

    /// Set by `singularValues()` when it returned nil: the Gram's eigenvalues, ascending.
    public private(set) var failedEigenvalues: [Double]?
}

/// Stochastic Lanczos quadrature (Ubaru, Chen & Saad, SIAM J. Matrix Anal. Appl. 38, 2017) on the
/// Gram `M` of the smaller side of a row-major matrix X: for Rademacher probes z (‖z‖² = n),
/// `zᵀ f(M) z ≈ n Σ_j τ_j² f(θ_j)`, where θ_j are the eigenvalues of the k-step Lanczos
/// tridiagonal of M started at z/‖z‖ and τ_j the first components of its eigenvectors (Gauss
/// quadrature for the spectral measure of z; exact for polynomials of degree ≤ 2k − 1). The
/// average over probes is Hutchinson's trace estimator. All probes run as one block: each step
/// is two `dgemm`s with X (`M V = Xᵀ(X V)` or `X(Xᵀ V)`), and every Lanczos vector is fully
/// reorthogonalised against its own basis.
public enum StochasticLanczos {
    /// The Gauss quadrature rule of one probe: nodes θ_j (eigenvalues of the Lanczos
    /// tridiagonal) and weights w_j = τ_j² (summing to 1), plus `zᵀMz / ‖z‖²` (exact).
    public struct Rule: Sendable {
        public var nodes: [Double]
        public var weights: [Double]
        /// `zᵀ M z / ‖z‖² = α_1`: the first moment, computed exactly.
        public var rayleigh: Double
        /// The Gauss–Radau rule of the same vector with a prescribed node at 0 (≤ λ_min of a PSD
        /// M): k + 1 nodes from the same α, β and the last residual norm β_k, no extra product
        /// (`radauRule`). Equal to the Gauss rule when the Krylov space became invariant (then
        /// both are exact). See `StochasticLanczos+Bracket.swift` for which side each bounds.
        public var radauNodes: [Double]
        public var radauWeights: [Double]
        /// Lanczos steps (products with M) this vector took.
        public var steps: Int
    }

    /// Quadrature rules for `probes` seeded Rademacher vectors, `steps` Lanczos steps each (fewer
    /// when the Krylov space becomes invariant). `x` is row-major `rows × cols`; the Gram is taken
    /// on the smaller side (order `min(rows, cols)`).
    public static func rules(_ x: UnsafeBufferPointer<Double>, rows: Int, cols: Int, probes: Int, steps: Int,
                             seed: UInt64) throws -> [Rule] {
        BLASRuntime.ensureConfigured()
        let n = Swift.min(rows, cols), big = Swift.max(rows, cols)
        let tall = cols <= rows  // M = XᵀX (n = cols); otherwise M = XXᵀ (n = rows)
        var t = [Double](repeating: 0, count: big * Swift.max(probes, 0))
        return try rules(dimension: n, probes: probes, steps: steps, seed: seed) { v, w in
            let s = probes
            t.withUnsafeMutableBufferPointer { tp in
                if tall {
                    // T = X V (rows × s); W = Xᵀ T (cols × s)
                    LAPACKCalls.gemm(transA: false, transB: false, m: rows, n: s, k: cols, alpha: 1,
                                     x.baseAddress!, lda: cols, v.baseAddress!, ldb: s, beta: 0,
                                     tp.baseAddress!, ldc: s)
                    LAPACKCalls.gemm(transA: true, transB: false, m: cols, n: s, k: rows, alpha: 1,
                                     x.baseAddress!, lda: cols, tp.baseAddress!, ldb: s, beta: 0,
                                     w.baseAddress!, ldc: s)
                } else {
                    // T = Xᵀ V (cols × s); W = X T (rows × s)
                    LAPACKCalls.gemm(transA: true, transB: false, m: cols, n: s, k: rows, alpha: 1,
                                     x.baseAddress!, lda: cols, v.baseAddress!, ldb: s, beta: 0,
                                     tp.baseAddress!, ldc: s)
                    LAPACKCalls.gemm(transA: false, transB: false, m: rows, n: s, k: cols, alpha: 1,
                                     x.baseAddress!, lda: cols, tp.baseAddress!, ldb: s, beta: 0,
                                     w.baseAddress!, ldc: s)
                }
            }
        }
    }

    /// The same rules for a symmetric positive semidefinite operator of order `n` given only by
    /// block products: `apply(V, W)` writes `W = M V` for the row-major `n × probes` block V
    /// (column j = probe j), e.g. `M = JᵀJ` through a batched Jacobian–vector and vector–Jacobian
    /// product (the transformer data mode's per-probe Jacobians, never formed).
    ///
    /// `stop`, when given, is asked after every step from the second on with the rules (Gauss and
    /// Radau) of the steps so far; `true` ends the run there and returns exactly those rules (the
    /// per-probe stopping rule of the transformer data mode: `EntropyEstimate.converged`).
    /// Without it, or when it never says stop, `steps` steps are taken (the cap).
    public static func rules(dimension n: Int, probes s: Int, steps: Int, seed: UInt64,
                             stop: (([Rule]) throws -> Bool)? = nil,
                             apply: (UnsafeBufferPointer<Double>, UnsafeMutableBufferPointer<Double>) throws -> Void) throws -> [Rule] {
        let k = Swift.max(1, Swift.min(steps, n))
        guard n > 0, s > 0 else { return [] }
        var rng = SplitMix64(seed: seed)
        // Block of current vectors, row-major n × s (column j = probe j).
        var v = [Double](repeating: 0, count: n * s)
        let inv = 1 / Double(n).squareRoot()
        for i in 0..<(n * s) { v[i] = (rng.next() & 1) == 0 ? inv : -inv }
        var basis = [[Double]](repeating: [], count: s)  // per probe: k vectors of length n
        for j in 0..<s { basis[j].reserveCapacity(k * n) }
        var alpha = [[Double]](repeating: [], count: s)
        var beta = [[Double]](repeating: [], count: s)
        var done = [Bool](repeating: false, count: s)
        // Per probe: β_k of the last step (the Radau rule's last off-diagonal); 0 when invariant.
        var residual = [Double](repeating: 0, count: s)
        var w = [Double](repeating: 0, count: n * s)
        var col = [Double](repeating: 0, count: n)
        var coef = [Double](repeating: 0, count: k + 1)

        for step in 0..<k {
            for j in 0..<s where !done[j] {
                for i in 0..<n { col[i] = v[i * s + j] }
                basis[j].append(contentsOf: col)
            }
            // W = M V
            try v.withUnsafeBufferPointer { vp in try w.withUnsafeMutableBufferPointer { wp in try apply(vp, wp) } }
            for j in 0..<s where !done[j] {
                for i in 0..<n { col[i] = w[i * s + j] }
                let count = basis[j].count / n
                let cur = (count - 1) * n
                var a = 0.0
                for i in 0..<n { a += col[i] * basis[j][cur + i] }
                for i in 0..<n { col[i] -= a * basis[j][cur + i] }
                if count >= 2, let b = beta[j].last {
                    let prev = (count - 2) * n
                    for i in 0..<n { col[i] -= b * basis[j][prev + i] }
                }
                Lanczos.reorthogonalize(&col, against: basis[j], count: count, coef: &coef)
                alpha[j].append(a)
                let b = col.withUnsafeBufferPointer { LAPACKCalls.nrm2(n, $0.baseAddress!) }
                let scale = Swift.max(Swift.abs(a), alpha[j].map { Swift.abs($0) }.max() ?? 0)
                let invariant = b <= 1e-12 * scale || count == n
                residual[j] = invariant ? 0 : b
                if step == k - 1 || invariant {
                    done[j] = true
                    continue
                }
                beta[j].append(b)
                let ib = 1 / b
                for i in 0..<n { v[i * s + j] = col[i] * ib }
            }
            if done.allSatisfy({ $0 }) { break }
            if let stop, step >= 1 {
                let now = try (0..<s).map { try rule(alpha: alpha[$0], beta: beta[$0], residual: residual[$0]) }
                if try stop(now) { return now }
            }
        }
        return try (0..<s).map { try rule(alpha: alpha[$0], beta: beta[$0], residual: residual[$0]) }
    }

    /// Gauss and Gauss–Radau(0) rules of one probe from its Lanczos coefficients: `alpha` (k),
    /// `beta` (the first k − 1 are T_k's off-diagonal) and `residual` = β_k.
    static func rule(alpha: [Double], beta: [Double], residual: Double) throws -> Rule {
        let off = Array(beta.prefix(alpha.count - 1))
        let (nodes, first) = try tridiagonalEigen(diagonal: alpha, offDiagonal: off)
        var rule = Rule(nodes: nodes, weights: first.map { $0 * $0 }, rayleigh: alpha[0],
                        radauNodes: nodes, radauWeights: first.map { $0 * $0 }, steps: alpha.count)
        if residual > 0 {
            let (rn, rw) = try radauRule(alpha: alpha, offDiagonal: off, residual: residual)
            rule.radauNodes = rn
            rule.radauWeights = rw
        }
        return rule
    }

    /// Eigenvalues and first components of the normalised eigenvectors of a symmetric
    /// tridiagonal matrix (`dstev`).
    static func tridiagonalEigen(diagonal d: [Double], offDiagonal e: [Double]) throws -> ([Double], [Double]) {
        let t = try SymmetricTridiagonal.eigen(diagonal: d, offDiagonal: e)
        return (t.values, t.firstComponents)
    }
}
