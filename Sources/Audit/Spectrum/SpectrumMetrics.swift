import LinearAlgebra

/// The per-operator spectrum metrics of SPEC.md §2 (definitions `spectral-audit/1`), computed
/// from the singular values σ_1 ≥ … ≥ σ_q (q = min(m, n)) of an `m × n` operator `A`
/// (m = fan-out = rows, n = fan-in = cols), in float64.
///
/// Conventions beyond SPEC §2, all chosen so that no metric is ever NaN:
/// - Rank 0 (zero or empty matrix): `spectralNorm = frobenius = nuclear = 0`, `sigmaMin` and
///   `condition` are nil (undefined), `stableRank = spectralEntropy = normalizedEntropy = 0`,
///   `effectiveRank = erankRV = 0` (the empty sum, not `e^0 = 1`, so `effective_rank ≤ rank`
///   still holds), `typicalGain = entropyBound = 0`. The identities `1 ≤ stable_rank` and
///   `1 ≤ effective_rank` hold for rank ≥ 1 only.
/// - Entropy-type sums run over `i ≤ r` (the σ above `tol`); norms run over all q values.
/// - Squares are formed of `σ_i/σ_1` and multiplied back, so spectra near 1e±200 neither overflow
///   nor underflow.
/// - Incomplete spectra (Krylov top-k): metrics that need every σ are nil; `frobenius`,
///   `stableRank` and `typicalGain` are still exact when `‖A‖_F` from the entries is supplied.
public struct SpectrumMetrics: Sendable, Codable, Equatable {
    /// `σ_1 · max(m, n) · ε`, ε = `Double.ulpOfOne` (2.22e-16, the epsilon of the float64
    /// computation, whatever the stored dtype): numpy's `matrix_rank` default tolerance.
    public var tol: Double
    /// `r = #{σ_i > tol}`. Nil when the spectrum is incomplete.
    public var rank: Int?
    /// `σ_1`, the worst-case gain `sup ‖Ax‖/‖x‖`.
    public var spectralNorm: Double
    /// `σ_r`, the smallest singular value above `tol`. Nil when r = 0 or incomplete.
    public var sigmaMin: Double?
    /// `σ_1 / σ_r`. Nil when r = 0 or incomplete.
    public var condition: Double?
    /// `sqrt(Σ σ_i²) = ‖A‖_F`.
    public var frobenius: Double?
    /// `Σ σ_i` (nuclear / trace norm).
    public var nuclear: Double?
    /// `Σ σ_i² / σ_1² = ‖A‖_F² / ‖A‖_2²` (0 when r = 0).
    public var stableRank: Double?
    /// `H = −Σ_{i≤r} p_i ln p_i`, `p_i = σ_i² / Σ_{j≤r} σ_j²`, in nats.
    public var spectralEntropy: Double?
    /// `H / ln r`, 0 when r ≤ 1. (WeightWatcher's `entropy` is this quantity.)
    public var normalizedEntropy: Double?
    /// `e^H` (0 when r = 0).
    public var effectiveRank: Double?
    /// Roy–Vetterli (2007) effective rank `exp(−Σ_{i≤r} q_i ln q_i)`, `q_i = σ_i / Σ_{j≤r} σ_j`.
    public var erankRV: Double?
    /// `‖A‖_F / sqrt(n)`: the RMS gain `sqrt(E‖Aδ‖²)` over isotropic unit δ.
    public var typicalGain: Double?
    /// `σ_1 · sqrt(e^H / n)`: `typical_gain ≤ entropy_bound ≤ σ_1 · sqrt(r/n)`.
    public var entropyBound: Double?

    enum CodingKeys: String, CodingKey {
        case tol, rank
        case spectralNorm = "spectral_norm"
        case sigmaMin = "sigma_min"
        case condition, frobenius, nuclear
        case stableRank = "stable_rank"
        case spectralEntropy = "spectral_entropy"
        case normalizedEntropy = "normalized_entropy"
        case effectiveRank = "effective_rank"
        case erankRV = "erank_rv"
        case typicalGain = "typical_gain"
        case entropyBound = "entropy_bound"
    }

    /// Metrics from singular values (any order; sorted here). `isComplete`: the list holds all
    /// `min(rows, cols)` values. `frobenius`: `‖A‖_F` computed from the entries (e.g.
    /// `Matrix.frobeniusNorm`), used when the spectrum is incomplete.
    public static func compute(singularValues: [Double], rows: Int, cols: Int,
                               isComplete: Bool = true, frobenius frobeniusFromEntries: Double? = nil)
        -> SpectrumMetrics {
        let s = singularValues.map { Swift.max($0, 0) }.sorted(by: >)
        let s1 = s.first ?? 0
        let tol = s1 * Double(Swift.max(rows, cols)) * Double.ulpOfOne
        var out = SpectrumMetrics(tol: tol, rank: nil, spectralNorm: s1)
        let fro: Double?
        if isComplete {
            if s1 > 0 {
                var acc = 0.0
                for v in s { let t = v / s1; acc += t * t }
                fro = s1 * acc.squareRoot()
            } else { fro = 0 }
        } else {
            fro = frobeniusFromEntries
        }
        out.frobenius = fro
        if let f = fro {
            out.stableRank = s1 > 0 ? (f / s1) * (f / s1) : 0
            out.typicalGain = cols > 0 ? f / Double(cols).squareRoot() : 0
        }
        guard isComplete else { return out }

        let r = s.reduce(0) { $0 + ($1 > tol ? 1 : 0) }
        out.rank = r
        out.nuclear = s1 > 0 ? s1 * s.reduce(0) { $0 + $1 / s1 } : 0
        guard r > 0 else {
            out.stableRank = 0
            out.spectralEntropy = 0
            out.normalizedEntropy = 0
            out.effectiveRank = 0
            out.erankRV = 0
            out.typicalGain = 0
            out.entropyBound = 0
            return out
        }
        out.sigmaMin = s[r - 1]
        out.condition = s1 / s[r - 1]
        // p_i = t_i² / Σ t_j², t = σ/σ_1 (i ≤ r); H = ln S − (Σ t_i² ln t_i²)/S, S = Σ t_j².
        var sumSq = 0.0, sumSqLog = 0.0, sum1 = 0.0, sumLog1 = 0.0
        for i in 0..<r {
            let t = s[i] / s1
            let t2 = t * t
            sumSq += t2
            sum1 += t
            if t2 > 0 { sumSqLog += t2 * mathLog(t2) }
            if t > 0 { sumLog1 += t * mathLog(t) }
        }
        let h = Swift.max(0, mathLog(sumSq) - sumSqLog / sumSq)
        let hq = Swift.max(0, mathLog(sum1) - sumLog1 / sum1)
        out.spectralEntropy = h
        out.normalizedEntropy = r > 1 ? h / mathLog(Double(r)) : 0
        out.effectiveRank = mathExp(h)
        out.erankRV = mathExp(hq)
        out.entropyBound = cols > 0 ? s1 * (mathExp(h) / Double(cols)).squareRoot() : 0
        return out
    }

    public init(tol: Double, rank: Int?, spectralNorm: Double, sigmaMin: Double? = nil,
                condition: Double? = nil, frobenius: Double? = nil, nuclear: Double? = nil,
                stableRank: Double? = nil, spectralEntropy: Double? = nil,
                normalizedEntropy: Double? = nil, effectiveRank: Double? = nil,
                erankRV: Double? = nil, typicalGain: Double? = nil, entropyBound: Double? = nil) {
        self.tol = tol
        self.rank = rank
        self.spectralNorm = spectralNorm
        self.sigmaMin = sigmaMin
        self.condition = condition
        self.frobenius = frobenius
        self.nuclear = nuclear
        self.stableRank = stableRank
        self.spectralEntropy = spectralEntropy
        self.normalizedEntropy = normalizedEntropy
        self.effectiveRank = effectiveRank
        self.erankRV = erankRV
        self.typicalGain = typicalGain
        self.entropyBound = entropyBound
    }
}
