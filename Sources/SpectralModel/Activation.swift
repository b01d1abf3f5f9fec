/// Element-wise activations φ and their Lipschitz constants `Lip(φ) = sup |φ'|` (SPEC.md §3).
public enum Activation: Sendable, Hashable, Codable {
    case linear
    case relu
    case leakyRelu(alpha: Double)
    case prelu(maxAbsAlpha: Double)
    case elu(alpha: Double)
    case tanh
    case sigmoid
    /// Keras `hard_sigmoid`: slope 0.2 (Keras 2) or 1/6 (Keras 3).
    case hardSigmoid(slope: Double)
    case softplus
    case gelu
    case silu
    case mish
    /// Softmax at the output is excluded: the audited function is the logits.
    case softmaxOutput

    /// `sup |φ'|`. Constants for gelu, silu and mish are the maxima of their derivatives,
    /// rounded up in the last printed digit so the bound stays sound:
    /// gelu: max φ'(x) = 1.1289041… at x = √2 (exact erf form);
    /// silu/swish: 1.0998393… at x ≈ 2.3994; mish: 1.0884982… at x ≈ 1.4906.
    /// Derivative minima (−0.129, −0.0998, −0.113) are smaller in magnitude.
    public var lipschitz: Double {
        switch self {
        case .linear, .relu, .tanh, .softplus, .softmaxOutput: return 1
        case .leakyRelu(let a): return Swift.max(1, abs(a))
        case .prelu(let m): return Swift.max(1, m)
        case .elu(let a): return Swift.max(1, a)
        case .sigmoid: return 0.25
        case .hardSigmoid(let s): return s
        case .gelu: return 1.128905
        case .silu: return 1.099840
        case .mish: return 1.088499
        }
    }
}
