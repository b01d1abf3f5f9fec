import Foundation

/// The domain a transformer's local Lipschitz bounds hold on. Dot-product attention has no global
/// Lipschitz constant (Kim, Papamakarios & Mnih 2021) and a normalisation's global constant
/// `max|γ|/√ε` is meaningless, so every bound here is stated on this domain and printed with it.
public struct TransformerDomain: Sendable, Equatable, Codable {
    /// Sequences of at most this many tokens (default: the config's `max_position_embeddings`).
    public var sequenceLength: Int
    /// Every normalisation's input has per-token scale at least this: the standard deviation over
    /// features for LayerNorm, the root mean square for RMSNorm (default 1, `--norm-input-scale`).
    public var normInputScale: Double

    public init(sequenceLength: Int, normInputScale: Double) {
        self.sequenceLength = sequenceLength
        self.normInputScale = normInputScale
    }

    /// One line, e.g. `n ≤ 512 tokens, norm-input scale ≥ 1`.
    public var summary: String {
        "n ≤ \(sequenceLength) tokens, norm-input scale ≥ \(normInputScale)"
    }
}

/// Local Lipschitz bounds of transformer sublayers, in the ℓ2 norm of the whole sequence
/// (`‖X‖_F` for X of n rows), each a theorem on `TransformerDomain` (proofs in
/// spectral-audit-metrics(7), "Transformers"; tested against autograd Jacobians).
public enum LocalBounds {
    /// LayerNorm / RMSNorm, `y = γ ⊙ z + β` with `z = c/√(v + ε)`, `c` the centred input (LayerNorm;
    /// the input itself for RMSNorm) and `v = ‖c‖²/d`. `dz = (1/√(v+ε))·(I − ccᵀ/(d(v+ε)))·dc`, whose
    /// middle factor has eigenvalues 1 and `ε/(v+ε)`, and centring is a projection; so
    /// `‖J‖₂ ≤ max|γ| / √(v + ε) ≤ max|γ| / √(s² + ε)` for inputs of scale `√v ≥ s`.
    public static func normalisation(maxAbsGamma g: Double, epsilon: Double, scale s: Double) -> Double {
        g / (s * s + epsilon).squareRoot()
    }

    /// Row norms of a normalisation's output: `‖z‖ = √d·√(v/(v+ε)) ≤ √d`, so
    /// `‖y‖ ≤ max|γ|·√d + ‖β‖` (`rows`), and `‖y − β‖ ≤ max|γ|·√d` (`centred`: what the attention
    /// bound's covariance term needs, since a constant shift cancels there).
    public static func normOutputRows(maxAbsGamma g: Double, betaNorm: Double, width d: Int) -> (rows: Double, centred: Double) {
        let c = g * Double(d).squareRoot()
        return (c + betaNorm, c)
    }

    /// The factors of one attention head that its bound needs (all spectral norms exact).
    public struct Head: Sendable, Equatable {
        /// `‖W_O^h W_V^h‖₂`.
        public var ov: Double
        /// `‖W_Q^hᵀ W_K^h‖₂ / √d_h` (position-free form).
        public var qk: Double
        /// `‖W_Q^h‖₂`, `‖W_K^h‖₂`, `‖b_Q^h‖`, `‖b_K^h‖`, and `‖W_K^hᵀ b_Q^h‖ / √d_h`.
        public var q: Double, k: Double, qBias: Double, kBias: Double, kTqBias: Double
        public var headDim: Int

        public init(ov: Double, qk: Double, q: Double, k: Double, qBias: Double, kBias: Double, kTqBias: Double, headDim: Int) {
            self.ov = ov; self.qk = qk; self.q = q; self.k = k
            self.qBias = qBias; self.kBias = kBias; self.kTqBias = kTqBias; self.headDim = headDim
        }
    }

    /// One softmax attention head `o_i = W_O Σ_k P_ik (W_V x_k + b_V)`, `P_i = softmax_k(s_ik)`,
    /// with any mask, on sequences of `n` rows with `‖x_k‖ ≤ R` and `‖x_k − c‖ ≤ R_c` for one
    /// fixed c. Differentiating, `do_i = OV Σ_k P_ik dx_k + OV Σ_k P_ik (x_k − x̄_i)(ds_ik − ds̄_i)`
    /// (the softmax Jacobian `diag(p) − ppᵀ` makes the second term a P_i-weighted covariance).
    /// Cauchy–Schwarz under P_i and `Σ_k P_ik ‖x_k − x̄_i‖² ≤ R_c²` give
    /// `‖do_i‖ ≤ ‖OV‖ (√(Σ_k P_ik‖dx_k‖²) + R_c (a‖dx_i‖ + b √(Σ_k P_ik‖dx_k‖²)))` whenever
    /// `|ds_ik| ≤ a‖dx_i‖ + b‖dx_k‖`. Column sums of P are at most n, so summing squares over i
    /// (Minkowski): `L_h = ‖OV‖ (√n (1 + R_c b) + R_c a)`.
    /// Scores: without rotary positions, `s_ik = x_iᵀ W_Qᵀ W_K x_k/√d_h + b_Qᵀ W_K x_k/√d_h + (terms
    /// in i only, which softmax ignores)`, so `a = ‖A‖R`, `b = ‖A‖R + ‖W_Kᵀ b_Q‖/√d_h`. With rotary
    /// positions (orthogonal R_i), `s_ik = (R_i q_i)ᵀ(R_k k_k)/√d_h`, so
    /// `a = ‖W_Q‖(‖W_K‖R + ‖b_K‖)/√d_h`, `b = (‖W_Q‖R + ‖b_Q‖)‖W_K‖/√d_h` for every offset.
    public static func attentionHead(_ h: Head, sequenceLength n: Int, rows r: Double, centred rc: Double, rotary: Bool) -> Double {
        let sq = Double(h.headDim).squareRoot()
        let a: Double, b: Double
        if rotary {
            a = h.q * (h.k * r + h.kBias) / sq
            b = (h.q * r + h.qBias) * h.k / sq
        } else {
            a = h.qk * r
            b = h.qk * r + h.kTqBias
        }
        let rootN = Double(n).squareRoot()
        return h.ov * (rootN * (1 + rc * b) + rc * a)
    }

    /// Multi-head attention `Σ_h W_O^h head_h + b_O`: the sum of the heads' bounds.
    public static func attention(_ heads: [Head], sequenceLength n: Int, rows r: Double, centred rc: Double, rotary: Bool) -> Double {
        heads.reduce(0) { $0 + attentionHead($1, sequenceLength: n, rows: r, centred: rc, rotary: rotary) }
    }

    /// Gated MLP `W_down (φ(W_gate z + b_g) ⊙ (W_up z + b_u))` on `‖z‖ ≤ R` with `|φ(t)| ≤ |t|`
    /// (SiLU, GELU): `J = W_down (diag(u ⊙ φ'(g)) W_gate + diag(φ(g)) W_up)`, `|u_i| ≤ ‖up_i‖R + |b_u,i|`,
    /// `|φ(g_i)| ≤ ‖gate_i‖R + |b_g,i|`, so
    /// `‖J‖₂ ≤ ‖W_down‖ (max_i|u_i| · Lip(φ) · ‖W_gate‖ + max_i|g_i| · ‖W_up‖)` (`maxAbsUp`, `maxAbsGate`: those maxima).
    public static func gatedMLP(down: Double, gate: Double, up: Double, maxAbsUp: Double, maxAbsGate: Double,
                                activationLipschitz: Double) -> Double {
        down * (maxAbsUp * activationLipschitz * gate + maxAbsGate * up)
    }
}
