import LinearAlgebra
import SpectralModel

/// The model-dependent part of the transformer data mode: one compiled model for every probe
/// (each probe's padding mask rides on its tapes), the per-probe measurements and the NTK. The
/// model is released when `measure` returns, before the weights-only analysis loads its tensors.
extension TransformerDataAudit {
    /// What one probe gives: `σ_max(∂h/∂x)` with its Lanczos certificate, `σ_max(∂h/∂θ)`, the
    /// domain it met, its Jacobian spectrum statistics and its attribution instability.
    struct ProbeMeasurement {
        var jacobianNorm: Double
        var residual: Double
        var iterations: Int
        var parameterJacobianNorm: Double
        /// Per normalisation: the smallest input scale over the probe's positions.
        var normScales: [String: Double]
        /// Per block: the largest attention-input row norm, plain and centred on the norm's β.
        var attentionRows: [Int: (rows: Double, centred: Double)]
        var spectrum: TransformerSensitivity.Spectrum
        /// NaN when attribution is skipped (0 samples).
        var attributionInstability: Double
    }

    typealias NTKResult = (gK: Double, lambdaMin: Double?, condition: Double?, iterations: Int, notes: [String])

    static func measure(graph tg: TransformerGraph, cache: TransformerTensorCache, probes: Probes, width d: Int,
                        maskPath: String?, options: DataAuditOptions, progress: ((Int, Int, String) -> Void)?)
        throws -> (probes: [ProbeMeasurement], ntk: NTKResult, parameterCount: Int) {
        let model: ForwardModel
        do {
            model = try ForwardModel(graph: tg.graph, load: cache.load)
        } catch let e as ForwardModelError {
            throw DataAuditError(e.message, kind: e.kind == .unsupported ? .unsupported : .input)
        }
        if let masks = probes.masks {
            let attention = model.ops.compactMap { $0.op as? AttentionOp }
            for (i, m) in masks.enumerated() where !attention.allSatisfy({ $0.admits(sampleMask: m) }) {
                throw DataAuditError("\(maskPath ?? "attention mask"): mask row \(i) leaves a query position without any key to attend to (causal attention needs position 0 kept)")
            }
        }
        let betas = try Dictionary(tg.attentionInputs.compactMap { a in try a.beta.map { ($0, try cache.load(TensorRef(name: $0, shape: [d], orientation: .vector))) } },
                                   uniquingKeysWith: { a, _ in a })
        let measured = try parallelMap(probes.count, jobs: options.jobs) { i in
            try measureProbe(i, probes: probes, model: model, graph: tg, betas: betas, width: d, options: options)
        }
        progress?(2, 4, "NTK (Lanczos on J_S J_Sᵀ)")
        let ntk = try ntkExtremes(model, probes: probes, options: options)
        return (measured, ntk, model.parameterCount)
    }

    static func measureProbe(_ i: Int, probes: Probes, model: ForwardModel, graph tg: TransformerGraph, betas: [String: [Double]],
                             width d: Int, options: DataAuditOptions) throws -> ProbeMeasurement {
        let n = probes.length, size = n * d
        func slot(_ node: Int) -> Int? {
            let name = tg.graph.nodes[node].name
            return model.ops.firstIndex { $0.op.name == name }
        }
        let x = Array(probes.embeddings[(i * size)..<((i + 1) * size)])
        let mask = probes.masks.map { $0[i] }
        let tape = model.forward(x, count: 1, keyMasks: mask.map { [$0] }, channels: probes.channels.slice(i..<(i + 1)))
        // The domain met at this probe.
        var scales: [String: Double] = [:]
        for ni in tg.normInputs {
            guard let s = slot(ni.node) else { continue }
            let v = tape.values(of: s)
            var best = Double.infinity
            for p in 0..<n {
                let r = Array(v[(p * d)..<((p + 1) * d)])
                let mu = ni.isRMS ? 0 : r.reduce(0, +) / Double(d)
                let sc = (r.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / Double(d)).squareRoot()
                best = Swift.min(best, sc)
            }
            scales[ni.norm] = Swift.min(scales[ni.norm] ?? .infinity, best)
        }
        var blockRows: [Int: (rows: Double, centred: Double)] = [:]
        for a in tg.attentionInputs {
            guard let s = slot(a.node) else { continue }
            let v = tape.values(of: s), beta = a.beta.flatMap { betas[$0] }
            var r = 0.0, rc = 0.0
            for p in 0..<n {
                var s1 = 0.0, s2 = 0.0
                for c in 0..<d {
                    let z = v[p * d + c]
                    s1 += z * z
                    let w = z - (beta?[c] ?? 0)
                    s2 += w * w
                }
                r = Swift.max(r, s1.squareRoot())
                rc = Swift.max(rc, s2.squareRoot())
            }
            blockRows[a.block] = (r, rc)
        }
        // Output rows: n·d (last hidden state) or the head's logits (TransformerHead).
        let outputs = model.outputCount
        let jvp: (UnsafeBufferPointer<Double>, UnsafeMutableBufferPointer<Double>) -> Void = { v, y in
            let out = model.jvp(tape, inputTangent: Array(v), parameterTangent: nil as [Double]?).last!
            for e in 0..<outputs { y[e] = out[e] }
        }
        let vjp: (UnsafeBufferPointer<Double>, UnsafeMutableBufferPointer<Double>) -> Void = { u, w in
            let g = model.backward(tape, seed: Array(u)).inputCotangent
            for e in 0..<size { w[e] = g[e] }
        }
        // (A wide J — fewer outputs than inputs, a classification head — is run on Jᵀ by Lanczos.topK.)
        let op = Lanczos.Operator(rows: outputs, cols: size, apply: jvp, applyTranspose: vjp)
        // A near-double top singular value slows the 1e-10 estimate; 1e-7 is then the documented fallback.
        let sv: SingularValueResult
        do {
            sv = try Lanczos.topK(op, k: 1, tolerance: 1e-10, seed: options.seed ^ UInt64(i), maxIterations: 300)
        } catch LinearAlgebraError.notConverged {
            do {
                sv = try Lanczos.topK(op, k: 1, tolerance: 1e-7, seed: options.seed ^ UInt64(i), maxIterations: 600)
            } catch LinearAlgebraError.notConverged(let it, let residual) {
                throw DataAuditError("probe \(i): Lanczos for ‖∂h/∂x‖₂ did not converge in \(it) products (relative residual \(residual))",
                                     kind: .unsupported)
            }
        }
        // ‖J_θ‖₂² = λ_max(J_θ J_θᵀ), an (n·d)-dimensional Gram (the P-dimensional side is never a
        // Lanczos basis): one reverse pass (parameter gradient) and one parameter JVP per product.
        // One parameter-sized tangent for all products (ForwardModel+GradientInPlace): no fresh P-sized
        // buffers; released before the spectrum phase. The Gram's order is n·V for an LM head: its
        // basis is stored only within the Lanczos basis budget, shared by the probes measured at
        // once (`gramBasisBytes`), else the two-pass Lanczos runs (`BudgetedLanczos`).
        let gram: Lanczos.SymmetricResult
        do {
            var work = model.zeroTangent()
            gram = try BudgetedLanczos.extremes(dimension: outputs, bytes: gramBasisBytes(options, probes: probes.count), maxIterations: 300,
                                                tolerance: 1e-10, seed: options.seed ^ 0x7E7A ^ UInt64(i), needMin: false) { u in
                model.parameterGradient(tape, seed: u, into: &work)
                return model.jvp(tape, inputTangent: nil, parameterTangent: work).last!
            }.extremes
        }
        let spectrum = try TransformerSensitivity.spectrum(model: model, tape: tape, x: x, mask: mask, sigmaMax: sv.values[0], probe: i, options: options)
        let instability = options.attributionSamples > 0
            ? TransformerSensitivity.attribution(model: model, tape: tape, x: x, mask: mask, probe: i, options: options) : .nan
        return ProbeMeasurement(jacobianNorm: sv.values[0], residual: sv.certificate ?? 0, iterations: sv.iterations ?? 0,
                                parameterJacobianNorm: Swift.max(gram.lambdaMax, 0).squareRoot(), normScales: scales,
                                attentionRows: blockRows, spectrum: spectrum, attributionInstability: instability)
    }

    /// `g_K = λ_max(K_S / N)`, λ_min and condition, `K_S = J_S J_Sᵀ` over every probe's `n·d`
    /// outputs (SPEC §5 with C = n·d, or the head's logits), by the generic `NTKPhase.extremes` (same tolerance, iteration
    /// cap and `--ntk-min-budget`): products `K_S v = J_S (J_Sᵀ v)` — the parameter gradient of
    /// `Σ_i ⟨v_i, h(x_i)⟩` by one reverse pass per batch of `ntkBatch` probes (their masks on its
    /// tape), summed in batch order, then one parameter JVP per batch. The batches run on
    /// `options.jobs` threads; their size is fixed, so the result does not depend on `--jobs`.
    static func ntkExtremes(_ model: ForwardModel, probes: Probes, options: DataAuditOptions) throws -> NTKResult {
        // Inputs are `d_in = n·d` embeddings per probe, outputs `size` values (hidden state or head logits).
        let N = probes.count, B = ntkBatch, d_in = model.inputDimension, size = model.outputCount
        let batches = stride(from: 0, to: N, by: B).map { ($0, Swift.min($0 + B, N)) }
        let tapes = try parallelMap(batches.count, jobs: options.jobs) { b -> ForwardTape in
            let (lo, hi) = batches[b]
            return model.forward(Array(probes.embeddings[(lo * d_in)..<(hi * d_in)]), count: hi - lo,
                                 keyMasks: probes.masks.map { Array($0[lo..<hi]) }, channels: probes.channels.slice(lo..<hi))
        }
        let inv = 1 / Double(N)
        // One reusable parameter tangent per batch (ForwardModel+GradientInPlace), summed into the first.
        let work = (0..<batches.count).map { _ in TangentBox(model.zeroTangent()) }
        func apply(_ v: [Double]) throws -> [Double] {
            _ = try parallelMap(batches.count, jobs: options.jobs) { b in
                let (lo, hi) = batches[b]
                model.parameterGradient(tapes[b], seed: Array(v[(lo * size)..<(hi * size)]), into: &work[b].tangent)
            }
            for k in 1..<work.count { model.add(work[k].tangent, into: &work[0].tangent) }
            let tangent = work[0].tangent
            let images = try parallelMap(batches.count, jobs: options.jobs) { b -> [Double] in
                model.jvp(tapes[b], inputTangent: nil, parameterTangent: tangent).last!
            }
            var out = [Double](repeating: 0, count: N * size)
            for (b, (lo, _)) in batches.enumerated() {
                for (e, y) in images[b].enumerated() { out[lo * size + e] = y * inv }
            }
            return out
        }
        // A LayerNorm output makes K_S singular: λ_min = 0, bracketed by one product (TransformerDataAudit+NTKNull).
        let null = try layerNormNullBracket(model, tapes: tapes, dimension: N * size, seed: options.seed, apply: apply)
        // A head's position-wise output layer (an LM head: C = V) bounds λ_min from its own NTK term (TransformerDataAudit+HeadBracket).
        let dense = null == nil ? try outputDenseBracket(model, tapes: tapes, probes: N, seed: options.seed, apply: apply) : nil
        let source = null.map { "from the output LayerNorm: K_S is singular, since its \(N * probes.length) output rows exceed the \(N * probes.length - $0.nullity) conditions of a cotangent 1 ⊘ γ per row killing every parameter's gradient, so λ_min = 0 exactly (null space of dimension ≥ \($0.nullity)); 0 is the lower end (K_S ⪰ 0), the upper end the Rayleigh quotient of a constructed null vector (one product)" }
            ?? "from the head's output layer (its NTK term G ⊗ I_C over the N × positions rows bounds λ_min below; the Rayleigh quotient of v_min(G) ⊗ u above, u ⟂ range(W) or least amplified by Wᵀ; one product)"
        return try NTKPhase.extremes(dimension: N * size, options: options, minBracket: null?.bracket ?? dense,
                                     minBracketSource: source, apply: apply)
    }

    /// The per-probe Gram's share of `lanczosBasisBytes`: the probes run on up to `jobs` threads at once.
    static func gramBasisBytes(_ options: DataAuditOptions, probes: Int) -> Int {
        options.lanczosBasisBytes / Swift.max(1, Swift.min(options.jobs, probes))
    }

    /// Probes per NTK batch: 8 × 32 tokens make 256-row products, near dgemm's peak, and 16
    /// probes give two batches for two cores.
    static let ntkBatch = 8
}

/// A batch's reusable parameter tangent, written by one worker of `parallelMap` at a time.
final class TangentBox: @unchecked Sendable {
    var tangent: ParameterTangent
    init(_ tangent: ParameterTangent) { self.tangent = tangent }
}
