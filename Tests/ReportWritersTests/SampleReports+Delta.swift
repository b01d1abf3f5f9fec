import AuditReport

extension SampleReports {
    /// The hostile report with a delta section whose names carry markup and control characters:
    /// a fine-tuned matrix, a vector, a LoRA module, unmatched and mismatched tensors, the network
    /// change and a quantization ranking.
    static func withDelta() -> AuditReportV1 {
        var r = hostileReport()
        var m = DeltaEntry(name: hostile, matchedBy: "name", kind: "matrix", shape: [64, 256])
        m.baseName = hostile
        m.dtype = "f16"
        m.baseDtype = "f32"
        m.metrics = metrics(spectrum(count: 64, top: 0.4, decay: 3), m: 64, n: 256)
        m.relativeSpectralNorm = 0.031
        m.relativeFrobenius = 0.02
        m.spectralNormChange = 0.12
        m.entropyChange = -0.05
        m.topK = 3
        m.topSubspaceShare = 0.42
        m.isotropicShare = 9.0 / (64 * 256)
        m.boundFactorRatio = 1.009
        var v = DeltaEntry(name: "bias<b>", matchedBy: "keras_layer_variable", kind: "vector", shape: [64])
        v.relativeSpectralNorm = 0.5
        var l = DeltaEntry(name: "fc1.weight", matchedBy: "lora_module", kind: "lora", shape: [16, 12])
        l.lora = LoRAInfo(rank: 4, alpha: 8, scaling: 2, rslora: true, tensorA: "a", tensorB: "b")
        l.reason = "non-finite values in the LoRA factors"
        var n = DeltaNetwork()
        n.lipschitzBoundBase = 100
        n.lipschitzBoundModel = 120
        n.deltaLog10LipschitzBound = 0.0792
        n.lipschitzBoundRatio = 1.2
        r.delta = DeltaReport(mode: "weights", model: DeltaInput(path: "ft<&>.safetensors", format: "safetensors"),
                              base: DeltaInput(path: "base\u{1B}[31m.h5", format: "keras_h5"), matching: "name",
                              topKRule: "k = min(q, ceil(stable_rank(W_base)))", entries: [v, m, l],
                              unmatchedModel: ["only<model>"], unmatchedBase: ["only\u{07}base"],
                              mismatched: [DeltaMismatch(name: "x", baseName: "y", shape: [2], baseShape: [3], reason: "shapes")],
                              network: n,
                              quantization: [QuantizationDamage(rank: 1, name: hostile, dtype: "f16", baseDtype: "f32",
                                                                relativeSpectralNorm: 0.031, relativeFrobenius: 0.02,
                                                                boundFactorRatio: 1.009)])
        return r
    }
}
