/// Symmetric Lanczos with full reorthogonalisation, for the extreme eigenvalues λ_max and λ_min
/// of a symmetric (possibly indefinite) operator given by its product `x ↦ Ax` (the data audit's
/// NTK, Gauss–Newton and loss Hessian). It shares the seeded start vectors, the two-pass
/// classical Gram–Schmidt and the error estimate with the bidiagonalisation of `Lanczos.topK`.
///
/// After j steps `A Q_j = Q_j T_j + β_j q_{j+1} e_jᵀ` with `T_j` tridiagonal. Its eigenvalues θ
/// (Ritz values) come from LAPACK `dstev` (`tridiagonalEigen`), which also returns the
/// last component `s_j` of each eigenvector, so the residual of every Ritz pair is
/// `r = β_j |s_j|` and some eigenvalue of A lies within `r` of θ (Weyl). By interlacing,
/// `θ_min ≥ λ_min` and `θ_max ≤ λ_max`. The iteration stops when both extremes have the error
/// estimate `min(r, r²/gap)` (gap to the next Ritz value, shrunk by its residual) below
/// `tolerance · max(|θ_max|, |θ_min|)`, when the Krylov space is invariant (β ≈ 0: the values are
/// exact), when j reaches the dimension, or after `maxIterations` (then `converged` is false).
extension Lanczos {
    public struct SymmetricResult: Sendable, Equatable {
        public var lambdaMax: Double
        public var lambdaMin: Double
        /// Error estimates of the two values (see above).
        public var errorMax: Double
        public var errorMin: Double
        public var iterations: Int
        /// Both requested extremes reached the tolerance (or the space is invariant / complete).
        public var converged: Bool
        public var convergedMax: Bool
        public var convergedMin: Bool
        /// λ_min was settled by `minBracket` (then `errorMin` is the bracket's width, rigorous).
        public var minFromBracket = false
    }

    /// - `needMin`: false stops as soon as λ_max has converged (λ_min is then a Ritz value only).
    /// - `minBudget`: once λ_max has converged, stop anyway after this many products even if λ_min
    ///   has not (`convergedMin` false): slow interior-edge convergence need not cost the full budget.
    /// - `minBracket`: a bracket `[lo, hi] ∋ λ_min` known from elsewhere (a lower bound and a Rayleigh
    ///   quotient). Since also `λ_min ≤ θ_min`, λ_min lies in `[lo, min(hi, θ_min)]`; when that width
    ///   is within `tolerance · scale`, λ_min counts as converged with `lambdaMin = min(hi, θ_min)`
    ///   and `errorMin` the width — a rigorous error, not an estimate.
    public static func symmetricExtremes(dimension n: Int, tolerance: Double = 1e-8, maxIterations: Int = 300,
                                         seed: UInt64 = 0x5EED, needMin: Bool = true, minBudget: Int? = nil,
                                         minBracket: ClosedRange<Double>? = nil,
                                         apply: ([Double]) throws -> [Double]) throws -> SymmetricResult {
        precondition(n >= 1)
        let maxDim = Swift.max(1, Swift.min(n, maxIterations))
        var rng = SplitMix64(seed: seed)
        var basis = [Double]()
        basis.reserveCapacity(Swift.min(maxDim + 1, n) * n)
        var coef = [Double](repeating: 0, count: maxDim + 1)
        var alpha = [Double](), beta = [Double]()
        var q = randomUnit(n, orthogonalTo: basis, count: 0, rng: &rng, coef: &coef)
        var normEstimate = 0.0
        var best = SymmetricResult(lambdaMax: 0, lambdaMin: 0, errorMax: .infinity, errorMin: .infinity, iterations: 0,
                                   converged: false, convergedMax: false, convergedMin: false)
        for j in 0..<maxDim {
            basis.append(contentsOf: q)
            var w = try apply(q)
            precondition(w.count == n)
            let a = dot(w, q)
            alpha.append(a)
            for i in 0..<n { w[i] -= a * q[i] }
            if j > 0 { let b = beta[j - 1]; let off = (j - 1) * n; for i in 0..<n { w[i] -= b * basis[off + i] } }
            reorthogonalize(&w, against: basis, count: j + 1, coef: &coef)
            var b = dot(w, w).squareRoot()
            normEstimate = Swift.max(normEstimate, Swift.abs(a) + b)
            let invariant = b <= 1e-12 * Swift.max(normEstimate, .leastNormalMagnitude)
            if invariant { b = 0 }
            let (theta, last) = try tridiagonalEigen(diagonal: alpha, offDiagonal: Array(beta.prefix(j)))
            let dim = j + 1
            let res = (0..<dim).map { b * Swift.abs(last[$0]) }
            let iMax = dim - 1, iMin = 0
            let eMax = errorEstimate(index: iMax, theta: theta, residuals: res)
            let eMin = errorEstimate(index: iMin, theta: theta, residuals: res)
            let scale = Swift.max(Swift.abs(theta[iMax]), Swift.abs(theta[iMin]))
            let exact = invariant || dim == n
            let okMax = exact || (dim >= 2 && eMax <= tolerance * scale)
            var okMin = exact || (dim >= 2 && eMin <= tolerance * scale)
            var lambdaMin = theta[iMin], errorMin = exact ? 0 : eMin, fromBracket = false
            if !okMin, let br = minBracket, Swift.min(br.upperBound, theta[iMin]) - br.lowerBound <= tolerance * scale {
                okMin = true
                fromBracket = true
                lambdaMin = Swift.min(br.upperBound, theta[iMin])
                errorMin = lambdaMin - br.lowerBound
            }
            best = SymmetricResult(lambdaMax: theta[iMax], lambdaMin: lambdaMin, errorMax: exact ? 0 : eMax,
                                   errorMin: errorMin, iterations: dim, converged: okMax && (okMin || !needMin),
                                   convergedMax: okMax, convergedMin: okMin, minFromBracket: fromBracket)
            if best.converged || (okMax && dim >= (minBudget ?? Int.max)) { return best }
            beta.append(b)
            let inv = 1 / b
            q = w.map { $0 * inv }
        }
        return best
    }

    /// Eigenvalues (ascending) and last eigenvector components of the Lanczos tridiagonal
    /// (LAPACK `dstev` through `SymmetricTridiagonal`).
    public static func tridiagonalEigen(diagonal: [Double], offDiagonal: [Double]) throws -> (values: [Double], lastComponents: [Double]) {
        let t = try SymmetricTridiagonal.eigen(diagonal: diagonal, offDiagonal: offDiagonal)
        return (t.values, t.lastComponents)
    }

    @inline(__always) static func dot(_ a: [Double], _ b: [Double]) -> Double {
        var s = 0.0
        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in for i in 0..<ap.count { s += ap[i] * bp[i] } } }
        return s
    }
}
