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
    /// Other activations with a known constant: selu (λ·max(1, α) = 1.0507·1.6733 → 1.758100),
    /// relu6 (1), softsign (1), hard_silu/hard_swish (max (2x+3)/6 on [−3, 3] = 1.5).
    case named(String, lipschitz: Double)

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
        case .named(_, let l): return l
        }
    }

    /// The name used in reports.
    public var name: String {
        switch self {
        case .linear: return "linear"
        case .relu: return "relu"
        case .leakyRelu(let a): return "leaky_relu(\(a))"
        case .prelu: return "prelu"
        case .elu(let a): return "elu(\(a))"
        case .tanh: return "tanh"
        case .sigmoid: return "sigmoid"
        case .hardSigmoid(let s): return "hard_sigmoid(\(s))"
        case .softplus: return "softplus"
        case .gelu: return "gelu"
        case .silu: return "silu"
        case .mish: return "mish"
        case .softmaxOutput: return "softmax"
        case .named(let n, _): return n
        }
    }

    /// The activation Keras or PyTorch calls `name`, or nil when its Lipschitz constant is not
    /// tabulated (the chain is then broken there). `kerasMajor` picks hard_sigmoid's slope.
    public static func named(_ name: String, kerasMajor: Int = 3) -> Activation? {
        switch name.lowercased() {
        case "linear", "identity", "none": return .linear
        case "relu": return .relu
        case "relu6": return .named("relu6", lipschitz: 1)
        case "leaky_relu", "leakyrelu": return .leakyRelu(alpha: 0.2)
        case "elu": return .elu(alpha: 1)
        case "selu": return .named("selu", lipschitz: 1.758100)
        case "tanh": return .tanh
        case "sigmoid": return .sigmoid
        case "hard_sigmoid": return .hardSigmoid(slope: kerasMajor >= 3 ? 1.0 / 6.0 : 0.2)
        case "softplus": return .softplus
        case "softsign": return .named("softsign", lipschitz: 1)
        case "gelu": return .gelu
        case "silu", "swish": return .silu
        case "hard_silu", "hard_swish": return .named("hard_silu", lipschitz: 1.5)
        case "mish": return .mish
        case "softmax": return .softmaxOutput
        default: return nil
        }
    }
}
