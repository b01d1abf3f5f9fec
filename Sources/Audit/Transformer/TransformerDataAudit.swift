import AuditReport
import Foundation
import LinearAlgebra
import SpectralModel
import WeightFiles

/// Data mode for a Hugging Face transformer folder (`--probe` beside a `config.json` this tool
/// reads): the audited function is input embeddings `[n, d]` → last hidden state `[n·d]`
/// (`TransformerGraph`), evaluated in float64 on every probe.
///
/// Probes: an integer `.npy` `[N, n]` of token ids (looked up in the word embeddings here, before
/// the network, as `inputs_embeds`), or a float `.npy` `[N, n, d]` of input embeddings. An optional
/// `--attention-mask` `.npy` `[N, n]` (1 keep, 0 padding) masks keys as Hugging Face's
/// `attention_mask` does; the mask rides on each probe's tape, so one compiled model serves all, as
/// do each probe's own position ids (RoBERTa family) and the token a last-token head reads
/// (`Probes.channels`, `SampleChannels`): probes padded differently are measured together.
///
/// Per probe: `‖J‖₂ = σ_max(∂h/∂x)` by Golub–Kahan–Lanczos (`Lanczos.topK`) on JVP/VJP products
/// (never the `(n·d)²` matrix), tolerance 1e-10 on the error estimate, with the Lanczos residual as
/// certificate (`σ_max ∈ [θ, θ + r]`); `σ_max(∂h/∂θ)` as the root of `λ_max(J_θ J_θᵀ)` by symmetric
/// Lanczos on the `(n·d)`-dimensional Gram (one parameter VJP and one parameter JVP per product,
/// tolerance 1e-10; a P-dimensional Lanczos basis would not fit in memory for real models). The
/// domain the probes met — n, each norm's smallest input scale, each attention's largest input
/// row norms — gives the local bound (`TransformerAnalyzer.analyze(measured:)`) printed beside them.
/// NTK: `g_K = λ_max(J_S J_Sᵀ/N)`, λ_min and condition by symmetric Lanczos on batched parameter
/// VJP/JVP products in batches of `ntkBatch` probes (`ntkExtremes`); one compiled model serves every probe (masks on the tapes). The loss Hessian is not computed (a hidden state has no loss): its component
/// is null with that reason.
enum TransformerDataAudit {
    struct Probes {
        var embeddings: [Double]  // N × n × d
        var count: Int
        var length: Int
        var kind: String
        var masks: [[Bool]]?
        /// Token ids `N × n` of integer probes (RoBERTa's position ids follow them).
        var tokenIds: [Int]? = nil
        /// Per probe, its position rows and read token (`TransformerPositions.channels`), carried
        /// on every tape of it as its mask is.
        var channels: SampleChannels = .none
    }

    /// Runs data mode when the report has a transformer section whose config this tool reads.
    /// Returns false when the generic data audit should run instead.
    static func apply(to report: inout AuditReportV1, store: any TensorStore, configuration: AuditConfiguration,
                      options: DataAuditOptions) throws -> Bool {
        guard report.transformer != nil, configuration.manifestPath == nil, store.architectureJSON == nil,
              case .supported(let config) = try TransformerAudit.configBeside(store.path, limits: configuration.limits) else { return false }
        do {
            let (data, dataReport, notes) = try run(store: store, config: config, options: options,
                                                     maskPath: configuration.attentionMaskPath, progress: configuration.progress)
            report.transformer?.data = data
            // `dataReport.gHReason` (no loss on a hidden state) becomes sqrt_g_H's null reason.
            report.data = dataReport
            report.applyDataGMSI(components: ["g_J": dataReport.gJ, "g_theta": dataReport.gTheta,
                                              "sqrt_g_K": dataReport.gK.map { $0.squareRoot() }, "sqrt_g_H": dataReport.gH.map { $0.squareRoot() }],
                                 aggregate: configuration.gmsiAggregate)
            report.assumptions += notes
        } catch let e as DataAuditError where e.kind == .unsupported {
            report.markDataAuditUnavailable(e.message, aggregate: configuration.gmsiAggregate)
        }
        return true
    }

    static func loadProbes(path: String, maskPath: String?, limit: Int?, width d: Int, vocabulary: () throws -> (table: [Double], rows: Int))
        throws -> Probes {
        let s = try NPYTensorStore(path: path)
        guard let info = s.tensors.first, info.shape.count >= 2, info.shape[0] >= 1 else {
            throw DataAuditError("\(path): transformer probes must be token ids [N, n] or embeddings [N, n, \(d)]")
        }
        let total = info.shape[0], N = Swift.min(total, Swift.max(1, limit ?? total)), n = info.shape[1]
        guard n >= 1 else { throw DataAuditError("\(path): probes of 0 tokens") }
        let raw = try s.loadFloat64(info.name)
        var probes: Probes
        if !info.dtype.isFloatingPoint {
            guard info.shape.count == 2 else {
                throw DataAuditError("\(path): integer probes must be token ids of shape [N, n], not \(info.shape)")
            }
            let (table, V) = try vocabulary()
            var e = [Double](repeating: 0, count: N * n * d)
            for i in 0..<(N * n) {
                let t = raw[i]
                guard t >= 0, t < Double(V), t == t.rounded() else {
                    let shown = t.isFinite && Swift.abs(t) < 1e15 && t == t.rounded() ? String(Int64(t)) : "\(t)"
                    throw DataAuditError("\(path): token id \(shown) at probe \(i / n), position \(i % n) is outside the vocabulary [0, \(V))")
                }
                let row = Int(t)
                for c in 0..<d { e[i * d + c] = table[row * d + c] }
            }
            probes = Probes(embeddings: e, count: N, length: n, kind: "token_ids", masks: nil,
                            tokenIds: raw.prefix(N * n).map { Int($0) })
        } else {
            guard info.shape.count == 3, info.shape[2] == d else {
                throw DataAuditError("\(path): float probes must be input embeddings [N, n, \(d)], not \(info.shape)")
            }
            let e = Array(raw.prefix(N * n * d))
            guard e.allSatisfy({ $0.isFinite }) else { throw DataAuditError("\(path): probe embeddings contain NaN or Inf") }
            probes = Probes(embeddings: e, count: N, length: n, kind: "embeddings", masks: nil)
        }
        if let maskPath {
            let ms = try NPYTensorStore(path: maskPath)
            guard let mi = ms.tensors.first, mi.shape.count == 2, mi.shape[0] >= N, mi.shape[1] == n else {
                throw DataAuditError("\(maskPath): the attention mask must have shape [N, \(n)] (one row per probe)")
            }
            let m = try ms.loadFloat64(mi.name)
            var masks: [[Bool]] = []
            for i in 0..<N {
                let row = Array(m[(i * n)..<((i + 1) * n)])
                guard row.allSatisfy({ $0 == 0 || $0 == 1 }), row.contains(1) else {
                    throw DataAuditError("\(maskPath): mask row \(i) must hold 0/1 values with at least one 1")
                }
                masks.append(row.map { $0 == 1 })
            }
            probes.masks = masks
        }
        return probes
    }

    static func wordEmbeddings(_ layout: TransformerLayout) -> String {
        switch layout.family {
        case .bert: return layout.prefix + "embeddings.word_embeddings.weight"
        case .gpt2: return layout.prefix + "wte.weight"
        case .llama: return layout.prefix + "embed_tokens.weight"
        }
    }

    static func run(store: any TensorStore, config: HFModelConfig, options: DataAuditOptions, maskPath: String?,
                    progress: ((Int, Int, String) -> Void)?) throws -> (TransformerDataV1, DataReport, [String]) {
        let d = config.hiddenSize
        let layout: TransformerLayout
        switch TransformerLayout.resolve(config, names: Set(store.tensors.map(\.name))) {
        case .success(let l): layout = l
        case .failure(let e): throw DataAuditError(e.description, kind: .unsupported)
        }
        progress?(0, 4, "probes")
        var probes = try loadProbes(path: options.probePath, maskPath: maskPath, limit: options.probeLimit, width: d) {
            let name = wordEmbeddings(layout)
            let info = try store.info(name)
            guard info.shape.count == 2, info.shape[1] == d else {
                throw DataAuditError("word embeddings '\(name)' have shape \(info.shape), expected [vocab, \(d)]")
            }
            return (try store.loadFloat64(name), info.shape[0])
        }
        let N = probes.count, n = probes.length, size = n * d
        progress?(1, 4, "Jacobians (Lanczos on JVP/VJP)")
        let cache = TransformerTensorCache(store: store, width: d)
        // RoBERTa-family position ids and the task head's logits (TransformerPositions, TransformerHead).
        let positionIds = try TransformerPositions.ids(config: config, tokenIds: probes.tokenIds, count: N, length: n)
        let (tg, head, headReason) = try compile(layout: layout, config: config, store: store, sequenceLength: n, cache: cache,
                                                 positionIds: positionIds, tokenIds: probes.tokenIds, count: N)
        probes.channels = TransformerPositions.channels(positionIds: positionIds, readPositions: head?.selectedPositions)
        // Labels are read and checked before any measurement: a headless model or a bad labels file
        // fails at once, not after the Jacobians.
        let targets = try options.labelsPath.map { path -> TransformerLoss.Targets in
            guard let head else {
                throw DataAuditError("--labels needs a task head (config architectures: a *ForSequenceClassification, *ForMaskedLM or *ForCausalLM class this tool reproduces); \(headReason ?? "the folder's model is a base model") — the last hidden state has no loss")
            }
            try head.checkBatch(probes: N, labelsPath: path)
            return try TransformerLoss.loadTargets(path: path, head: head, count: N, length: n, outputs: outputDimension(tg))
        }
        let (measured, ntk, P) = try measure(graph: tg, cache: cache, probes: probes, width: d,
                                             maskPath: maskPath, options: options, progress: progress)
        let jn = measured.map(\.jacobianNorm), pn = measured.map(\.parameterJacobianNorm)
        let res = measured.map(\.residual), iters = measured.map(\.iterations)
        let entropy = measured.map(\.spectrum.entropy), entropyErr = measured.map(\.spectrum.entropyError)
        let tau = measured.map(\.spectrum.tau), tauErr = measured.map(\.spectrum.tauError), ai = measured.map(\.attributionInstability)
        let exactSpectrum = measured.allSatisfy(\.spectrum.exact)
        var normScales: [String: Double] = [:]
        var rows: [Int: (rows: Double, centred: Double)] = [:]
        for m in measured {
            for (k, v) in m.normScales { normScales[k] = Swift.min(normScales[k] ?? .infinity, v) }
            for (k, v) in m.attentionRows {
                let old = rows[k] ?? (0, 0)
                rows[k] = (Swift.max(old.rows, v.rows), Swift.max(old.centred, v.centred))
            }
        }
        progress?(3, 4, "bound on the measured domain")
        let domainMet = MeasuredDomain(normInputScales: normScales, attentionRows: rows)
        let minScale = normScales.values.min() ?? .nan
        var reason: String? = nil
        var bound: Double? = nil, log10Bound: Double? = nil
        do {
            let a = try TransformerAnalyzer.analyze(store: store, config: config,
                                                    domain: TransformerDomain(sequenceLength: n, normInputScale: minScale),
                                                    measured: domainMet)
            bound = a.networkBound
            log10Bound = a.log10NetworkBound
            reason = a.networkBoundReason
        } catch {
            reason = "\(error)"
        }
        var headBound: Double? = nil
        if let head {
            (bound, log10Bound, headBound, reason) = composeHeadBound(head, store: store, config: config, normScales: normScales,
                                                                      bound: bound, log10Bound: log10Bound, reason: reason)
        }
        let gJ = jn.max()!
        let blocks = layout.blocks.map(\.index)
        let domain = MeasuredTransformerDomainV1(
            sequenceLength: n, normInputScales: normScales, minNormInputScale: minScale,
            attentionInputRowNorms: blocks.map { rows[$0]?.rows ?? .nan },
            attentionInputCentredRowNorms: blocks.map { rows[$0]?.centred ?? .nan })
        let holds: Bool? = bound.map { $0 >= gJ } ?? log10Bound.map { $0 >= Foundation.log10(gJ) }
        var data = TransformerDataV1(
            probeKind: probes.kind, probes: N, sequenceLength: n, attentionMask: maskPath, measuredDomain: domain,
            networkBound: bound, log10NetworkBound: log10Bound, jacobianNorms: jn, jacobianResiduals: res,
            lanczosIterations: iters, parameterJacobianNorms: pn, boundHolds: holds, reason: reason)
        data.jacobianSpectrumMethod = exactSpectrum ? "exact" : "slq"
        data.jacobianEntropyErrors = entropyErr
        data.tauErrors = tauErr
        if !exactSpectrum {
            data.jacobianEntropyQuadratureErrors = measured.map(\.spectrum.quadratureHalfWidth)
            data.jacobianSLQSteps = measured.map(\.spectrum.steps)
        }
        let loss = try targets.map { targets -> TransformerLoss.Result in
            progress?(3, 4, "loss Hessian (Lanczos on exact HVPs)")
            return try TransformerLoss.run(graph: tg, cache: cache, probes: probes, targets: targets, options: options)
        }
        data.output = outputSection(head: head, headReason: headReason, dimension: outputDimension(tg),
                                    headBound: headBound, positionIds: positionIds, labelsPath: options.labelsPath, loss: loss)
        let attribution = options.attributionSamples > 0 ? ai : []
        var report = DataReport(probeCount: N, probePath: options.probePath, labelsPath: options.labelsPath,
                                loss: loss == nil ? nil : LossKind.crossEntropy.rawValue, seed: options.seed,
                                perSample: DataReport.PerSample(jacobianNorm: jn, jacobianEntropy: entropy, tau: tau,
                                                                parameterGradientNorm: pn, attributionInstability: attribution))
        if !attribution.isEmpty {
            report.attributionInstabilityMean = attribution.reduce(0, +) / Double(N)
            report.attributionInstabilityMax = attribution.max()
            report.attributionEpsilon = options.attributionEpsilon
        }
        report.gJ = gJ
        report.gJMean = jn.reduce(0, +) / Double(N)
        report.gJP95 = DataAudit.percentile(jn, 0.95)
        report.gTheta = pn.max()
        report.gK = ntk.gK
        report.ntkLambdaMin = ntk.lambdaMin
        report.ntkCondition = ntk.condition
        report.gHReason = "transformer data mode: the audited function is the last hidden state, which has no loss"
        if let loss {
            report.gH = loss.gH
            report.gHReason = nil
            report.hessianLambdaMax = loss.lambdaMax
            report.hessianLambdaMin = loss.lambdaMin
        } else if head != nil {
            report.gHReason = "transformer data mode: no labels (--labels) for the head's loss"
        }
        if let bound, gJ > 0 { report.boundRatio = bound / gJ }
        let notes = ntk.notes + headNotes(head: head, headReason: headReason, positionIds: positionIds, loss: loss, probeKind: probes.kind) + [
            "transformer data mode: f = input embeddings [\(n), \(d)] → \(head == nil ? "last hidden state [\(n)·\(d)]" : "the head's logits (transformer.data.output)") (\(probes.kind == "token_ids" ? "token ids looked up in '\(wordEmbeddings(layout))'" : "probe embeddings used as inputs_embeds"); \(positionIds.map { ids in TransformerPositions.common(ids).map { "position ids \($0.map(String.init).joined(separator: ","))" } ?? "each probe's own position ids (\(ids.prefix(3).map { $0.map(String.init).joined(separator: ",") }.joined(separator: "; "))\(ids.count > 3 ? "; … all in transformer.data.output.probe_position_ids" : ""))" } ?? "positions 0…\(n - 1)")\(layout.family == .bert ? ", token type 0" : "")\(maskPath.map { "; attention mask \($0)" } ?? ""))",
            "transformer data mode: σ_max of ∂h/∂x per probe by Golub–Kahan–Lanczos on JVP/VJP products (tolerance 1e-10, residual certificates in transformer.data), of ∂h/∂θ as √λ_max(J_θJ_θᵀ) by symmetric Lanczos (tolerance 1e-10; two-pass when its basis exceeds the Lanczos basis memory); θ (P = \(P)) = every weight, bias, norm gain and position embedding, not the word embeddings",
            "transformer data mode: NTK K_S/N over the \(head == nil ? "N·n·d" : "N × the head's outputs") = \(N * outputDimension(tg)) output rows, one compiled model for every probe (each probe's attention mask\(positionIds != nil || head?.selectedPositions != nil ? ", position rows and read token" : "") carried on its tape), per product one batched parameter VJP and parameter JVP per batch of \(ntkBatch) probes, gradients summed in batch order",
            exactSpectrum
                ? "transformer data mode: per probe spectral entropy of ∂h/∂x and τ = ‖J‖_F/(√(n·d)‖J‖₂) exact (J formed by \(size) reverse rows, LAPACK singular values; n·d ≤ \(options.transformerExactSpectrumLimit))"
                : "transformer data mode: per probe spectral entropy of ∂h/∂x and τ by stochastic Lanczos quadrature on JᵀJ (\(Swift.max(2, options.transformerSLQProbes)) Rademacher probes × at most \(options.transformerSLQSteps) steps, batched JVP/VJP; ‖J‖_F² by Hutchinson); H is the midpoint of the Gauss/Gauss–Radau(0) bracket of the same vectors\(options.transformerSLQStopFraction.map { ", each probe's run stopped once the bracket's half-width was ≤ \($0) × the two standard errors (steps in transformer.data.jacobian_slq_steps)" } ?? ""); errors in transformer.data.jacobian_entropy_errors (two standard errors + the half-width, which is also in jacobian_entropy_quadrature_errors) / tau_errors (two standard errors; tr JᵀJ has no quadrature error)",
            options.attributionSamples > 0
                ? "transformer data mode: attribution a(x) = ∇_x h_ĉ(x), ĉ = argmax of the flattened last hidden state (kept for the perturbed inputs); δ uniform on the sphere of radius ε‖x‖ over the whole [n, d] embedding (\(options.attributionSamples) draws, SplitMix64 seeded per probe from seed \(options.seed), as the generic phase)"
                : "transformer data mode: attribution skipped (0 samples)",
            "transformer data mode: the bound beside the measured norms holds on the domain the probes met (n = \(n), each norm's smallest input scale, each attention's largest input row norms)",
        ]
        progress?(4, 4, "done")
        return (data, report, notes)
    }
}
