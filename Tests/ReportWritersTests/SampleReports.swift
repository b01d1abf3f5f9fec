import Foundation
import AuditReport

/// Hand-built reports for the renderer tests: a small CNN-like chain with three analysed dense
/// layers (one with a long name, one rank-deficient, one with a single singular value), a conv
/// layer with an operator-norm bound, a `non_finite` tensor, an `unsupported` layer, network
/// bounds, two passing and two failing checks, and assumptions. Metrics are computed from the
/// spectra with the SPEC §2 formulas so every figure is consistent.
enum SampleReports {
    static let longDenseName = "model/encoder/block_0/feed_forward/intermediate_dense_projection"

    /// Deterministic decaying spectrum with `count` values, `zeros` trailing zeros.
    static func spectrum(count: Int, top: Double, decay: Double, zeros: Int = 0) -> [Double] {
        (0..<count).map { i in
            i >= count - zeros ? 0 : (top * exp(-Double(i) / decay) * 1e6).rounded() / 1e6
        }
    }

    /// SPEC §2 metrics from a descending spectrum of an `m × n` operator.
    static func metrics(_ s: [Double], m: Int, n: Int) -> SpectrumMetricsV1 {
        let s1 = s.first ?? 0
        let tol = s1 * Double(max(m, n)) * Double.ulpOfOne
        let kept = s.filter { $0 > tol }
        let r = kept.count
        let sumSq = s.reduce(0) { $0 + $1 * $1 }
        let keptSq = kept.reduce(0) { $0 + $1 * $1 }
        let h = kept.reduce(0.0) { acc, x in
            let p = x * x / keptSq
            return acc - p * log(p)
        }
        let sum = s.reduce(0, +)
        let hRV = s.filter { $0 > 0 }.reduce(0.0) { acc, x in
            let q = x / sum
            return acc - q * log(q)
        }
        return SpectrumMetricsV1(
            tol: tol, rank: r, spectralNorm: s1, sigmaMin: kept.last, condition: kept.last.map { s1 / $0 },
            frobenius: sumSq.squareRoot(), nuclear: sum, stableRank: sumSq / (s1 * s1),
            spectralEntropy: h, normalizedEntropy: r > 1 ? h / log(Double(r)) : 0, effectiveRank: exp(h),
            erankRV: exp(hRV), typicalGain: sumSq.squareRoot() / Double(n).squareRoot(),
            entropyBound: s1 * (exp(h) / Double(n)).squareRoot())
    }

    static func analysed(_ name: String, kind: String, tensors: [String], m: Int, n: Int, spectrum s: [Double],
                         orientation: String, activation: String?, lip: Double?) -> LayerReport {
        var l = LayerReport(name: name, kind: kind, tensors: tensors, status: .analyzed)
        l.shape = [m, n]
        l.orientation = orientation
        l.method = "gram_syevd"
        l.metrics = metrics(s, m: m, n: n)
        l.activation = activation
        l.activationLipschitz = lip
        l.singularValues = s
        return l
    }

    /// The weights-only report (verdict `fail`).
    static func weightsOnly() -> AuditReportV1 {
        var conv = analysed("conv1", kind: "conv2d", tensors: ["conv1/kernel:0", "conv1/bias:0"], m: 16, n: 27,
                            spectrum: spectrum(count: 16, top: 2.87, decay: 6), orientation: "hwio→reshape",
                            activation: "relu", lip: 1)
        conv.operatorNorm = 4.1031
        conv.operatorNormMethod = "upper_bound"
        conv.groups = 1
        var d1 = analysed("dense_1", kind: "dense", tensors: ["dense_1/kernel:0", "dense_1/bias:0"], m: 64, n: 256,
                          spectrum: spectrum(count: 64, top: 12.7, decay: 9), orientation: "in_out→transpose",
                          activation: "relu", lip: 1)
        d1.foldedBatchNorm = "batch_normalization"
        // Issue 16: the stored kernel in `metrics`, the folded operator in its own view.
        var folded = FoldedViewV1(batchNorm: "batch_normalization")
        let foldedSpectrum = spectrum(count: 64, top: 12.7 * 1.4, decay: 7)
        folded.shape = [64, 256]
        folded.method = "gram_syevd"
        folded.metrics = metrics(foldedSpectrum, m: 64, n: 256)
        folded.singularValues = foldedSpectrum
        d1.folded = folded
        let d2 = analysed(longDenseName, kind: "dense", tensors: [longDenseName + "/kernel:0"], m: 32, n: 64,
                          spectrum: spectrum(count: 32, top: 3.05, decay: 5, zeros: 3), orientation: "in_out→transpose",
                          activation: "gelu", lip: 1.1289)
        let d3 = analysed("logits", kind: "dense", tensors: ["logits/kernel:0", "logits/bias:0"], m: 1, n: 32,
                          spectrum: [3.9], orientation: "in_out→transpose", activation: nil, lip: nil)
        var aux = LayerReport(name: "aux_head/kernel", kind: "tensor", tensors: ["aux_head/kernel:0"], status: .nonFinite,
                              reason: "3 NaN, 1 +Inf among 1024 values")
        aux.shape = [32, 32]
        let attn = LayerReport(name: "side/multi_head_attention", kind: "multi_head_attention",
                               tensors: ["side/multi_head_attention/query/kernel:0"], status: .unsupported,
                               reason: "attention is not a linear operator; not part of the chain")

        var layers = [conv, d1, d2, attn, aux, d3]
        let lipFactors: [Double] = [2.87, 12.7, 3.05 * 1.1289, 3.9]
        let logL = lipFactors.map(log).reduce(0, +)
        let bigL = exp(logL)
        for i in layers.indices where layers[i].status == .analyzed {
            let s1 = layers[i].metrics!.spectralNorm
            layers[i].layerShare = (log(s1) / logL * 1e6).rounded() / 1e6
        }
        let minEH = layers.compactMap { $0.metrics?.effectiveRank }.min()!
        let minSR = layers.compactMap { $0.metrics?.stableRank }.min()!
        let d = 3072
        let network = NetworkReport(
            lipschitzBound: bigL, log10LipschitzBound: logL / log(10),
            typicalBound: bigL * (minEH / Double(d)).squareRoot(),
            typicalBoundStableRank: bigL * (minSR / Double(d)).squareRoot(), inputDimension: d,
            chain: [
                ChainFactor(layer: "conv1", kind: "operator", value: 2.87),
                ChainFactor(layer: "conv1", kind: "activation", value: 1),
                ChainFactor(layer: "dense_1", kind: "operator", value: 12.7),
                ChainFactor(layer: "dense_1", kind: "activation", value: 1),
                ChainFactor(layer: longDenseName, kind: "operator", value: 3.05),
                ChainFactor(layer: longDenseName, kind: "activation", value: 1.1289),
                ChainFactor(layer: "logits", kind: "operator", value: 3.9),
            ], reason: nil)
        let checks = [
            Check(id: "gmsi.threshold", layer: nil, metric: "gmsi", value: bigL, limit: 1000, comparison: "<=",
                  passed: true, message: "GMSI within threshold"),
            Check(id: "layer.finite", layer: "aux_head/kernel", metric: "finite", value: nil, limit: nil,
                  comparison: "finite", passed: false, message: "weights contain NaN/Inf: 3 NaN, 1 +Inf"),
            Check(id: "layer.spectral_norm.max", layer: "dense_1", metric: "spectral_norm", value: 12.7, limit: 10,
                  comparison: "<=", passed: false, message: "spectral_norm 12.7 exceeds 10 (policy ci.json, rule \"dense_*\")"),
            Check(id: "layer.normalized_entropy.min", layer: "conv1", metric: "normalized_entropy",
                  value: conv.metrics!.normalizedEntropy, limit: 0.5, comparison: ">=", passed: true,
                  message: "normalized_entropy above 0.5"),
        ]
        return AuditReportV1(
            input: InputInfo(path: "models/mnist_cnn.h5", format: "keras_h5",
                             sha256: "3f2a9c1d4e5b60718293a4b5c6d7e8f90123456789abcdef0123456789abcdef",
                             bytes: 1_268_432, architectureSource: "keras_config"),
            settings: Settings(svd: "gram", threshold: 1000, policy: "ci.json", seed: 7),
            layers: layers, network: network, gmsi: bigL, gmsiMode: "weights",
            gmsiComponents: ["jacobian_bound": bigL], gmsiReason: nil, checks: checks, verdict: .fail,
            assumptions: ["activation of \(longDenseName) not stored in the file; assumed gelu",
                          "input dimension d = 3072 taken from the Keras config input shape [32, 32, 3]"])
    }

    /// The same model measured on probe inputs (`data_gmsi` beside the weights-only `gmsi`), all checks passing.
    static func withData() -> AuditReportV1 {
        var r = weightsOnly()
        var d = DataReport(probeCount: 256, probePath: "probes/mnist_256.npy", labelsPath: "probes/labels_256.npy",
                           loss: "cross_entropy", seed: 7,
                           perSample: .init(jacobianNorm: [11.1, 9.2, 4.4], jacobianEntropy: [1.2, 1.4, 1.9],
                                            tau: [0.11, 0.13, 0.2], parameterGradientNorm: [40.1, 38.2, 20.3],
                                            attributionInstability: [0.01, 0.02, 0.03]))
        let bigL = r.network.lipschitzBound!
        d.gJ = 11.1
        d.gJMean = 6.43
        d.gJP95 = 10.2
        d.gTheta = 40.1
        d.gK = 812.5
        d.ntkLambdaMin = 0.0031
        d.ntkCondition = 262_096.8
        d.gH = 2.214
        d.hessianLambdaMax = 2.214
        d.hessianLambdaMin = -0.318
        d.gaussNewtonLambdaMax = 1.987
        d.boundRatio = bigL / 11.1
        d.attributionInstabilityMean = 0.02
        d.attributionInstabilityMax = 0.03
        d.attributionEpsilon = 0.01
        r.data = d
        // Definitions spectral-audit/2: gmsi stays the weights-only bound; the data aggregate is data_gmsi.
        r.dataGmsi = 40.1
        r.dataGmsiComponents = ["g_J": 11.1, "g_theta": 40.1, "sqrt_g_K": 812.5.squareRoot(), "sqrt_g_H": 2.214.squareRoot()]
        r.dataGmsiAggregate = "max"
        r.settings.dataThreshold = 50
        r.checks = r.checks.filter(\.passed)
        r.checks.append(Check(id: "data_gmsi.threshold", layer: nil, metric: "data_gmsi", value: 40.1, limit: 50,
                              comparison: "<=", passed: true, message: "data_gmsi 40.1 ≤ 50 (measured on 256 probe inputs)"))
        r.verdict = .pass
        return r
    }

    /// σ_max spanning more than 100× (log-scale bars), a negative layer share (σ_1 < 1), a conv
    /// layer with an exact operator spectrum, and an all-zero spectrum.
    static func wideRange() -> AuditReportV1 {
        var r = weightsOnly()
        let small = spectrum(count: 16, top: 0.02, decay: 6)
        r.layers[0].singularValues = small
        r.layers[0].metrics = metrics(small, m: 16, n: 27)
        r.layers[0].layerShare = -0.63
        r.layers[0].operatorSingularValues = spectrum(count: 48, top: 0.031, decay: 14)
        r.layers[0].operatorNorm = 0.031
        r.layers[0].operatorNormMethod = "fft_exact"
        r.layers[5].singularValues = [0]
        r.layers[5].metrics = metrics([0], m: 1, n: 32)
        r.layers[5].layerShare = nil
        return r
    }

    /// Text designed to break every escaping rule.
    static let hostile = "a|b <c> & \"d\" 'e' %25 100% x:y,z\r\nnext\tline\u{1B}[31m\u{07}\u{0}]]> *bold* _it_ `code`"

    /// A report whose names and messages are all hostile, with many failed checks.
    static func hostileReport(failedChecks: Int = 3) -> AuditReportV1 {
        var r = weightsOnly()
        r.input.path = "C:\\models\\a,b:c%.h5"
        r.layers[1].name = hostile
        r.checks = (0..<failedChecks).map { i in
            Check(id: "layer.spectral_norm.max", layer: hostile, metric: "spectral_norm", value: Double(20 + i),
                  limit: 10, comparison: "<=", passed: false, message: "check \(i): " + hostile)
        }
        r.assumptions = [hostile]
        return r
    }

    /// A transformer section; `complete: false` leaves every optional unset (schema tests).
    static func transformerSection(complete: Bool) -> TransformerReportV1 {
        let qk = spectrum(count: 4, top: 0.52, decay: 3), ov = spectrum(count: 4, top: 1.1, decay: 2)
        let head = AttentionHeadV1(layer: 0, head: 1, keyValueHead: 0, qk: metrics(qk, m: 16, n: 16), ov: metrics(ov, m: 16, n: 16),
                                   qkSingularValues: complete ? qk : nil, ovSingularValues: complete ? ov : nil,
                                   bound: complete ? 35.2 : nil)
        var t = TransformerReportV1(
            family: "llama", modelType: "qwen2", config: "model/config.json", hiddenSize: 16, layers: 1, heads: 4,
            keyValueHeads: 2, headDim: 4, activation: "silu", rotary: true,
            domain: TransformerDomainV1(sequenceLength: 512, normInputScale: 1, sequenceLengthSource: "config",
                                        normInputScaleSource: "default"),
            attentionHeads: [head],
            norms: [NormReportV1(name: "layers.0.input_layernorm", kind: "rms_norm", maxAbsGamma: 1.5, betaNorm: 0,
                                 epsilon: 1e-6, outlierDimensions: complete ? [3] : [], lipschitz: 1.5)],
            blocks: [BlockBoundV1(index: 0, attentionBound: complete ? 160 : nil, mlpBound: complete ? 25 : nil,
                                  mlpBoundKind: "local", blockBound: complete ? 4300 : nil)],
            networkBound: complete ? 4300 : nil, log10NetworkBound: complete ? 3.633 : nil,
            reason: complete ? "note" : nil)
        t.data = TransformerDataV1(
            probeKind: "token_ids", probes: 2, sequenceLength: 6, attentionMask: complete ? "mask.npy" : nil,
            measuredDomain: MeasuredTransformerDomainV1(sequenceLength: 6, normInputScales: ["layers.0.input_layernorm": 0.8],
                                                        minNormInputScale: 0.8, attentionInputRowNorms: [3.9],
                                                        attentionInputCentredRowNorms: [3.9]),
            networkBound: complete ? 2100 : nil, log10NetworkBound: complete ? 3.322 : nil, jacobianNorms: [4.2, 3.1],
            jacobianResiduals: [1e-9, 2e-9], lanczosIterations: [9, 8], parameterJacobianNorms: [20.5, 18.25],
            boundHolds: complete ? true : nil, reason: complete ? "note" : nil)
        if complete {
            t.data?.jacobianSpectrumMethod = "slq"
            t.data?.jacobianEntropyErrors = [0.01, 0.02]
            t.data?.tauErrors = [0.001, 0.002]
            t.data?.jacobianEntropyQuadratureErrors = [0.004, 0.008]
            t.data?.jacobianSLQSteps = [19, 11]
        }
        // Task head and data-mode output (TransformerHeadReportV1.swift): every key is always written.
        t.head = TransformerHeadV1(architecture: "LlamaForCausalLM", kind: complete ? "causal_lm" : nil, outputs: complete ? 32000 : nil,
                                   tiedToEmbeddings: complete ? false : nil, bound: complete ? 2.5 : nil,
                                   networkBound: complete ? 10750 : nil, reason: complete ? "note" : nil)
        t.data?.output = TransformerOutputV1(
            kind: complete ? "logits" : "last_hidden_state", architecture: complete ? "LlamaForCausalLM" : nil,
            description: "last hidden state of the backbone", dimension: 12, headReason: complete ? "note" : nil,
            headBound: complete ? 2.5 : nil, positionIds: complete ? [2, 3, 4, 5, 6, 1] : nil,
            labels: complete ? TransformerLabelsV1(path: "labels.npy", loss: 3.6, scored: 9, hessianLambdaMax: 154.7,
                                                   hessianLambdaMin: -141.0, hessianErrorMax: 1e-9, hessianErrorMin: 1e-10,
                                                   hessianProducts: 20, converged: true) : nil)
        if complete {
            // Per-probe position ids and read positions (optional keys, written when set).
            t.data?.output?.probePositionIds = [[2, 3, 4, 5, 6, 1], [2, 3, 1, 1, 1, 1]]
            t.data?.output?.readPositions = [5, 1]
        }
        return t
    }
}
