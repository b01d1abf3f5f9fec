/// How an op contributes to a network Lipschitz bound (SPEC.md §3), stated beside its forward
/// rule.
///
/// - `linearOperator`: a linear map whose constant is its operator norm ‖A‖₂, which the
///   weights-only audit computes from the spectrum of its weights (dense, convolution, the
///   folded BatchNorm scale).
/// - `constant`: a global constant, valid for every input (`‖f(x) − f(y)‖ ≤ L ‖x − y‖` for all
///   x, y): ReLU 1, sigmoid 1/4, max pooling 1, …
/// - `merge`: a junction of branches (add: the sum of the branch constants; concatenation: the
///   root of the sum of squares).
/// - `local`: a bound that holds only on a stated domain (dot-product attention is not globally
///   Lipschitz — Kim, Papamakarios & Mnih 2021 — but is on inputs of bounded norm and sequence
///   length; LayerNorm needs a lower bound on the input's spread; an unrolled recurrent cell a
///   horizon T). The domain names what a caller must supply; `bound` evaluates the constant
///   for given domain values, and `derivation` says where it comes from.
/// - `unbounded`: no finite constant is known (the reason is reported).
public enum LipschitzRule: Sendable {
    case linearOperator
    case constant(Double, derivation: String)
    case merge(MergeRule)
    case local(LocalLipschitz)
    case unbounded(reason: String)

    /// The global constant when there is one without further information (constants only).
    public var globalConstant: Double? {
        if case .constant(let c, _) = self { return c }
        return nil
    }
}

public enum MergeRule: String, Sendable, Equatable {
    /// `‖Σ f_i(x) − Σ f_i(y)‖ ≤ (Σ L_i) ‖x − y‖`.
    case sum
    /// Concatenation: `sqrt(Σ L_i²)`.
    case rootSumOfSquares
}

/// One quantity a local bound depends on, with the value it must not exceed (or fall below).
public enum DomainCondition: Sendable, Equatable, Hashable {
    /// Euclidean norm of every input row (token, time step or sample) ≤ R.
    case inputRowNormAtMost(String)
    /// Sequence length ≤ n.
    case sequenceLengthAtMost(String)
    /// Per-row standard deviation of the input ≥ δ (what LayerNorm / RMSNorm divide by).
    case inputScaleAtLeast(String)
    /// Unrolled over at most T steps.
    case horizonAtMost(String)
    /// Any other named condition, in words.
    case stated(String)

    /// The name of the domain parameter this condition binds (`R`, `n`, `δ`, `T`, …).
    public var parameter: String {
        switch self {
        case .inputRowNormAtMost(let p), .sequenceLengthAtMost(let p), .inputScaleAtLeast(let p),
             .horizonAtMost(let p), .stated(let p):
            return p
        }
    }
}

/// A Lipschitz bound valid on a stated domain.
public struct LocalLipschitz: Sendable {
    public var domain: [DomainCondition]
    /// The bound for values of the domain parameters (keyed by `DomainCondition.parameter`);
    /// nil when a needed value is missing.
    public var bound: @Sendable ([String: Double]) -> Double?
    /// Formula and source, for reports and the manual.
    public var derivation: String

    public init(domain: [DomainCondition], derivation: String, bound: @escaping @Sendable ([String: Double]) -> Double?) {
        self.domain = domain
        self.derivation = derivation
        self.bound = bound
    }
}
