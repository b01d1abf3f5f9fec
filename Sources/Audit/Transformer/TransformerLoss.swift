import Foundation
import LinearAlgebra
import SpectralModel
import WeightFiles

/// `--labels` for the transformer data mode with a task head (`TransformerHead`): the
/// cross-entropy exactly as the Hugging Face model computes it when called with `labels=`, and the
/// extremes of its Hessian with respect to the parameters θ.
///
/// Labels (an integer `.npy`; `-100` ignored, as torch's `ignore_index`):
/// - sequence classification: `[N]` (or `[N, 1]`) class ids → one logit row of C per probe;
/// - masked LM: `[N, n]` target ids, position t scored against `labels[t]`;
/// - causal LM: `[N, n]` ids shifted inside as transformers' `ForCausalLMLoss` does: position t
///   (t < n−1) scored against `labels[t+1]`, the last position never.
/// `L(θ) = (1/M) Σ_{(i,t) scored} [logsumexp(f_{i,t}) − f_{i,t,y_{i,t}}]`, M = the number of scored
/// rows over the whole probe set (torch's `reduction="mean"` over non-ignored targets; for
/// classification M = N, so L = (1/N) Σ ℓ_i as SPEC §5's `H_S`).
///
/// `H = ∇²_θ L` by exact Hessian–vector products (Pearlmutter's R-operator: a parameter JVP
/// through one tape of all N probes with their masks, then the engine's second-order reverse pass
/// with seed `∂L/∂f = (p − e_y)/M` and its tangent `R{∂L/∂f} = p ⊙ (ḟ − ⟨p, ḟ⟩)/M` per scored row;
/// the ops' second-order rules, attention's included), and λ_max, λ_min by symmetric Lanczos
/// (`BudgetedLanczos`: the stored basis when it fits in `lanczosBasisBytes`, else the two-pass
/// Lanczos with true residuals; error estimate ≤ 1e-10 relative as the transformer Jacobians'),
/// whose error estimates are the certificates. `g_H = max(|λ_max|, |λ_min|)` (SPEC §5).
enum TransformerLoss {
    struct Targets {
        /// Logit rows per probe (1 or n) and their width (C or V).
        var rowsPerProbe: Int
        var classes: Int
        /// `N · rowsPerProbe` targets, −1 where not scored.
        var target: [Int]
        var scored: Int
    }

    struct Result {
        var loss: Double
        var lambdaMax: Double
        var lambdaMin: Double
        var errorMax: Double
        var errorMin: Double
        var iterations: Int
        var converged: Bool
        var scored: Int
        /// `BudgetedLanczos.Outcome.method` / `.notConverged`, for the notes.
        var method = ""
        var notConverged = ""
        var gH: Double { Swift.max(Swift.abs(lambdaMax), Swift.abs(lambdaMin)) }
    }

    static func loadTargets(path: String, head: TransformerHead, count N: Int, length n: Int, outputs: Int) throws -> Targets {
        let s = try NPYTensorStore(path: path)
        guard let info = s.tensors.first, !info.dtype.isFloatingPoint else {
            throw DataAuditError("\(path): transformer labels must be an integer .npy (class ids, or target ids with -100 ignored)")
        }
        let raw = try s.loadFloat64(info.name)
        let perProbe = head.kind == .sequenceClassification ? 1 : n
        let classes = outputs / perProbe
        let shapeOK = head.kind == .sequenceClassification
            ? (info.shape == [info.shape.first ?? 0] || info.shape == [info.shape.first ?? 0, 1])
            : info.shape.count == 2 && info.shape[1] == n
        guard shapeOK, info.shape[0] >= N else {
            let want = head.kind == .sequenceClassification ? "[\(N)] class ids" : "[\(N), \(n)] target ids"
            throw DataAuditError("\(path): labels for \(head.architecture) must have shape \(want), not \(info.shape)")
        }
        var target = [Int](repeating: -1, count: N * perProbe)
        for i in 0..<N {
            for t in 0..<perProbe {
                let src = head.kind == .causalLM ? t + 1 : t
                guard src < perProbe else { continue }
                let y = raw[i * perProbe + src]
                if y == -100 { continue }
                guard y >= 0, y < Double(classes), y == y.rounded() else {
                    throw DataAuditError("\(path): label \(y.isFinite ? String(Int64(y)) : "\(y)") at probe \(i)\(perProbe > 1 ? ", position \(src)" : "") is outside [0, \(classes)) and not -100")
                }
                target[i * perProbe + t] = Int(y)
            }
        }
        let scored = target.filter { $0 >= 0 }.count
        guard scored > 0 else { throw DataAuditError("\(path): every label is ignored (-100 or, for a causal LM, at the first position): no loss") }
        return Targets(rowsPerProbe: perProbe, classes: classes, target: target, scored: scored)
    }

    /// The Lanczos tolerance of the Hessian extremes (relative error estimate), as the transformer
    /// data mode's other Lanczos runs.
    static let tolerance = 1e-10

    /// Loss, and the Hessian extremes on the model's parameters at `tape` (all N probes).
    static func hessian(model: ForwardModel, tape: ForwardTape, targets: Targets, options: DataAuditOptions) throws -> Result {
        let V = targets.classes, rows = targets.target.count, inv = 1 / Double(targets.scored)
        let logits = tape.output
        precondition(logits.count == rows * V)
        var probs = [Double](repeating: 0, count: rows * V), gy = probs
        var loss = 0.0
        for r in 0..<rows where targets.target[r] >= 0 {
            let f = logits[(r * V)..<((r + 1) * V)]
            let m = f.max()!
            var z = 0.0
            for c in 0..<V { let e = Foundation.exp(logits[r * V + c] - m); probs[r * V + c] = e; z += e }
            for c in 0..<V { probs[r * V + c] /= z; gy[r * V + c] = probs[r * V + c] * inv }
            gy[r * V + targets.target[r]] -= inv
            loss += (m + Foundation.log(z) - logits[r * V + targets.target[r]]) * inv
        }
        let P = model.parameterCount
        let out = try BudgetedLanczos.extremes(parameters: P, options: options, tolerance: Swift.min(options.lanczosTolerance, tolerance),
                                              seed: options.seed ^ 0x48455353) { v in
            let pt = model.prepareTangent(v)
            let tan = model.jvp(tape, inputTangent: nil, parameterTangent: pt)
            let fdot = tan.last!
            var rgy = [Double](repeating: 0, count: rows * V)
            for r in 0..<rows where targets.target[r] >= 0 {
                var pf = 0.0
                for c in 0..<V { pf += probs[r * V + c] * fdot[r * V + c] }
                for c in 0..<V { rgy[r * V + c] = probs[r * V + c] * (fdot[r * V + c] - pf) * inv }
            }
            return model.secondOrderBackward(tape, tangents: tan, parameterTangent: pt, seed: gy, seedTangent: rgy)
        }
        let hr = out.extremes
        return Result(loss: loss, lambdaMax: hr.lambdaMax, lambdaMin: hr.lambdaMin, errorMax: hr.errorMax, errorMin: hr.errorMin,
                      iterations: out.products, converged: hr.converged, scored: targets.scored, method: out.method,
                      notConverged: out.notConverged)
    }

    /// Compiles `graph` again (the measuring model is released by then) and runs `hessian` on one
    /// tape of every probe, with the targets `loadTargets` read before the measurement.
    static func run(graph: TransformerGraph, cache: TransformerTensorCache, probes: TransformerDataAudit.Probes,
                    targets: Targets, options: DataAuditOptions) throws -> Result {
        let model: ForwardModel
        do {
            model = try ForwardModel(graph: graph.graph, load: cache.load)
        } catch let e as ForwardModelError {
            throw DataAuditError(e.message, kind: e.kind == .unsupported ? .unsupported : .input)
        }
        let tape = model.forward(probes.embeddings, count: probes.count, keyMasks: probes.masks, channels: probes.channels)
        return try hessian(model: model, tape: tape, targets: targets, options: options)
    }
}
