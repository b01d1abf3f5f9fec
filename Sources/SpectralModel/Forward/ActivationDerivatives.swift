#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An element-wise activation the forward model can evaluate with its first and second
/// derivatives (SPEC.md §5: `φ'(0) = 0` for ReLU; every kink takes the left-hand slope, i.e. the
/// branch of `x ≤ 0`).
struct ScalarActivation: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case linear, relu, leakyRelu(Double), elu(Double), tanh, sigmoid, hardSigmoid(Double), softplus
        case gelu, silu, mish, relu6, selu, softsign, hardSilu
        /// GPT-2's `gelu_new`: `0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))`.
        case geluTanh
    }
    let kind: Kind

    /// nil when the activation has no forward definition here.
    init?(_ a: Activation) {
        switch a {
        case .linear: kind = .linear
        case .relu: kind = .relu
        case .leakyRelu(let al): kind = .leakyRelu(al)
        case .elu(let al): kind = .elu(al)
        case .tanh: kind = .tanh
        case .sigmoid: kind = .sigmoid
        case .hardSigmoid(let s): kind = .hardSigmoid(s)
        case .softplus: kind = .softplus
        case .gelu: kind = .gelu
        case .silu: kind = .silu
        case .mish: kind = .mish
        case .named(let n, _):
            switch n {
            case "relu6": kind = .relu6
            case "selu": kind = .selu
            case "softsign": kind = .softsign
            case "hard_silu": kind = .hardSilu
            case "gelu_tanh": kind = .geluTanh
            default: return nil
            }
        case .prelu, .softmaxOutput: return nil
        }
    }

    var isLinear: Bool { kind == .linear }
    /// True when φ'' = 0 almost everywhere (piecewise linear).
    var isPiecewiseLinear: Bool {
        switch kind {
        case .linear, .relu, .leakyRelu, .hardSigmoid, .relu6: return true
        default: return false
        }
    }

    static let seluLambda = 1.0507009873554805
    static let seluAlpha = 1.6732632423543772
    static let invSqrt2 = 0.7071067811865476
    static let invSqrt2Pi = 0.3989422804014327
    static let sqrt2OverPi = 0.7978845608028654

    @inline(__always) static func sigm(_ x: Double) -> Double {
        x >= 0 ? 1 / (1 + exp(-x)) : { let e = exp(x); return e / (1 + e) }()
    }
    @inline(__always) static func softplusValue(_ x: Double) -> Double {
        x > 30 ? x : (x < -30 ? exp(x) : log1p(exp(x)))
    }

    /// φ(x).
    @inline(__always) func value(_ x: Double) -> Double {
        switch kind {
        case .linear: return x
        case .relu: return x > 0 ? x : 0
        case .leakyRelu(let a): return x > 0 ? x : a * x
        case .elu(let a): return x > 0 ? x : a * expm1(x)
        case .tanh: return Glibc.tanh(x)
        case .sigmoid: return Self.sigm(x)
        case .hardSigmoid(let s): return Swift.min(1, Swift.max(0, s * x + 0.5))
        case .softplus: return Self.softplusValue(x)
        case .gelu: return 0.5 * x * (1 + erf(x * Self.invSqrt2))
        case .silu: return x * Self.sigm(x)
        case .mish: return x * Glibc.tanh(Self.softplusValue(x))
        case .relu6: return Swift.min(6, Swift.max(0, x))
        case .selu: return x > 0 ? Self.seluLambda * x : Self.seluLambda * Self.seluAlpha * expm1(x)
        case .softsign: return x / (1 + abs(x))
        case .hardSilu: return x * Swift.min(6, Swift.max(0, x + 3)) / 6
        case .geluTanh: return 0.5 * x * (1 + Glibc.tanh(Self.sqrt2OverPi * (x + 0.044715 * x * x * x)))
        }
    }

    /// φ'(x).
    @inline(__always) func d1(_ x: Double) -> Double {
        switch kind {
        case .linear: return 1
        case .relu: return x > 0 ? 1 : 0
        case .leakyRelu(let a): return x > 0 ? 1 : a
        case .elu(let a): return x > 0 ? 1 : a * exp(x)
        case .tanh: let t = Glibc.tanh(x); return 1 - t * t
        case .sigmoid: let s = Self.sigm(x); return s * (1 - s)
        case .hardSigmoid(let s): let z = s * x + 0.5; return (z > 0 && z < 1) ? s : 0
        case .softplus: return Self.sigm(x)
        case .gelu: return 0.5 * (1 + erf(x * Self.invSqrt2)) + x * Self.invSqrt2Pi * exp(-0.5 * x * x)
        case .silu: let s = Self.sigm(x); return s + x * s * (1 - s)
        case .mish:
            let t = Glibc.tanh(Self.softplusValue(x)), s = Self.sigm(x)
            return t + x * s * (1 - t * t)
        case .relu6: return (x > 0 && x < 6) ? 1 : 0
        case .selu: return x > 0 ? Self.seluLambda : Self.seluLambda * Self.seluAlpha * exp(x)
        case .softsign: let d = 1 + abs(x); return 1 / (d * d)
        case .hardSilu: return x <= -3 ? 0 : (x >= 3 ? 1 : (2 * x + 3) / 6)
        case .geluTanh:
            // φ' = ½(1 + t) + ½x(1 − t²)u', u = c(x + a x³), u' = c(1 + 3a x²).
            let t = Glibc.tanh(Self.sqrt2OverPi * (x + 0.044715 * x * x * x))
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * Self.sqrt2OverPi * (1 + 3 * 0.044715 * x * x)
        }
    }

    /// φ''(x) (0 on the linear pieces of piecewise-linear activations).
    @inline(__always) func d2(_ x: Double) -> Double {
        switch kind {
        case .linear, .relu, .leakyRelu, .hardSigmoid, .relu6: return 0
        case .elu(let a): return x > 0 ? 0 : a * exp(x)
        case .tanh: let t = Glibc.tanh(x); return -2 * t * (1 - t * t)
        case .sigmoid: let s = Self.sigm(x); return s * (1 - s) * (1 - 2 * s)
        case .softplus: let s = Self.sigm(x); return s * (1 - s)
        case .gelu: return Self.invSqrt2Pi * exp(-0.5 * x * x) * (2 - x * x)
        case .silu: let s = Self.sigm(x); return s * (1 - s) * (2 + x * (1 - 2 * s))
        case .mish:
            let t = Glibc.tanh(Self.softplusValue(x)), s = Self.sigm(x)
            let u = 1 - t * t
            return 2 * s * u + x * s * u * ((1 - s) - 2 * t * s)
        case .selu: return x > 0 ? 0 : Self.seluLambda * Self.seluAlpha * exp(x)
        case .softsign: let d = 1 + abs(x); return x == 0 ? 0 : -2 * (x > 0 ? 1 : -1) / (d * d * d)
        case .hardSilu: return (x > -3 && x < 3) ? 1.0 / 3.0 : 0
        case .geluTanh:
            // φ'' = (1 − t²)(u' + ½x(u'' − 2t u'²)), u'' = 6 a c x.
            let t = Glibc.tanh(Self.sqrt2OverPi * (x + 0.044715 * x * x * x))
            let u1 = Self.sqrt2OverPi * (1 + 3 * 0.044715 * x * x), u2 = Self.sqrt2OverPi * 6 * 0.044715 * x
            return (1 - t * t) * (u1 + 0.5 * x * (u2 - 2 * t * u1 * u1))
        }
    }
}
