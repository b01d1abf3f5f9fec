import Foundation
import LinearAlgebra
import SpectralModel

/// Phase 3 of the data audit (SPEC §5): extremes of the loss Hessian
/// `H_S = (1/N) Σ ∇²_θ ℓ_i` by symmetric Lanczos (`Lanczos.symmetricExtremes`) on exact
/// Hessian–vector products (Pearlmutter's R-operator: forward-mode tangents, then the
/// second-order reverse pass), never finite differences. When the basis does not fit in
/// `lanczosBasisBytes`, the two-pass Lanczos runs instead (`BudgetedLanczos`).
struct HessianPhase {
    struct Result {
        var lambdaMax: Double
        var lambdaMin: Double
        var note: String
        var gH: Double { Swift.max(Swift.abs(lambdaMax), Swift.abs(lambdaMin)) }
    }

    let context: DataAuditContext
    let probs: [Double]
    let targets: [Double]
    let loss: LossKind

    func run() throws -> Result {
        let c = context, P = c.P, options = c.options
        let grad = Self.lossGradients(logits: c.logits, probs: probs, targets: targets, n: c.n, C: c.C, loss: loss)
        let out = try BudgetedLanczos.extremes(parameters: P, options: options, tolerance: options.lanczosTolerance,
                                              seed: options.seed ^ 0x48455353) { try product($0, gradient: grad) }
        let hr = out.extremes
        let note = "loss Hessian: \(out.method) on exact Hessian–vector products (Pearlmutter R-operator: forward-mode tangents, then the second-order reverse pass), P = \(P), error estimates \(hr.errorMax) (λ_max), \(hr.errorMin) (λ_min)\(hr.converged ? "" : "; \(out.notConverged): λ_max is a lower and λ_min an upper bound")"
        return Result(lambdaMax: hr.lambdaMax, lambdaMin: hr.lambdaMin, note: note)
    }

    /// Exact `H_S v`, summed over batches in batch order.
    func product(_ vector: [Double], gradient: [Double]) throws -> [Double] {
        let c = context, C = c.C, model = c.model, inv = 1 / Double(c.n)
        let v = model.prepareTangent(vector)
        let parts: [[Double]] = try c.perBatch { k in
            let (a, b) = c.chunks[k]
            let tan = model.jvp(c.tapes[k], inputTangent: nil, parameterTangent: v)
            let fdot = tan.last!
            var gy = [Double](repeating: 0, count: (b - a) * C), rgy = gy
            for s in 0..<(b - a) {
                let i = a + s
                for cls in 0..<C { gy[s * C + cls] = gradient[i * C + cls] * inv }
                switch loss {
                case .mse:
                    for cls in 0..<C { rgy[s * C + cls] = fdot[s * C + cls] * inv }
                case .crossEntropy:
                    var mass = 0.0, pf = 0.0
                    for cls in 0..<C { mass += targets[i * C + cls]; pf += probs[i * C + cls] * fdot[s * C + cls] }
                    for cls in 0..<C { rgy[s * C + cls] = mass * probs[i * C + cls] * (fdot[s * C + cls] - pf) * inv }
                }
            }
            return model.secondOrderBackward(c.tapes[k], tangents: tan, parameterTangent: v, seed: gy, seedTangent: rgy)
        }
        var out = parts[0]
        for k in 1..<parts.count { addInPlace(&out, parts[k]) }
        return out
    }

    /// `∇_f ℓ_i` for every probe (`N × C`).
    static func lossGradients(logits: [Double], probs: [Double], targets: [Double], n: Int, C: Int, loss: LossKind) -> [Double] {
        var g = [Double](repeating: 0, count: n * C)
        for i in 0..<n {
            switch loss {
            case .mse:
                for c in 0..<C { g[i * C + c] = logits[i * C + c] - targets[i * C + c] }
            case .crossEntropy:
                var mass = 0.0
                for c in 0..<C { mass += targets[i * C + c] }
                for c in 0..<C { g[i * C + c] = mass * probs[i * C + c] - targets[i * C + c] }
            }
        }
        return g
    }
}
