import LinearAlgebra

/// BatchNorm at inference as the diagonal operator `diag(s)`, `s_i = γ_i / sqrt(var_i + ε)`
/// (SPEC.md §1), and its folding into the linear operator it follows: `diag(s)·A`.
/// The affine part `β − s ⊙ mean` is a bias: it never enters a Jacobian.
public enum BatchNormFold {
    /// `s_i = γ_i / sqrt(var_i + ε)`. All vectors must have one length; `var_i + ε` must be
    /// positive and finite. (`beta` and `mean` only enter `foldedBias`; they are checked here
    /// for length so that a mismatched layer fails early.)
    public static func scale(gamma: [Double], beta: [Double], mean: [Double], variance: [Double],
                             epsilon: Double) throws -> [Double] {
        let c = gamma.count
        guard beta.count == c, mean.count == c, variance.count == c else {
            throw OperatorError.lengthMismatch("gamma \(c), beta \(beta.count), mean \(mean.count), variance \(variance.count)")
        }
        return try (0..<c).map { i in
            let d = variance[i] + epsilon
            guard d > 0, d.isFinite else { throw OperatorError.invalidVariance(channel: i) }
            return gamma[i] / d.squareRoot()
        }
    }

    /// `diag(s)·A`: row i (output channel i) of the operator scaled by `s_i`.
    public static func fold(_ a: Matrix, scale s: [Double]) throws -> Matrix {
        guard s.count == a.rows else {
            throw OperatorError.lengthMismatch("\(s.count) scales for an operator with \(a.rows) outputs")
        }
        return a.scalingRows(by: s)
    }

    /// The convolution followed by BatchNorm: every output channel's filter scaled by `s_o`.
    public static func fold(_ k: ConvKernel, scale s: [Double]) throws -> ConvKernel {
        guard s.count == k.outChannels else {
            throw OperatorError.lengthMismatch("\(s.count) scales for a conv with \(k.outChannels) output channels")
        }
        var w = k.weights
        let per = w.count / Swift.max(1, k.outChannels)
        for o in 0..<k.outChannels { for j in 0..<per { w[o * per + j] *= s[o] } }
        return k.replacingWeights(w)
    }

    /// The folded bias `s ⊙ (b − mean) + β` (b = 0 when the layer has no bias).
    public static func foldedBias(bias: [Double]?, scale s: [Double], beta: [Double], mean: [Double]) throws -> [Double] {
        let b = bias ?? [Double](repeating: 0, count: s.count)
        guard b.count == s.count, beta.count == s.count, mean.count == s.count else {
            throw OperatorError.lengthMismatch("bias \(b.count), scale \(s.count), beta \(beta.count), mean \(mean.count)")
        }
        return (0..<s.count).map { s[$0] * (b[$0] - mean[$0]) + beta[$0] }
    }
}
