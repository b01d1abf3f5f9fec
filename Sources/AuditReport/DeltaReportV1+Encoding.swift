import Foundation

// The delta section's JSON: unset or non-finite numbers are omitted (like layer objects); the
// SPEC §2 metrics of ΔW are written under `delta_`-prefixed names (SPEC §7).

struct DeltaKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension DeltaEntry {
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encodeIfPresent(baseName, forKey: .baseName)
        try c.encodeIfPresent(layer, forKey: .layer)
        try c.encode(matchedBy, forKey: .matchedBy)
        try c.encode(kind, forKey: .kind)
        try c.encode(shape, forKey: .shape)
        try c.encodeIfPresent(dtype, forKey: .dtype)
        try c.encodeIfPresent(baseDtype, forKey: .baseDtype)
        try c.encodeIfPresent(orientation, forKey: .orientation)
        try c.encodeIfPresent(method, forKey: .method)
        if let m = metrics {
            var n = c.nestedContainer(keyedBy: DeltaKey.self, forKey: .metrics)
            for name in SpectrumMetricsV1.names {
                let key = DeltaKey("delta_" + name)
                if name == "rank" { try n.encode(m.rank, forKey: key) } else { try n.encode(m.value(named: name).finiteOrNil, forKey: key) }
            }
        }
        try c.encodeIfPresent(relativeSpectralNorm.finiteOrNil, forKey: .relativeSpectralNorm)
        try c.encodeIfPresent(relativeFrobenius.finiteOrNil, forKey: .relativeFrobenius)
        try c.encodeIfPresent(spectralNormChange.finiteOrNil, forKey: .spectralNormChange)
        try c.encodeIfPresent(relativeSpectralNormChange.finiteOrNil, forKey: .relativeSpectralNormChange)
        try c.encodeIfPresent(entropyChange.finiteOrNil, forKey: .entropyChange)
        try c.encodeIfPresent(topK, forKey: .topK)
        try c.encodeIfPresent(topSubspaceShare.finiteOrNil, forKey: .topSubspaceShare)
        try c.encodeIfPresent(isotropicShare.finiteOrNil, forKey: .isotropicShare)
        try c.encodeIfPresent(boundFactorBase.finiteOrNil, forKey: .boundFactorBase)
        try c.encodeIfPresent(boundFactorModel.finiteOrNil, forKey: .boundFactorModel)
        try c.encodeIfPresent(boundFactorRatio.finiteOrNil, forKey: .boundFactorRatio)
        try c.encodeIfPresent(lora, forKey: .lora)
        try c.encodeIfPresent(singularValues.map { $0.filter(\.isFinite) }, forKey: .singularValues)
        try c.encodeIfPresent(reason, forKey: .reason)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(name: try c.decode(String.self, forKey: .name), matchedBy: try c.decode(String.self, forKey: .matchedBy),
                  kind: try c.decode(String.self, forKey: .kind), shape: try c.decode([Int].self, forKey: .shape))
        baseName = try c.decodeIfPresent(String.self, forKey: .baseName)
        layer = try c.decodeIfPresent(String.self, forKey: .layer)
        dtype = try c.decodeIfPresent(String.self, forKey: .dtype)
        baseDtype = try c.decodeIfPresent(String.self, forKey: .baseDtype)
        orientation = try c.decodeIfPresent(String.self, forKey: .orientation)
        method = try c.decodeIfPresent(String.self, forKey: .method)
        if c.contains(.metrics) {
            let n = try c.nestedContainer(keyedBy: DeltaKey.self, forKey: .metrics)
            func d(_ name: String) throws -> Double? { try n.decodeIfPresent(Double.self, forKey: DeltaKey("delta_" + name)) }
            metrics = SpectrumMetricsV1(
                tol: try d("tol") ?? .nan, rank: try n.decodeIfPresent(Int.self, forKey: DeltaKey("delta_rank")),
                spectralNorm: try d("spectral_norm") ?? .nan, sigmaMin: try d("sigma_min"), condition: try d("condition"),
                frobenius: try d("frobenius"), nuclear: try d("nuclear"), stableRank: try d("stable_rank"),
                spectralEntropy: try d("spectral_entropy"), normalizedEntropy: try d("normalized_entropy"),
                effectiveRank: try d("effective_rank"), erankRV: try d("erank_rv"), typicalGain: try d("typical_gain"),
                entropyBound: try d("entropy_bound"))
        }
        relativeSpectralNorm = try c.decodeIfPresent(Double.self, forKey: .relativeSpectralNorm)
        relativeFrobenius = try c.decodeIfPresent(Double.self, forKey: .relativeFrobenius)
        spectralNormChange = try c.decodeIfPresent(Double.self, forKey: .spectralNormChange)
        relativeSpectralNormChange = try c.decodeIfPresent(Double.self, forKey: .relativeSpectralNormChange)
        entropyChange = try c.decodeIfPresent(Double.self, forKey: .entropyChange)
        topK = try c.decodeIfPresent(Int.self, forKey: .topK)
        topSubspaceShare = try c.decodeIfPresent(Double.self, forKey: .topSubspaceShare)
        isotropicShare = try c.decodeIfPresent(Double.self, forKey: .isotropicShare)
        boundFactorBase = try c.decodeIfPresent(Double.self, forKey: .boundFactorBase)
        boundFactorModel = try c.decodeIfPresent(Double.self, forKey: .boundFactorModel)
        boundFactorRatio = try c.decodeIfPresent(Double.self, forKey: .boundFactorRatio)
        lora = try c.decodeIfPresent(LoRAInfo.self, forKey: .lora)
        singularValues = try c.decodeIfPresent([Double].self, forKey: .singularValues)
        reason = try c.decodeIfPresent(String.self, forKey: .reason)
    }
}

extension DeltaNetwork {
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(lipschitzBoundBase.finiteOrNil, forKey: .lipschitzBoundBase)
        try c.encodeIfPresent(lipschitzBoundModel.finiteOrNil, forKey: .lipschitzBoundModel)
        try c.encodeIfPresent(log10LipschitzBoundBase.finiteOrNil, forKey: .log10LipschitzBoundBase)
        try c.encodeIfPresent(log10LipschitzBoundModel.finiteOrNil, forKey: .log10LipschitzBoundModel)
        try c.encodeIfPresent(deltaLog10LipschitzBound.finiteOrNil, forKey: .deltaLog10LipschitzBound)
        try c.encodeIfPresent(lipschitzBoundRatio.finiteOrNil, forKey: .lipschitzBoundRatio)
        try c.encodeIfPresent(typicalBoundBase.finiteOrNil, forKey: .typicalBoundBase)
        try c.encodeIfPresent(typicalBoundModel.finiteOrNil, forKey: .typicalBoundModel)
        try c.encodeIfPresent(reason, forKey: .reason)
    }
}

extension QuantizationDamage {
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(rank, forKey: .rank)
        try c.encode(name, forKey: .name)
        try c.encode(dtype, forKey: .dtype)
        try c.encode(baseDtype, forKey: .baseDtype)
        try c.encodeIfPresent(relativeSpectralNorm.finiteOrNil, forKey: .relativeSpectralNorm)
        try c.encodeIfPresent(relativeFrobenius.finiteOrNil, forKey: .relativeFrobenius)
        try c.encodeIfPresent(boundFactorRatio.finiteOrNil, forKey: .boundFactorRatio)
    }
}

extension LoRAInfo {
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(rank, forKey: .rank)
        try c.encode(alpha.isFinite ? alpha : 0, forKey: .alpha)
        try c.encode(scaling.isFinite ? scaling : 0, forKey: .scaling)
        try c.encode(rslora, forKey: .rslora)
        try c.encode(tensorA, forKey: .tensorA)
        try c.encode(tensorB, forKey: .tensorB)
    }
}
