/// Two-pass symmetric Lanczos for λ_max and λ_min of a symmetric operator whose dimension is too
/// large to keep a Krylov basis (the loss Hessian of a transformer: P ≈ 10⁷–10⁸ parameters, where
/// `symmetricExtremes`' stored, fully reorthogonalised basis of k vectors costs 8·k·P bytes).
///
/// **Pass 1** runs the three-term recurrence (Golub & Van Loan, *Matrix Computations*, 4th ed.,
/// §10.1; Paige 1976) keeping only `q_{j−1}`, `q_j`, the new vector and the scalars α, β:
/// `w = A q_j − α_j q_j − β_{j−1} q_{j−1}`, with a second local Gram–Schmidt pass against `q_j`
/// and `q_{j−1}` (the correction to α is added to α_j: "local reorthogonalisation", Parlett, *The
/// Symmetric Eigenvalue Problem*, §13.4). Global orthogonality is lost as Ritz values converge —
/// Paige's theorem: loss of orthogonality goes hand in hand with convergence — and converged values
/// reappear as copies ("ghosts"); the extreme Ritz values of `T_j` still converge to λ_max and
/// λ_min (Parlett §13.6), and ghosts only make the gap used below smaller (more conservative).
/// Stopping rule as `symmetricExtremes`: the estimate `min(r, r²/gap)` with `r = β_j |s_j|`
/// (Ritz residual from the last eigenvector component of `T_j`, LAPACK `dstev`) and gap to the
/// next Ritz value shrunk by its residual, below `tolerance · max(|θ_max|, |θ_min|)` for both
/// extremes; or breakdown (β ≈ 0); or `maxIterations` (then not converged).
///
/// **Pass 2** regenerates the same vectors from the same seed and the same deterministic steps
/// (the operator must return the same product for the same vector; a drift only costs accuracy,
/// never honesty, because of what follows) and accumulates the Ritz vectors
/// `y = Σ_j s_j q_j` of the two extremes, then applies A to each: the reported values are the
/// Rayleigh quotients `ρ = yᵀAy / yᵀy` — so `λ_min ≤ ρ_min` and `ρ_max ≤ λ_max` hold exactly
/// (Courant–Fischer), whatever orthogonality was lost — and the residuals are the TRUE ones,
/// `r̂ = ‖Ay − ρy‖ / ‖y‖` (some eigenvalue of A lies in `[ρ − r̂, ρ + r̂]`, Krylov–Bogoliubov /
/// Weyl), not the recurrence's `β|s|`. The reported error is `min(r̂, r̂²/gap)` with pass 1's gap,
/// the statement `symmetricExtremes` makes with its `β|s|`; `converged` requires it within the
/// tolerance. Cost: 2k + 1 products for k steps (pass 2 skips the last step's product); memory 5 vectors of the dimension (pass 1: 3).
///
/// `minBudget` and `minBracket` mean what they mean for `symmetricExtremes` (the NTK's λ_min):
/// pass 1 also stops once λ_max's estimate has converged and k ≥ `minBudget`; when pass 1's
/// estimate for λ_min is not within the tolerance but `min(hi, θ_min) − lo` is, λ_min is taken from
/// the bracket `[lo, hi]`: `lambdaMin = hi` with `errorMin = hi − lo` when that width alone is
/// within the tolerance (then no Ritz vector for λ_min is formed and `residualMin` is NaN), else
/// `lambdaMin = min(hi, ρ_min)` with `errorMin = lambdaMin − lo` if within the tolerance — ρ_min
/// (a Rayleigh quotient, so ≥ λ_min rigorously) instead of the recurrence's θ_min, whose
/// interlacing is only approximate once orthogonality is lost.
extension Lanczos {
    public struct TwoPassResult: Sendable, Equatable {
        /// λ_max, λ_min as Rayleigh quotients of the pass-2 Ritz vectors, the error estimates from
        /// the true residuals, `iterations` = Lanczos steps k.
        public var extremes: SymmetricResult
        /// True residuals `‖Ay − ρy‖/‖y‖` of the two Ritz vectors (rigorous: an eigenvalue within);
        /// `residualMin` NaN when λ_min was not needed or came from `minBracket` alone.
        public var residualMax: Double
        public var residualMin: Double
        /// Operator products spent (2k + 1; 2k when λ_min is not needed or settled by `minBracket` alone).
        public var products: Int
    }

    /// See the extension's documentation. `apply` must be deterministic. `needMin` false: stop as
    /// soon as λ_max has converged and certify only it (λ_min is then the Ritz value θ_min of pass
    /// 1, `errorMin` its recurrence estimate, `convergedMin` as that estimate says); 2k products.
    public static func symmetricExtremesTwoPass(dimension n: Int, tolerance: Double = 1e-8, maxIterations: Int = 300,
                                                seed: UInt64 = 0x5EED, needMin: Bool = true, minBudget: Int? = nil,
                                                minBracket: ClosedRange<Double>? = nil,
                                                apply: ([Double]) throws -> [Double]) throws -> TwoPassResult {
        precondition(n >= 1)
        // Pass 1: α, β only.
        var alpha = [Double](), beta = [Double]()
        var walker = TwoPassWalker(dimension: n, seed: seed)
        var chosen: (iMax: Int, iMin: Int, gapMax: Double, gapMin: Double, eMax: Double, eMin: Double, thetaMin: Double, scale: Double,
                     minByEstimate: Bool, minByBracket: Bool)?
        var okBoth = false
        let cap = Swift.max(1, maxIterations)
        for j in 0..<cap {
            let (a, b) = try walker.step(apply)
            alpha.append(a)
            let dim = j + 1
            let breakdown = b <= 1e-12 * Swift.max(walker.normEstimate, .leastNormalMagnitude)
            if breakdown || dim <= 64 || dim % 4 == 0 || dim == cap {
                let (theta, last) = try tridiagonalEigen(diagonal: alpha, offDiagonal: beta)
                let res = (0..<dim).map { (breakdown ? 0 : b) * Swift.abs(last[$0]) }
                let iMax = dim - 1, iMin = 0
                let eMax = errorEstimate(index: iMax, theta: theta, residuals: res)
                let eMin = errorEstimate(index: iMin, theta: theta, residuals: res)
                let scale = Swift.max(Swift.abs(theta[iMax]), Swift.abs(theta[iMin]))
                let okMax = dim >= 2 && eMax <= tolerance * scale
                let byEstimate = dim >= 2 && eMin <= tolerance * scale
                let byBracket = !byEstimate && minBracket.map { Swift.min($0.upperBound, theta[iMin]) - $0.lowerBound <= tolerance * scale } == true
                chosen = (iMax, iMin, gap(iMax, theta, res), gap(iMin, theta, res), eMax, eMin, theta[iMin], scale, byEstimate, byBracket)
                okBoth = breakdown || (okMax && (!needMin || byEstimate || byBracket))
                if okBoth || breakdown || (okMax && dim >= (minBudget ?? Int.max)) { break }
            }
            beta.append(b)
            walker.advance(by: b)
        }
        guard let c = chosen else { throw LinearAlgebraError.invalidArgument("two-pass Lanczos: no step taken") }
        let k = alpha.count
        let (_, z) = try LAPACKCalls.tridiagonalEigen(diagonal: alpha, offDiagonal: beta)
        // Column-major eigenvectors of T_k: Ritz vector i has coefficients z[i·k ..< (i+1)·k].

        // Pass 2: the same vectors again, accumulated into the two Ritz vectors.
        // λ_min from the bracket alone (its width within the tolerance): no Ritz vector for it.
        let bracketOnly: ClosedRange<Double>? = needMin && c.minByBracket
            ? minBracket.flatMap { $0.upperBound - $0.lowerBound <= tolerance * Swift.max(c.scale, Swift.abs($0.upperBound)) ? $0 : nil } : nil
        let ritzMin = needMin && bracketOnly == nil
        var yMax = [Double](repeating: 0, count: n), yMin = ritzMin ? yMax : []
        var again = TwoPassWalker(dimension: n, seed: seed)
        for j in 0..<k {
            let sMax = z[c.iMax * k + j], sMin = z[c.iMin * k + j]
            again.q.withUnsafeBufferPointer { qp in
                for i in 0..<n { yMax[i] += sMax * qp[i] }
                if ritzMin { for i in 0..<n { yMin[i] += sMin * qp[i] } }
            }
            if j == k - 1 { break }
            let (_, b) = try again.step(apply)
            again.advance(by: b)
        }
        again = TwoPassWalker(dimension: 1, seed: 0) // releases the pass-2 vectors
        func certify(_ y: [Double]) throws -> (rho: Double, residual: Double) {
            let ay = try apply(y)
            precondition(ay.count == n)
            let yy = dot(y, y), rho = dot(y, ay) / yy
            var r = 0.0
            for i in 0..<n { let d = ay[i] - rho * y[i]; r += d * d }
            return (rho, (r / yy).squareRoot())
        }
        let top = try certify(yMax)
        yMax = []
        func estimate(_ r: Double, _ g: Double) -> Double { g > 0 && g.isFinite ? Swift.min(r, r * r / g) : r }
        var bottom: (rho: Double, residual: Double)
        var eMin: Double
        var fromBracket = false
        if let br = bracketOnly {
            bottom = (br.upperBound, .nan)
            eMin = br.upperBound - br.lowerBound
            fromBracket = true
        } else if needMin {
            bottom = try certify(yMin)
            eMin = estimate(bottom.residual, c.gapMin)
        } else {
            bottom = (c.thetaMin, .nan)
            eMin = c.eMin
        }
        let eMax = estimate(top.residual, c.gapMax)
        let scale = needMin ? Swift.max(Swift.abs(top.rho), Swift.abs(bottom.rho)) : Swift.max(Swift.abs(top.rho), c.scale)
        if ritzMin, c.minByBracket, let br = minBracket, eMin > tolerance * scale {
            // As `symmetricExtremes`: the bracket's lower end and the smaller upper bound.
            let hi = Swift.min(br.upperBound, bottom.rho)
            if hi - br.lowerBound <= tolerance * scale {
                bottom.rho = hi
                eMin = hi - br.lowerBound
                fromBracket = true
            }
        }
        let okMax = eMax <= tolerance * scale, okMin = eMin <= tolerance * scale
        let extremes = SymmetricResult(lambdaMax: top.rho, lambdaMin: bottom.rho, errorMax: eMax, errorMin: eMin, iterations: k,
                                       converged: okMax && (okMin || !needMin), convergedMax: okMax, convergedMin: okMin,
                                       minFromBracket: fromBracket)
        return TwoPassResult(extremes: extremes, residualMax: top.residual, residualMin: bottom.residual,
                             products: 2 * k + (ritzMin ? 1 : 0))
    }

    /// `min_{j≠i} (|θ_i − θ_j| − r_j)` as `errorEstimate` uses it (≤ 0: no usable gap).
    static func gap(_ i: Int, _ theta: [Double], _ r: [Double]) -> Double {
        var g = Double.infinity
        for j in 0..<theta.count where j != i { g = Swift.min(g, Swift.abs(theta[i] - theta[j]) - r[j]) }
        return g
    }
}

/// The three-term recurrence with local reorthogonalisation, holding only `q_{j−1}`, `q_j` and
/// the unnormalised next vector; both passes run exactly these steps.
struct TwoPassWalker {
    var q: [Double]
    var previous: [Double]
    var next: [Double] = []
    var lastBeta = 0.0
    var normEstimate = 0.0
    var rng: SplitMix64

    init(dimension n: Int, seed: UInt64) {
        rng = SplitMix64(seed: seed)
        var coef = [Double](repeating: 0, count: 1)
        q = Lanczos.randomUnit(n, orthogonalTo: [], count: 0, rng: &rng, coef: &coef)
        previous = [Double](repeating: 0, count: n)
    }

    /// `w = A q_j − α q_j − β_{j−1} q_{j−1}`, then once more against `q_j` and `q_{j−1}`; returns (α_j, ‖w‖).
    mutating func step(_ apply: ([Double]) throws -> [Double]) throws -> (Double, Double) {
        var w = try apply(q)
        precondition(w.count == q.count)
        let n = q.count, b0 = lastBeta
        var a = Lanczos.dot(w, q)
        q.withUnsafeBufferPointer { qp in previous.withUnsafeBufferPointer { pp in
            for i in 0..<n { w[i] -= a * qp[i] + b0 * pp[i] }
        } }
        let c1 = Lanczos.dot(w, q), c2 = Lanczos.dot(w, previous)
        q.withUnsafeBufferPointer { qp in previous.withUnsafeBufferPointer { pp in
            for i in 0..<n { w[i] -= c1 * qp[i] + c2 * pp[i] }
        } }
        a += c1
        let b = Lanczos.dot(w, w).squareRoot()
        normEstimate = Swift.max(normEstimate, Swift.abs(a) + b)
        next = w
        return (a, b)
    }

    /// `q_{j+1} = w / β_j` (β > 0; callers stop on breakdown).
    mutating func advance(by b: Double) {
        let inv = 1 / b
        swap(&previous, &q)
        for i in 0..<next.count { next[i] *= inv }
        swap(&q, &next)
        next = []
        lastBeta = b
    }
}
