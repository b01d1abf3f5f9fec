// The quadrature bracket of stochastic Lanczos quadrature: Gauss and Gauss–Radau rules of the same
// start vectors bound zᵀ f(M) z from both sides for the entropy-type f, so the SLQ estimates report
// the bracket's midpoint and add its half-width to their stated error.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// **Which rule bounds which side** (Golub & Meurant, *Matrices, Moments and Quadrature with
/// Applications*, Princeton 2010, ch. 6–7: Thm 6.4 / §7.1, after Golub & Meurant, "Matrices,
/// moments and quadrature", 1994). For a unit vector u and the spectral measure α of M at u,
/// `I[f] = uᵀ f(M) u = ∫ f dα`. The k-step Lanczos tridiagonal `T_k` gives the Gauss rule
/// `G_k[f] = e₁ᵀ f(T_k) e₁` with remainder
///
///     I[f] − G_k[f] = f^(2k)(η) / (2k)! · ∫ Π_j (λ − θ_j)² dα(λ),
///
/// and the Gauss–Radau rule with a prescribed node a ≤ λ_min(M) (`T̃_{k+1}`: T_k extended by
/// β_k and `α̃ = a + δ_k`, `(T_k − aI) δ = β_k² e_k`) has
///
///     I[f] − R_k[f] = f^(2k+1)(ξ) / (2k+1)! · ∫ (λ − a) Π_j (λ − θ̃_j)² dα(λ),
///
/// η, ξ in the interval of the spectrum. Both integrals are ≥ 0 (λ − a ≥ 0 on the support). So
/// when the even derivatives of f are ≥ 0 and the odd ones (from the third) ≤ 0 on that interval,
/// **Gauss underestimates and Radau overestimates**: `G_k[f] ≤ I[f] ≤ R_k[f]`.
///
/// - `f(λ) = λ ln λ`: `f^(m)(λ) = (−1)^m (m − 2)! / λ^(m−1)` for m ≥ 2 — exactly that pattern
///   on (0, ∞). With a = 0 = the lower end of a PSD spectrum, f is not smooth at a; the bounds
///   hold for `M + εI` with node `ε/2` (spectrum in [ε, ∞), f smooth there) and pass to ε → 0 by
///   continuity of both rules in the moments (f is continuous on [0, ∞)).
/// - `f(x) = x ln x` after scaling `x = λ / S`, and `c·x` added (a control variate): the terms
///   of degree ≤ 1 are integrated exactly by both rules, so the pattern is unchanged.
/// - `f(x) = √x`: `f^(m)` has the sign `(−1)^(m+1)` — the opposite pattern, so there Gauss
///   overestimates and Radau underestimates; `g(x) = ½ √x ln x` on (0, 1] (x = λ/S ≤ 1, the
///   Roy–Vetterli sum): `g^(m) = x^(1/2−m) (a_m ln x + b_m)` with `a_{m+1} = (½ − m) a_m`,
///   `b_{m+1} = (½ − m) b_m + a_m` (a₀ = 1, b₀ = 0): g'' = −¼ x^(−3/2) ln x ≥ 0 and from m = 3 on
///   both terms have the sign (−1)^m, so g follows the λ ln λ pattern. `traceOf` therefore
///   returns the two values as an unordered pair and the bracket as `[min, max]`.
///
/// **For the entropy** `H = ln S − T/S` with `S = tr M` and `T = tr(M ln M)` (Hutchinson means of
/// per-vector samples): the Rayleigh quotient α₁ = uᵀMu is exact in both rules, so S (estimated or
/// known exactly) is the same number on both sides, and for the same start vectors
/// `T_gauss ≤ T_exact-quadrature ≤ T_radau`. H is decreasing in T, hence
/// `H_radau ≤ H(those vectors, infinitely many steps) ≤ H_gauss`. H is affine in T at fixed S, so
/// the midpoint of T gives the midpoint of H and the half-width is `(T_radau − T_gauss) / (2S)`.
/// This bounds only the **quadrature** error of the given vectors; the Monte-Carlo error of the
/// finite number of vectors is the two standard errors (`stochasticError`). The stated error is
/// their sum. Rounding: nodes below 0 by rounding are taken as 0 (f(0) = 0), and a Lanczos pivot
/// of T_k that rounding made ≤ 0 is raised to `1e-14 · max |α|` (`radauRule`).
extension StochasticLanczos {
    /// Per-vector quadratures of one trace `Σ_i f(λ_i / scale)` and their Hutchinson means.
    public struct TraceEstimate: Sendable {
        /// Per start vector: `n · G[f]` and `n · R[f]` (minus the control variate when used).
        public var gaussSamples: [Double]
        public var radauSamples: [Double]
        /// The estimates of the trace from the Gauss and the Radau rules (same vectors).
        public var gauss: Double
        public var radau: Double
        /// Two standard errors of the mean of the midpoint samples (≈ 95 % Monte-Carlo interval).
        public var stochasticError: Double
        public var midpoint: Double { (gauss + radau) / 2 }
        /// Half the width of the quadrature bracket `[min(gauss, radau), max(gauss, radau)]`.
        public var halfWidth: Double { Swift.abs(radau - gauss) / 2 }
    }

    /// `tr f(M / scale)` from the rules of `dimension`-long Rademacher vectors. With
    /// `linearTrace` (the known `tr(M / scale)`), the control variate `c·x` is subtracted per
    /// vector and `c · linearTrace` added back; c is the least-squares slope of f on the pooled
    /// Gauss measure (the same c for both rules, so it cancels from the bracket's width).
    public static func traceOf(_ f: (Double) -> Double, rules: [Rule], dimension n: Int, scale: Double = 1,
                               linearTrace: Double? = nil) -> TraceEstimate {
        let dim = Double(n)
        func x(_ t: Double) -> Double { Swift.max(t, 0) / scale }
        var c = 0.0
        if linearTrace != nil {
            var mx = 0.0, mf = 0.0, wsum = 0.0
            for r in rules { for (t, w) in zip(r.nodes, r.weights) { mx += w * x(t); mf += w * f(x(t)); wsum += w } }
            if wsum > 0 { mx /= wsum; mf /= wsum }
            var sxx = 0.0, sxf = 0.0
            for r in rules {
                for (t, w) in zip(r.nodes, r.weights) { sxx += w * (x(t) - mx) * (x(t) - mx); sxf += w * (x(t) - mx) * (f(x(t)) - mf) }
            }
            c = sxx > 0 ? sxf / sxx : 0
        }
        func sample(_ nodes: [Double], _ weights: [Double], _ r: Rule) -> Double {
            let q = zip(nodes, weights).reduce(0.0) { $0 + $1.1 * f(x($1.0)) }
            return dim * (q - c * x(r.rayleigh))
        }
        let g = rules.map { sample($0.nodes, $0.weights, $0) }
        let r = rules.map { sample($0.radauNodes, $0.radauWeights, $0) }
        let m = Double(Swift.max(rules.count, 1)), base = c * (linearTrace ?? 0)
        return TraceEstimate(gaussSamples: g, radauSamples: r, gauss: base + g.reduce(0, +) / m,
                             radau: base + r.reduce(0, +) / m,
                             stochasticError: twoStandardErrors(zip(g, r).map { ($0 + $1) / 2 }))
    }

    /// The SLQ spectral entropy of a PSD operator with its bracket and stated error.
    public struct EntropyEstimate: Sendable {
        /// `tr M` (Hutchinson mean of `n zᵀMz`, or the exact value given) and its two standard errors (0 when exact).
        public var trace: Double
        public var traceError: Double
        /// H from the Gauss rules (an upper end) and from the Radau(0) rules (a lower end), same vectors.
        public var gauss: Double
        public var radau: Double
        /// The reported H: the midpoint of `[radau, gauss]` (clamped at 0).
        public var entropy: Double
        /// `(gauss − radau) / 2`: bounds the quadrature error of `entropy` for these vectors.
        public var quadratureHalfWidth: Double
        /// Two standard errors over the start vectors (delta method when the trace is estimated).
        public var stochasticError: Double
        /// Lanczos steps taken (the most over the vectors).
        public var steps: Int
        /// The stated error: `stochasticError + quadratureHalfWidth`.
        public var entropyError: Double { stochasticError + quadratureHalfWidth }
        /// The stopping rule: the quadrature half-width is at most `fraction` of the stochastic error.
        public func converged(fraction: Double) -> Bool { quadratureHalfWidth <= fraction * stochasticError }
    }

    /// `H = −Σ p_i ln p_i`, `p_i = λ_i / tr M`, of a PSD operator known through its rules (for
    /// `M = JᵀJ` this is J's SPEC §2 spectral entropy). The one routine every SLQ entropy of the
    /// tool goes through (transformer data mode, `--svd fast`).
    /// - `exactTrace` nil: per vector `S_j = n zᵀMz`, `T_j = n Σ w θ ln θ`; `H = ln S̄ − T̄/S̄`;
    ///   stochastic error by the delta method (`h_j = (1/S̄ + T̄/S̄²) S_j − T_j/S̄`, T at the midpoint).
    /// - `exactTrace` S: `Σ p ln p = tr f(M/S)`, f(x) = x ln x, with the control variate `c·x`
    ///   (`tr(M/S) = 1` known); `H = −Σ p ln p`.
    public static func entropy(_ rules: [Rule], dimension n: Int, exactTrace: Double? = nil) -> EntropyEstimate {
        let steps = rules.map(\.steps).max() ?? 0
        let xlogx: (Double) -> Double = { $0 > 0 ? $0 * log($0) : 0 }
        if let s = exactTrace {
            guard s > 0 else { return EntropyEstimate(trace: 0, traceError: 0, gauss: 0, radau: 0, entropy: 0, quadratureHalfWidth: 0,
                                                      stochasticError: 0, steps: steps) }
            let p = traceOf(xlogx, rules: rules, dimension: n, scale: s, linearTrace: 1)
            return EntropyEstimate(trace: s, traceError: 0, gauss: -p.gauss, radau: -p.radau, entropy: Swift.max(0, -p.midpoint),
                                   quadratureHalfWidth: p.halfWidth, stochasticError: p.stochasticError, steps: steps)
        }
        let dim = Double(n), m = Double(Swift.max(rules.count, 1))
        let S = rules.map { dim * $0.rayleigh }
        let t = traceOf(xlogx, rules: rules, dimension: n)
        let sMean = S.reduce(0, +) / m
        guard sMean > 0 else { return EntropyEstimate(trace: 0, traceError: 0, gauss: 0, radau: 0, entropy: 0, quadratureHalfWidth: 0,
                                                      stochasticError: 0, steps: steps) }
        let tMid = t.midpoint
        let tj = zip(t.gaussSamples, t.radauSamples).map { ($0 + $1) / 2 }
        let h = zip(S, tj).map { (1 / sMean + tMid / (sMean * sMean)) * $0.0 - $0.1 / sMean }
        return EntropyEstimate(trace: sMean, traceError: twoStandardErrors(S),
                               gauss: log(sMean) - t.gauss / sMean, radau: log(sMean) - t.radau / sMean,
                               entropy: Swift.max(0, log(sMean) - tMid / sMean), quadratureHalfWidth: t.halfWidth / sMean,
                               stochasticError: twoStandardErrors(h), steps: steps)
    }

    /// Two standard errors of the mean of `x` (∞ for fewer than two samples).
    static func twoStandardErrors(_ x: [Double]) -> Double {
        guard x.count > 1 else { return .infinity }
        let mean = x.reduce(0, +) / Double(x.count)
        let variance = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(x.count - 1)
        return 2 * (variance / Double(x.count)).squareRoot()
    }

    /// The Gauss–Radau rule with the prescribed node 0 from the Lanczos coefficients (Golub &
    /// Meurant 2010, §6.2): `α̃ = β_k² / d_k` with d_k the last pivot of `T_k = L D Lᵀ`
    /// (`d₁ = α₁`, `d_i = α_i − β_{i−1}² / d_{i−1}`; this is `δ_k` of `T_k δ = β_k² e_k`), then the
    /// nodes and squared first components of the (k+1)-order tridiagonal `[T_k, β_k; β_k, α̃]`
    /// (`dstev`). A pivot that rounding made ≤ 0 (T_k numerically singular: a Ritz value at 0
    /// already) is raised to `1e-14 · max |α|`.
    static func radauRule(alpha: [Double], offDiagonal off: [Double], residual: Double) throws -> ([Double], [Double]) {
        let floor = 1e-14 * (alpha.map { Swift.abs($0) }.max() ?? 0)
        var d = Swift.max(alpha[0], floor)
        for i in 1..<Swift.max(alpha.count, 1) { d = Swift.max(alpha[i] - off[i - 1] * off[i - 1] / d, floor) }
        guard d > 0 else { return ([0], [1]) }  // M = 0
        let (nodes, first) = try tridiagonalEigen(diagonal: alpha + [residual * residual / d], offDiagonal: off + [residual])
        return (nodes, first.map { $0 * $0 })
    }
}
