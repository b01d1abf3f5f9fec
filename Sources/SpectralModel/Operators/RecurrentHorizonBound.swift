import Foundation
import LinearAlgebra

/// The norms of one direction of one LSTM/GRU/plain-RNN layer that its horizon bound needs
/// (issue 19). Every σ is the largest singular value (float64) of a gate block in the
/// orientation `[h, in]`.
public struct RecurrentCellNorms: Sendable, Equatable {
    /// `rnn`: the Elman cell `h_t = φ(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh)` with φ = tanh or
    /// relu (PyTorch `nn.RNN`/`nn.RNNCell`, Keras `SimpleRNN`); its bound uses only that φ is
    /// 1-Lipschitz, so it holds for either.
    public enum Cell: String, Sendable { case lstm, gru, rnn }
    public var cell: Cell
    /// σ_max(W_x,k) per gate: LSTM keys `i`, `f`, `g`, `o`; GRU keys `r`, `z`, `n`; RNN key `h`.
    public var input: [String: Double]
    /// σ_max(W_h,k) per gate (same keys).
    public var recurrent: [String: Double]
    /// LSTM with `proj_size`: σ_max(W_hr); 1 without a projection.
    public var projection: Double = 1
    /// GRU: the ∞-norm bound ν on the vector the reset gate multiplies, `|W_hn h + b_hn|_∞ ≤ ν`
    /// (reset after the matrix product: PyTorch, ONNX `linear_before_reset=1`, Keras
    /// `reset_after=True`; ν = max_j Σ_k |W_hn[j,k]| + |b_hn[j]| because |h|_∞ ≤ 1), or, for
    /// Keras `reset_after=False` (`W_hn (r ⊙ h)`), σ_max(W_hn) (then `|δr ⊙ h| ≤ |δr|`).
    public var resetCoupling: Double = 0
    /// GRU, ℓ∞ route (`RecurrentHorizonBound`): γ_h = ‖W_hn‖_∞ + ν‖W_hr‖_∞/4 + 2‖W_hz‖_∞ and
    /// γ_x = r(W_in) + ν r(W_ir)/4 + 2 r(W_iz), with ‖·‖_∞ the largest row ℓ1 norm, r the
    /// largest row ℓ2 norm (‖W‖_{2→∞}) and ν as in `resetCoupling` but ‖W_hn‖_∞ for the reset
    /// before the product; `hidden` = H. Nil when not computed.
    public var infinityGains: (gammaH: Double, gammaX: Double, hidden: Int)?

    public static func == (a: Self, b: Self) -> Bool {
        a.cell == b.cell && a.input == b.input && a.recurrent == b.recurrent && a.projection == b.projection
            && a.resetCoupling == b.resetCoupling && a.infinityGains?.gammaH == b.infinityGains?.gammaH
            && a.infinityGains?.gammaX == b.infinityGains?.gammaX && a.infinityGains?.hidden == b.infinityGains?.hidden
    }

    public init(cell: Cell, input: [String: Double], recurrent: [String: Double], projection: Double = 1, resetCoupling: Double = 0) {
        self.cell = cell
        self.input = input
        self.recurrent = recurrent
        self.projection = projection
        self.resetCoupling = resetCoupling
    }
}

/// A sound ℓ2 Lipschitz bound of one recurrent direction unrolled over `horizon` steps, from
/// zero initial states, over all real input sequences (spectral-audit-metrics(7), RECURRENT
/// NETWORKS, gives the proof).
///
/// Notation: ξ_t = ‖δx_t‖, η_t = ‖δh_t‖, κ_t = ‖δc_t‖ (ℓ2), α_k = σ_max(W_x,k), β_k =
/// σ_max(W_h,k). Only σ' ≤ ¼, tanh' ≤ 1, 0 ≤ σ ≤ 1, |tanh| ≤ 1 are used.
/// - LSTM (`c_t = f⊙c_{t−1} + i⊙g`, `h_t = P(o⊙tanh c_t)`, π = ‖P‖ or 1): with c_0 = 0,
///   ‖c_{t−1}‖_∞ ≤ t − 1, so with A_t = α_i/4 + (t−1)α_f/4 + α_g and B_t likewise with β:
///   `κ_t ≤ κ_{t−1} + B_t η_{t−1} + A_t ξ_t`,
///   `η_t ≤ π (κ_{t−1} + (B_t + β_o/4) η_{t−1} + (A_t + α_o/4) ξ_t)`,
///   i.e. `(η, κ)_t ≤ M_t (η, κ)_{t−1} + n_t ξ_t` with the nonnegative 2×2
///   `M_t = [[π(B_t + β_o/4), π], [B_t, 1]]`.
/// - GRU (`h_t = z⊙h_{t−1} + (1−z)⊙n`, |h|, |n| ≤ 1 so |h − n| ≤ 2): with ν the reset
///   coupling (`RecurrentCellNorms.resetCoupling`),
///   `η_t ≤ ρ η_{t−1} + a ξ_t`, ρ = 1 + β_n + νβ_r/4 + β_z/2, a = α_n + να_r/4 + α_z/2.
/// Unrolling, `η_t ≤ Σ_{s≤t} k_{t,s} ξ_s` with `k_{t,s} = (M_t ⋯ M_{s+1} n_s)_h`; with the
/// nonnegative lower-triangular T×T matrix K = (k_{t,s}) and Cauchy–Schwarz:
/// - final state h_t of a sequence of any length t ≤ T: `L_final = max_t ‖K_{t,·}‖₂`;
/// - all per-step outputs (h_1…h_T): `L_seq = ‖K‖₂` (≥ L_final; exact σ_max of K for
///   T ≤ `exactLimit`, the Schur bound `sqrt(‖K‖₁‖K‖_∞)` beyond).
/// - Plain RNN (`h_t = φ(W_x x_t + W_h h_{t−1} + b)`, φ = tanh or relu, both 1-Lipschitz; no
///   bound on |h| is used, so the bound also holds for relu's unbounded states):
///   `η_t ≤ β η_{t−1} + α ξ_t` with α = σ_max(W_x), β = σ_max(W_h).
/// Contractive in the hidden state ⇔ the spectral radius of the state recursion (M_T, ρ) is
/// below 1; a plain RNN is when β < 1 (then `L_final ≤ α/sqrt(1 − β²)` and `L_seq ≤ α/(1 − β)`
/// for every T: uniform); in ℓ2 an LSTM or GRU never is under unbounded inputs (M's c→c entry and ρ are
/// ≥ 1: a saturated forget/update gate makes the state map the identity), so the bound grows
/// with T and `growthPerStep = L_seq(T) / L_seq(T−1)` states how fast. A GRU also has an ℓ∞
/// route (`infinityRoute`): when its gain γ_h < 1 the state map is non-expansive in ℓ∞ and the
/// final-state bound is uniform in T; `spectralRadius` is then γ_h and `contractive` true. Computed in log space (an
/// LSTM's bound overflows Float64 within a few hundred steps).
/// Tested: bound ≥ torch's measured input-sequence Jacobian σ_max (RecurrentBoundTests).
public struct RecurrentHorizonBound: Sendable, Equatable {
    public var horizon: Int
    /// log of the bound on the map input sequence → all per-step outputs.
    public var logSequence: Double
    /// log of the bound on the map input sequence → final hidden state (any length ≤ T).
    public var logFinal: Double
    /// Spectral radius of the state recursion's matrix at step T.
    public var spectralRadius: Double
    public var contractive: Bool { spectralRadius < 1 }
    /// `L_seq(T) / L_seq(T − 1)` (nil for T = 1).
    public var growthPerStep: Double?

    /// Up to this horizon ‖K‖₂ is computed exactly (LAPACK), beyond by the Schur test
    /// (`streamed`).
    public static let exactLimit = 400

    public static func compute(_ c: RecurrentCellNorms, horizon: Int) throws -> RecurrentHorizonBound {
        var b = try computeL2(c, horizon: horizon)
        // GRU, ℓ∞ route: when γ_h < 1 it bounds the final state uniformly in T.
        if c.cell == .gru, let g = c.infinityGains, g.gammaH < 1 {
            let inf = infinityRoute(gammaH: g.gammaH, gammaX: g.gammaX, hidden: g.hidden, horizon: horizon)
            b.logFinal = min(b.logFinal, inf.final)
            if inf.sequence < b.logSequence {
                b.logSequence = inf.sequence
                if horizon > 1 {
                    let prevL2 = try computeL2(c, horizon: horizon - 1).logSequence
                    let prev = min(prevL2, infinityRoute(gammaH: g.gammaH, gammaX: g.gammaX, hidden: g.hidden, horizon: horizon - 1).sequence)
                    b.growthPerStep = exp(b.logSequence - prev)
                }
            }
            b.spectralRadius = g.gammaH
        }
        return b
    }

    /// The GRU's ℓ∞ route. Per unit j, `δh_t,j = z_j δh_{t−1,j} + (1 − z_j)(δn_j + z_j (h − n)_j δa_z,j)`
    /// (δz = z(1 − z)δa_z) is a convex combination with |z (h − n)| ≤ 2, so with E_t = ‖δh_t‖_∞
    /// and ξ_t = ‖δx_t‖₂ (|δn_j| ≤ |δa_n,j|, bounded through ‖·‖_∞ and ‖·‖_{2→∞} as in ℓ2):
    /// `E_t ≤ max(E_{t−1}, γ_h E_{t−1} + γ_x ξ_t)`. If γ_h < 1, induction gives
    /// `E_t ≤ γ_x min(max_s ξ_s / (1 − γ_h), Σ_{s≤t} ξ_s) ≤ γ_x min(1/(1 − γ_h), √t) ‖δx‖₂`, and
    /// `‖δh_t‖₂ ≤ √H E_t`: final state `√H γ_x min(1/(1 − γ_h), √T)` (uniform in T), sequence
    /// `√H γ_x sqrt(Σ_{t≤T} min(1/(1 − γ_h)², t))`. Logs.
    static func infinityRoute(gammaH: Double, gammaX: Double, hidden: Int, horizon: Int) -> (final: Double, sequence: Double) {
        let cap = 1 / (1 - gammaH)
        let base = 0.5 * log(Double(hidden)) + log(gammaX)
        let final = base + log(min(cap, Double(horizon).squareRoot()))
        let sum = (1...horizon).reduce(0.0) { $0 + min(cap * cap, Double($1)) }
        return (final, base + 0.5 * log(sum))
    }

    static func computeL2(_ c: RecurrentCellNorms, horizon: Int) throws -> RecurrentHorizonBound {
        precondition(horizon >= 1)
        let steps = stepMatrices(c, horizon: horizon)
        if horizon > exactLimit { return streamed(steps: steps) }
        let logK = logKernel(steps: steps)
        let seq = try logNorm(logK, rows: horizon)
        var growth: Double?
        if horizon > 1 {
            // K of horizon T−1 is K's leading (T−1)×(T−1) block (the recursion does not look ahead).
            let prev = try logNorm(leading(logK, horizon, horizon - 1), rows: horizon - 1)
            growth = exp(seq - prev)
        }
        // Final state of any length t ≤ T: the largest row norm of K (K_t is K's leading block).
        let final = (0..<horizon).map { t in
            0.5 * logSumExp(logK[(t * horizon)..<(t * horizon + t + 1)].map { 2 * $0 })
        }.max()!
        let m = steps[horizon - 1].m
        // Perron root of a nonnegative 2×2 [[a, b], [c, d]]: (a + d)/2 + sqrt(((a − d)/2)² + bc).
        let rho = (m[0] + m[3]) / 2 + (((m[0] - m[3]) / 2) * ((m[0] - m[3]) / 2) + m[1] * m[2]).squareRoot()
        return RecurrentHorizonBound(horizon: horizon, logSequence: seq, logFinal: final, spectralRadius: rho, growthPerStep: growth)
    }

    /// T > `exactLimit`: K is never stored (T² doubles); one pass over its entries keeps, in log
    /// space (online log-sum-exp), every row's sum and squared norm, every column's sum and the
    /// last row. Sequence bound: Schur `sqrt(max row sum · max column sum)`; the T−1 bound drops
    /// the last row and column; final state: the largest row norm. O(T²) time, O(T) memory.
    static func streamed(steps: [(m: [Double], n: [Double])]) -> RecurrentHorizonBound {
        let T = steps.count
        func add(_ a: Double, _ b: Double) -> Double {
            if a == -.infinity { return b }
            if b == -.infinity { return a }
            return max(a, b) + log1p(exp(-abs(a - b)))
        }
        var rowSum = [Double](repeating: -.infinity, count: T), rowSq = rowSum, colSum = rowSum, lastRow = rowSum
        forEachLogEntry(steps) { t, s, k in
            rowSum[t] = add(rowSum[t], k)
            rowSq[t] = add(rowSq[t], 2 * k)
            colSum[s] = add(colSum[s], k)
            if t == T - 1 { lastRow[s] = k }
        }
        let seq = 0.5 * (rowSum.max()! + colSum.max()!)
        // Leading (T−1)×(T−1) block: rows < T−1 keep their sums; columns lose their last-row entry.
        let prevCols = (0..<(T - 1)).map { s -> Double in
            lastRow[s] == -.infinity ? colSum[s] : colSum[s] + log1p(-min(1, exp(lastRow[s] - colSum[s])))
        }
        let prev = 0.5 * (rowSum[0..<(T - 1)].max()! + (prevCols.max() ?? -.infinity))
        let final = 0.5 * rowSq.max()!
        let m = steps[T - 1].m
        let rho = (m[0] + m[3]) / 2 + (((m[0] - m[3]) / 2) * ((m[0] - m[3]) / 2) + m[1] * m[2]).squareRoot()
        return RecurrentHorizonBound(horizon: T, logSequence: seq, logFinal: final, spectralRadius: rho,
                                     growthPerStep: exp(seq - prev))
    }

    /// Per step t (0-based index t−1): the 2×2 recursion matrix (row-major on (η, κ)) and the
    /// input column n_t. A GRU uses only the η component (κ ≡ 0).
    static func stepMatrices(_ c: RecurrentCellNorms, horizon: Int) -> [(m: [Double], n: [Double])] {
        func a(_ k: String) -> Double { c.input[k] ?? 0 }
        func b(_ k: String) -> Double { c.recurrent[k] ?? 0 }
        switch c.cell {
        case .rnn:
            return Array(repeating: (m: [b("h"), 0, 0, 0], n: [a("h"), 0]), count: horizon)
        case .gru:
            let nu = c.resetCoupling
            let rho = 1 + b("n") + nu * b("r") / 4 + b("z") / 2
            let inp = a("n") + nu * a("r") / 4 + a("z") / 2
            return [(m: [rho, 0, 0, 0], n: [inp, 0])] + Array(repeating: (m: [rho, 0, 0, 0], n: [inp, 0]), count: horizon - 1)
        case .lstm:
            let p = c.projection
            return (1...horizon).map { t in
                let cPrev = Double(t - 1)
                let at = a("i") / 4 + cPrev * a("f") / 4 + a("g")
                let bt = b("i") / 4 + cPrev * b("f") / 4 + b("g")
                return (m: [p * (bt + b("o") / 4), p, bt, 1], n: [p * (at + a("o") / 4), at])
            }
        }
    }

    /// log k_{t,s} (row-major T×T, −∞ above the diagonal): propagate n_s through M_{s+1}…M_t,
    /// renormalising the 2-vector at each step so nothing overflows.
    static func logKernel(steps: [(m: [Double], n: [Double])]) -> [Double] {
        let T = steps.count
        var out = [Double](repeating: -.infinity, count: T * T)
        forEachLogEntry(steps) { t, s, k in out[t * T + s] = k }
        return out
    }

    /// Calls `body(t, s, log k_{t,s})` for every nonzero entry on or below the diagonal, column by
    /// column: n_s propagated through M_{s+1}…M_t, the 2-vector renormalised at each step (its
    /// log scale carried separately) so nothing overflows; a column stops at a zero vector.
    static func forEachLogEntry(_ steps: [(m: [Double], n: [Double])], _ body: (Int, Int, Double) -> Void) {
        let T = steps.count
        for s in 0..<T {
            var v = steps[s].n
            var scale = 0.0
            for t in s..<T {
                if t > s {
                    let m = steps[t].m
                    v = [m[0] * v[0] + m[1] * v[1], m[2] * v[0] + m[3] * v[1]]
                }
                let big = max(v[0], v[1])
                guard big > 0, big.isFinite else { break }
                v = [v[0] / big, v[1] / big]
                scale += log(big)
                body(t, s, scale + log(v[0]))
            }
        }
    }

    static func leading(_ logK: [Double], _ T: Int, _ n: Int) -> [Double] {
        var out = [Double](repeating: -.infinity, count: n * n)
        for t in 0..<n { for s in 0..<n { out[t * n + s] = logK[t * T + s] } }
        return out
    }

    /// log ‖K‖₂ of the nonnegative K = exp(logK), scaled by its largest entry.
    static func logNorm(_ logK: [Double], rows T: Int) throws -> Double {
        guard let top = logK.max(), top.isFinite else { return -.infinity }
        let k = logK.map { exp($0 - top) }
        return top + log(try SVD.largestSingularValue(Matrix(rows: T, cols: T, storage: k)))
    }

    public static func logSumExp(_ xs: [Double]) -> Double {
        guard let m = xs.max(), m.isFinite else { return xs.max() ?? -.infinity }
        return m + log(xs.reduce(0) { $0 + exp($1 - m) })
    }
}
