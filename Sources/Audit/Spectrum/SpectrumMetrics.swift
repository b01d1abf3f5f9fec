import AuditReport
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
/// The metrics are stored in the report's own type (`AuditReport.SpectrumMetricsV1`, SPEC
/// names); this module computes them.
public typealias SpectrumMetrics = SpectrumMetricsV1

extension SpectrumMetricsV1 {
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
}
