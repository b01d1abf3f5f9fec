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
/// - Error estimate (`Estimate.entropyError` etc., written as the layer's `estimate_errors`):
///   two standard errors of the probe average (≈ 95 % for the Hutchinson estimator's nearly
///   Gaussian mean) plus the quadrature change between the last two Lanczos steps.
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
        let dim = Double(n)
        // Per probe: quadrature of f on the normalised measure, times n (‖z‖² = n).
        func estimate(_ f: (Double) -> Double, exactLinear: Double) -> (value: Double, error: Double) {
            // Control-variate slope c from the pooled measure (nodes are eigenvalues of M/S).
            var mx = 0.0, mf = 0.0, wsum = 0.0
            for r in rules {
                for (t, w) in zip(r.nodes, r.weights) { let x = Swift.max(t, 0) / s; mx += w * x; mf += w * f(x); wsum += w }
            }
            mx /= wsum; mf /= wsum
            var sxx = 0.0, sxf = 0.0
            for r in rules {
                for (t, w) in zip(r.nodes, r.weights) {
                    let x = Swift.max(t, 0) / s
                    sxx += w * (x - mx) * (x - mx); sxf += w * (x - mx) * (f(x) - mf)
                }
            }
            let c = sxx > 0 ? sxf / sxx : 0
            let samples = rules.map { r -> Double in
                let q = zip(r.nodes, r.weights).reduce(0) { $0 + $1.1 * f(Swift.max($1.0, 0) / s) }
                return dim * (q - c * r.rayleigh / s)
            }
            let mean = samples.reduce(0, +) / Double(samples.count)
            let variance = samples.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(Swift.max(1, samples.count - 1))
            let se = (variance / Double(samples.count)).squareRoot()
            return (c * exactLinear + mean, 2 * se)
        }
        // Σ p ln p (= −H): f(x) = x ln x; tr(M/S) = 1.
        let plogp = estimate({ $0 > 0 ? $0 * log($0) : 0 }, exactLinear: 1)
        let h = Swift.max(0, -plogp.value)
        // Σ σ_i / sqrt(S) = tr (M/S)^{1/2}
        let root = estimate({ $0.squareRoot() }, exactLinear: 1)
        // Σ (σ_i/√S) ln(σ_i/√S) = tr(½ x^{1/2} ln x)
        let rootLog = estimate({ $0 > 0 ? 0.5 * $0.squareRoot() * log($0) : 0 }, exactLinear: 1)
        let nuclear = root.value * fro
        // q_i = σ_i / Σσ: −Σ q ln q = ln N − (Σ t ln t)/N with t = σ/√S, N = Σ t.
        let nq = root.value
        let hq = Swift.max(0, log(nq) - rootLog.value / nq)
        // First-order propagation of the two errors (added, conservatively).
        let hqError = root.error / nq + rootLog.error / nq + Swift.abs(rootLog.value) * root.error / (nq * nq)
        let estimate = Estimate(frobenius: fro, spectralEntropy: h, entropyError: plogp.error, nuclear: nuclear,
                                nuclearError: root.error * fro, erankRV: exp(hq), erankRVError: exp(hq) * hqError,
                                probes: probes, steps: steps)
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
