/// WeightWatcher-style heavy-tail metrics (SPEC.md §2, optional, `ww_` prefix), from the
/// eigenvalues `λ_i = σ_i²` of `AᵀA` (only σ_i above the SPEC `tol`; no normalisation by n).
///
/// Power law (`ww_alpha`): the continuous maximum-likelihood (Hill) exponent
/// `α = 1 + n_tail / Σ_{λ ≥ x_min} ln(λ / x_min)`, with `x_min` chosen among the distinct λ
/// (all but the largest) by the smallest Kolmogorov–Smirnov distance
/// `D = max_i |(1 − (λ_(i)/x_min)^{1−α}) − i/n_tail|` over the sorted tail (i = 0…n_tail−1),
/// first minimum on ties. This is what the `powerlaw` package (Alstott, Bullmore, Plenz 2014)
/// does with its defaults, which WeightWatcher calls. `ww_alpha_weighted = α · log10 λ_max`.
///
/// Differences from WeightWatcher 0.7 (so numbers can be compared knowingly):
/// - λ are the raw `σ²` (WeightWatcher's default `normalize=False` also uses σ², but its
///   eigenvalues of conv layers come from per-tap slices; ours from whatever operator is given);
/// - no `fix_fingers`, no `xmax`, no `sigma_threshold` filtering of x_min candidates;
///   candidates whose tail has no spread (mean `ln(λ/x_min)` < 1e-6, e.g. all σ equal) are
///   skipped, and α is nil when no candidate remains or fewer than 3 eigenvalues exist;
/// - WeightWatcher's `spectral_norm` is σ_1² and its `entropy` is our `normalized_entropy`.
///
/// Marchenko–Pastur (`mp_*`, our convention, not WeightWatcher's histogram fit): for an `m×n`
/// matrix of i.i.d. entries of variance v, the bulk of λ ends at `λ_+ = v (√m + √n)²`. v is
/// estimated from the data by a fixed point that removes the spikes from the estimate:
/// k = 0, `v = Σλ/(mn)`; then repeatedly `k = #{λ > λ_+(v)}` (capped at q − 1) and
/// `v = Σ_{i>k} λ_(i) / ((m−k)(n−k))` until k repeats (at most 100 rounds).
/// `mpSpikes = #{λ > λ_+}` for the final v.
public struct HeavyTailMetrics: Sendable, Codable, Equatable {
    /// Power-law exponent α of the λ tail (nil: undefined, see above).
    public var alpha: Double?
    /// `α · log10 λ_max`.
    public var alphaWeighted: Double?
    /// The chosen lower cut-off (a λ value).
    public var xmin: Double?
    /// KS distance of the chosen fit.
    public var ksDistance: Double?
    /// Number of λ ≥ x_min.
    public var tailCount: Int?
    /// `λ_+` of the Marchenko–Pastur law for the matrix's aspect ratio (λ = σ² units).
    public var mpBulkEdge: Double
    /// The estimated entry variance v.
    public var mpVariance: Double
    /// `#{λ > λ_+}`.
    public var mpSpikes: Int

    enum CodingKeys: String, CodingKey {
        case alpha = "ww_alpha"
        case alphaWeighted = "ww_alpha_weighted"
        case xmin = "ww_xmin"
        case ksDistance = "ww_ks_distance"
        case tailCount = "ww_tail_count"
        case mpBulkEdge = "mp_bulk_edge"
        case mpVariance = "mp_variance"
        case mpSpikes = "mp_spikes"
    }

    /// Nil when fewer than 3 singular values lie above `tol`, or when σ_1 is outside
    /// (1e-150, 1e150) (λ would not be representable).
    public static func compute(singularValues: [Double], rows m: Int, cols n: Int) -> HeavyTailMetrics? {
        let s = singularValues.sorted(by: >)
        guard let s1 = s.first, s1 > 1e-150, s1 < 1e150 else { return nil }
        let tol = s1 * Double(Swift.max(m, n)) * Double.ulpOfOne
        let lamDesc = s.filter { $0 > tol }.map { $0 * $0 }
        guard lamDesc.count >= 3 else { return nil }
        let lam = Array(lamDesc.reversed())  // ascending
        var out = marchenkoPastur(lambdaDescending: lamDesc, rows: m, cols: n)
        if let fit = powerLawFit(ascending: lam) {
            out.alpha = fit.alpha
            out.xmin = fit.xmin
            out.ksDistance = fit.d
            out.tailCount = fit.count
            out.alphaWeighted = fit.alpha * mathLog10(lamDesc[0])
        }
        return out
    }

    static func powerLawFit(ascending x: [Double]) -> (alpha: Double, xmin: Double, d: Double, count: Int)? {
        let total = x.count
        var best: (alpha: Double, xmin: Double, d: Double, count: Int)? = nil
        var start = 0
        while start < total {
            let xmin = x[start]
            // candidates: distinct values except the largest
            if xmin == x[total - 1] { break }
            let nt = total - start
            var sumLog = 0.0
            for i in start..<total { sumLog += mathLog(x[i] / xmin) }
            if sumLog > 1e-6 * Double(nt) {
                let alpha = 1 + Double(nt) / sumLog
                var d = 0.0
                for i in 0..<nt {
                    let model = 1 - mathPow(x[start + i] / xmin, 1 - alpha)
                    d = Swift.max(d, Swift.abs(model - Double(i) / Double(nt)))
                }
                if best == nil || d < best!.d { best = (alpha, xmin, d, nt) }
            }
            // next distinct value
            var next = start + 1
            while next < total && x[next] == xmin { next += 1 }
            start = next
        }
        return best
    }

    static func marchenkoPastur(lambdaDescending lam: [Double], rows m: Int, cols n: Int) -> HeavyTailMetrics {
        let q = Swift.min(m, n)
        let c = (Double(m).squareRoot() + Double(n).squareRoot())
        let cc = c * c
        var k = 0
        var v = lam.reduce(0, +) / (Double(m) * Double(n))
        var edge = v * cc
        for round in 0..<100 {
            let kNew = Swift.min(lam.reduce(0) { $0 + ($1 > edge ? 1 : 0) }, q - 1)
            if kNew == k && round > 0 { break }
            k = kNew
            v = lam[k...].reduce(0, +) / (Double(m - k) * Double(n - k))
            edge = v * cc
        }
        let spikes = lam.reduce(0) { $0 + ($1 > edge ? 1 : 0) }
        return HeavyTailMetrics(alpha: nil, alphaWeighted: nil, xmin: nil, ksDistance: nil, tailCount: nil,
                                mpBulkEdge: edge, mpVariance: v, mpSpikes: spikes)
    }
}
