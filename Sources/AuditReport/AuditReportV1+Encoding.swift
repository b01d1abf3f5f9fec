import Foundation

// Explicit encoders where the synthesized ones would drop keys: a number that is unavailable or
// not finite is written as `null` (with the owning object's `reason`), never omitted, so every
// report has the same keys.

extension AuditReportV1 {
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(schemaVersion, forKey: .schemaVersion)
        try c.encode(definitions, forKey: .definitions)
        try c.encode(tool, forKey: .tool)
        try c.encodeIfPresent(created, forKey: .created)
        try c.encode(input, forKey: .input)
        try c.encode(settings, forKey: .settings)
        try c.encode(layers, forKey: .layers)
        try c.encode(network, forKey: .network)
        try c.encode(gmsi.finiteOrNil, forKey: .gmsi)
        try c.encode(gmsiMode, forKey: .gmsiMode)
        try c.encode(gmsiComponents.mapValues { $0?.finiteOrNil }, forKey: .gmsiComponents)
        try c.encode(gmsiReason, forKey: .gmsiReason)
        try c.encodeIfPresent(data, forKey: .data)
        try c.encode(checks, forKey: .checks)
        try c.encode(verdict, forKey: .verdict)
        try c.encode(assumptions, forKey: .assumptions)
        try c.encodeIfPresent(shard, forKey: .shard)
        try c.encodeIfPresent(transformer, forKey: .transformer)
        // Schema 2.0.0 additions: present only when they say something.
        if data != nil || dataGmsiComponents != nil {
            try c.encode(dataGmsi.finiteOrNil, forKey: .dataGmsi)
            try c.encode(dataGmsiReason, forKey: .dataGmsiReason)
            try c.encodeIfPresent(dataGmsiComponents?.mapValues { $0?.finiteOrNil }, forKey: .dataGmsiComponents)
            try c.encodeIfPresent(dataGmsiNullReasons, forKey: .dataGmsiNullReasons)
            try c.encodeIfPresent(dataGmsiAggregate, forKey: .dataGmsiAggregate)
        }
        if let w = warnings, !w.isEmpty { try c.encode(w, forKey: .warnings) }
        try c.encodeIfPresent(delta, forKey: .delta)
    }
}

extension SpectrumMetricsV1 {
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(tol.finiteOrNil, forKey: .tol)
        try c.encode(rank, forKey: .rank)
        try c.encode(spectralNorm.finiteOrNil, forKey: .spectralNorm)
        try c.encode(sigmaMin.finiteOrNil, forKey: .sigmaMin)
        try c.encode(condition.finiteOrNil, forKey: .condition)
        try c.encode(frobenius.finiteOrNil, forKey: .frobenius)
        try c.encode(nuclear.finiteOrNil, forKey: .nuclear)
        try c.encode(stableRank.finiteOrNil, forKey: .stableRank)
        try c.encode(spectralEntropy.finiteOrNil, forKey: .spectralEntropy)
        try c.encode(normalizedEntropy.finiteOrNil, forKey: .normalizedEntropy)
        try c.encode(effectiveRank.finiteOrNil, forKey: .effectiveRank)
        try c.encode(erankRV.finiteOrNil, forKey: .erankRV)
        try c.encode(typicalGain.finiteOrNil, forKey: .typicalGain)
        try c.encode(entropyBound.finiteOrNil, forKey: .entropyBound)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(tol: try c.decodeIfPresent(Double.self, forKey: .tol) ?? .nan,
                  rank: try c.decodeIfPresent(Int.self, forKey: .rank),
                  spectralNorm: try c.decodeIfPresent(Double.self, forKey: .spectralNorm) ?? .nan,
                  sigmaMin: try c.decodeIfPresent(Double.self, forKey: .sigmaMin),
                  condition: try c.decodeIfPresent(Double.self, forKey: .condition),
                  frobenius: try c.decodeIfPresent(Double.self, forKey: .frobenius),
                  nuclear: try c.decodeIfPresent(Double.self, forKey: .nuclear),
                  stableRank: try c.decodeIfPresent(Double.self, forKey: .stableRank),
                  spectralEntropy: try c.decodeIfPresent(Double.self, forKey: .spectralEntropy),
                  normalizedEntropy: try c.decodeIfPresent(Double.self, forKey: .normalizedEntropy),
                  effectiveRank: try c.decodeIfPresent(Double.self, forKey: .effectiveRank),
                  erankRV: try c.decodeIfPresent(Double.self, forKey: .erankRV),
                  typicalGain: try c.decodeIfPresent(Double.self, forKey: .typicalGain),
                  entropyBound: try c.decodeIfPresent(Double.self, forKey: .entropyBound))
    }
}

extension NetworkReport {
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(lipschitzBound.finiteOrNil, forKey: .lipschitzBound)
        try c.encode(log10LipschitzBound.finiteOrNil, forKey: .log10LipschitzBound)
        try c.encode(typicalBound.finiteOrNil, forKey: .typicalBound)
        try c.encode(typicalBoundStableRank.finiteOrNil, forKey: .typicalBoundStableRank)
        try c.encode(inputDimension, forKey: .inputDimension)
        try c.encode(chain, forKey: .chain)
        try c.encode(reason, forKey: .reason)
        try c.encodeIfPresent(typicalBoundReason, forKey: .typicalBoundReason)
        try c.encodeIfPresent(structure, forKey: .structure)
        try c.encodeIfPresent(horizon, forKey: .horizon)
        try c.encodeIfPresent(recurrent, forKey: .recurrent)
    }
}

extension Check {
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(layer, forKey: .layer)
        try c.encode(metric, forKey: .metric)
        try c.encode(value.finiteOrNil, forKey: .value)
        try c.encode(limit.finiteOrNil, forKey: .limit)
        try c.encode(comparison, forKey: .comparison)
        try c.encode(passed, forKey: .passed)
        try c.encode(message, forKey: .message)
    }

    enum CodingKeys: String, CodingKey {
        case id, layer, metric, value, limit, comparison, passed, message
    }
}

extension Optional where Wrapped == Double {
    /// `nil` for nil, NaN and ±Inf.
    var finiteOrNil: Double? {
        guard let v = self, v.isFinite else { return nil }
        return v
    }
}

extension Double {
    var finiteOrNil: Double? { isFinite ? self : nil }
}

extension AuditReportV1 {
    /// Canonical JSON: sorted keys, pretty-printed, `/` unescaped. Byte-identical for identical
    /// reports (with `--no-timestamps`, `created` is absent).
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(0x0A)
        return data
    }

    /// Reads a report written by `jsonData()` (for `--baseline` and `merge`).
    public static func decode(_ data: Data) throws -> AuditReportV1 {
        try JSONDecoder().decode(AuditReportV1.self, from: data)
    }
}

extension LayerReport {
    /// Unset keys are omitted (as the schema says for layer objects); a non-finite number is
    /// treated as unset, so `jsonData()` never fails on one. Spectra never contain non-finite
    /// values (non-finite weights stop before any decomposition).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(kind, forKey: .kind)
        try c.encode(tensors, forKey: .tensors)
        try c.encode(status, forKey: .status)
        try c.encodeIfPresent(reason, forKey: .reason)
        try c.encodeIfPresent(shape, forKey: .shape)
        try c.encodeIfPresent(orientation, forKey: .orientation)
        try c.encodeIfPresent(method, forKey: .method)
        try c.encodeIfPresent(methodTolerance.finiteOrNil, forKey: .methodTolerance)
        try c.encodeIfPresent(metrics, forKey: .metrics)
        try c.encodeIfPresent(heavyTail, forKey: .heavyTail)
        try c.encodeIfPresent(operatorNorm.finiteOrNil, forKey: .operatorNorm)
        try c.encodeIfPresent(operatorNormMethod, forKey: .operatorNormMethod)
        try c.encodeIfPresent(groups, forKey: .groups)
        try c.encodeIfPresent(foldedBatchNorm, forKey: .foldedBatchNorm)
        try c.encodeIfPresent(activation, forKey: .activation)
        try c.encodeIfPresent(activationLipschitz.finiteOrNil, forKey: .activationLipschitz)
        try c.encodeIfPresent(layerShare.finiteOrNil, forKey: .layerShare)
        try c.encodeIfPresent(singularValues.map { $0.filter(\.isFinite) }, forKey: .singularValues)
        try c.encodeIfPresent(operatorSingularValues.map { $0.filter(\.isFinite) }, forKey: .operatorSingularValues)
        try c.encodeIfPresent(estimateErrors.map { $0.filter { $0.value.isFinite } }, forKey: .estimateErrors)
        try c.encodeIfPresent(nullReasons.flatMap { $0.isEmpty ? nil : $0 }, forKey: .nullReasons)
        try c.encodeIfPresent(folded, forKey: .folded)
        try c.encodeIfPresent(guessed, forKey: .guessed)
        try c.encodeIfPresent(gate, forKey: .gate)
    }
}

extension ShardBoundInput {
    /// Unset or non-finite numbers are omitted.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(node, forKey: .node)
        try c.encode(layer, forKey: .layer)
        try c.encodeIfPresent(sigma.finiteOrNil, forKey: .sigma)
        try c.encodeIfPresent(effectiveRank.finiteOrNil, forKey: .effectiveRank)
        try c.encodeIfPresent(stableRank.finiteOrNil, forKey: .stableRank)
        try c.encodeIfPresent(extraLipschitz.finiteOrNil, forKey: .extraLipschitz)
        try c.encodeIfPresent(broken, forKey: .broken)
    }
}

extension HeavyTailV1 {
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(wwAlpha.finiteOrNil, forKey: .wwAlpha)
        try c.encodeIfPresent(wwAlphaWeighted.finiteOrNil, forKey: .wwAlphaWeighted)
        try c.encodeIfPresent(wwXmin.finiteOrNil, forKey: .wwXmin)
        try c.encodeIfPresent(wwKSDistance.finiteOrNil, forKey: .wwKSDistance)
        try c.encodeIfPresent(mpBulkEdge.finiteOrNil, forKey: .mpBulkEdge)
        try c.encodeIfPresent(mpSpikes, forKey: .mpSpikes)
    }
}

extension ChainFactor {
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(layer, forKey: .layer)
        try c.encode(kind, forKey: .kind)
        // A factor is finite by construction; an overflow is written as the largest double.
        try c.encode(value.isFinite ? value : Double.greatestFiniteMagnitude, forKey: .value)
    }

    enum CodingKeys: String, CodingKey {
        case layer, kind, value
    }
}
