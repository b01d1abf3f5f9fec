import Foundation
import LinearAlgebra

/// `--svd fast`: the SPEC §2 metrics of a large operator without its full spectrum.
///
/// - `σ_max`: Golub–Kahan–Lanczos (`SVD.spectralNorm`, tolerance `sigmaTolerance`); the Ritz
///   value is a rigorous lower bound and the stated tolerance bounds its relative error (quadratic
///   residual bound; the rigorous bracket is `[θ, θ + certificate]`).
/// - `‖A‖_F`, stable rank, typical gain: exact, from the entries.
/// - Spectral entropy `H = ln S − T/S` with `S = ‖A‖_F² = tr M` (exact) and `T = Σ λ_i ln λ_i =
///   tr(M ln M)` estimated by stochastic Lanczos quadrature (`StochasticLanczos`) on the Gram `M`
///   of the smaller side, with `probes` Rademacher vectors and `steps` Lanczos steps each.
///   Variance reduction: the control variate `c·λ`, whose trace `c·S` is known exactly and whose
///   per-probe value `c·zᵀMz` is computed exactly by the same Lanczos run, is subtracted
///   (`c` fitted on the pooled quadrature measure). Likewise `Σ σ_i = tr M^{1/2}` (nuclear norm)
///   and `Σ σ_i ln σ_i` for the Roy–Vetterli effective rank.
/// - Estimates and errors (`Estimate.entropyError` etc., written as the layer's `estimate_errors`):
///   each trace is the midpoint of the Gauss / Gauss–Radau(0) bracket of the same start vectors
///   (`StochasticLanczos.entropy` / `traceOf`, derivation in `StochasticLanczos+Bracket.swift`), and
///   its error is two standard errors of the probe average (≈ 95 % for the Hutchinson estimator's
///   nearly Gaussian mean) plus the bracket's half-width (a bound on the quadrature error of those
///   vectors); for erank_rv the half-width is the largest change of the entropy of σ/Σσ over the
///   corners of the brackets of Σσ and Σσ ln σ. (Before: the two standard errors alone, around
///   the Gauss value; the text said a step-to-step change was added, which the code never did.)
/// - `rank`, `sigma_min` and `condition` are not estimated (null); `normalized_entropy` is
///   `H / ln min(m, n)`, i.e. assumes full numerical rank.
enum FastSpectrum {
    static let probes = 32
    static let steps = 20
    static let sigmaTolerance = 1e-10

    struct Estimate: Sendable {
        var frobenius: Double
        var spectralEntropy: Double
        var entropyError: Double
        /// The quadrature half-width inside `entropyError` (written as `spectral_entropy_quadrature`).
        var entropyQuadrature: Double
        var nuclear: Double
        var nuclearError: Double
        var erankRV: Double
        var erankRVError: Double
        var probes: Int
        var steps: Int
    }

    /// True when the dense Gram path is predicted cheaper than SLQ + Lanczos (small or very
    /// rectangular matrices): then `--svd fast` computes the exact spectrum.
    static func prefersExact(rows m: Int, cols n: Int) -> Bool {
        let big = Double(Swift.max(m, n)), q = Double(Swift.min(m, n))
        if q <= 512 { return true }
        let exact = (big * q * q + 4.0 / 3.0 * q * q * q) / 25e9
        // Block products with 32 right-hand sides run near dgemm speed (~40 GFLOP/s here).
        let slq = 4 * big * q * Double(probes * steps) / 40e9
        let sigma = 60 * 2 * 8 * big * q / 15e9
        return exact <= slq + sigma
    }

    static func analyse(_ a: Matrix, seed: UInt64) throws -> (SingularValueResult, Estimate) {
        let top = try SVD.spectralNorm(a, tolerance: sigmaTolerance, seed: seed == 0 ? 0x5EED : seed)
        let fro = a.frobeniusNorm
        let n = a.rankBound
        // Normalise so that tr M = 1: M/S has eigenvalues p_i.
        let s = fro * fro
        let rules = try a.storage.withUnsafeBufferPointer {
            try StochasticLanczos.rules($0, rows: a.rows, cols: a.cols, probes: probes, steps: steps,
                                        seed: (seed == 0 ? 0x51C0 : seed) &+ 0x9E37)
        }
        // Σ p ln p (= −H), f(x) = x ln x on M/S, control variate c·x (tr(M/S) = 1): the shared
        // SLQ entropy routine (midpoint of the Gauss / Gauss–Radau(0) bracket).
        let entropy = StochasticLanczos.entropy(rules, dimension: n, exactTrace: s)
        // Σ σ_i / sqrt(S) = tr (M/S)^{1/2}; Σ (σ_i/√S) ln(σ_i/√S) = tr(½ x^{1/2} ln x). Both
        // bracketed by the two rules too (StochasticLanczos+Bracket.swift).
        let root = StochasticLanczos.traceOf({ $0.squareRoot() }, rules: rules, dimension: n, scale: s, linearTrace: 1)
        let rootLog = StochasticLanczos.traceOf({ $0 > 0 ? 0.5 * $0.squareRoot() * log($0) : 0 }, rules: rules, dimension: n,
                                                scale: s, linearTrace: 1)
        let nuclear = root.midpoint * fro
        // q_i = σ_i / Σσ: −Σ q ln q = ln N − R/N with t = σ/√S, N = Σ t, R = Σ t ln t.
        func hq(_ nq: Double, _ r: Double) -> Double { Swift.max(0, log(nq) - r / nq) }
        let nq = root.midpoint
        let h = hq(nq, rootLog.midpoint)
        // Stochastic part: first-order propagation of the two 2-SE errors (added, conservatively);
        // quadrature part: the largest change of hq over the corners of the two brackets.
        let hqStochastic = root.stochasticError / nq + rootLog.stochasticError / nq
            + Swift.abs(rootLog.midpoint) * root.stochasticError / (nq * nq)
        var hqQuadrature = 0.0
        for a in [root.gauss, root.radau] where a > 0 {
            for b in [rootLog.gauss, rootLog.radau] { hqQuadrature = Swift.max(hqQuadrature, Swift.abs(hq(a, b) - h)) }
        }
        let estimate = Estimate(frobenius: fro, spectralEntropy: entropy.entropy, entropyError: entropy.entropyError,
                                entropyQuadrature: entropy.quadratureHalfWidth, nuclear: nuclear,
                                nuclearError: (root.stochasticError + root.halfWidth) * fro, erankRV: exp(h),
                                erankRVError: exp(h) * (hqStochastic + hqQuadrature), probes: probes, steps: steps)
        return (top, estimate)
    }
}

extension SpectrumMetrics {
    /// Fills the entropy-type metrics of an incomplete (σ_max-only) result from SLQ estimates.
    mutating func apply(_ e: FastSpectrum.Estimate, rows: Int, cols: Int) {
        let p = Swift.min(rows, cols)
        spectralEntropy = e.spectralEntropy
        normalizedEntropy = p > 1 ? e.spectralEntropy / mathLog(Double(p)) : 0
        effectiveRank = mathExp(e.spectralEntropy)
        erankRV = e.erankRV
        nuclear = e.nuclear
        entropyBound = cols > 0 ? spectralNorm * (mathExp(e.spectralEntropy) / Double(cols)).squareRoot() : 0
    }
}
