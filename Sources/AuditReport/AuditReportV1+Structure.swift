/// Report types of issue 16 ("structure you can trust"), kept apart from the core contract so
/// their additions merge cleanly: the folded view of an operator, and the network structure's
/// provenance with everything that was guessed rather than read.

/// An operator with a BatchNorm folded into it (`diag(s)·A`, SPEC §1, §7): its own spectrum and
/// metrics, the ones the network bound uses. The layer's own `metrics` describe the tensor as
/// stored.
public struct FoldedViewV1: Codable, Sendable, Equatable {
    /// The BatchNorm layer folded in.
    public var batchNorm: String
    /// `[out, in]` of the folded operator (for conv: the reshaped matrix).
    public var shape: [Int]?
    public var method: String?
    public var methodTolerance: Double?
    public var metrics: SpectrumMetricsV1?
    /// Conv layers: the folded convolution's operator norm and how it was obtained.
    public var operatorNorm: Double?
    public var operatorNormMethod: String?
    public var singularValues: [Double]?
    public var operatorSingularValues: [Double]?
    /// Why a metric in `metrics` is null, by field name (as a layer's `null_reasons`).
    public var nullReasons: [String: String]?

    public init(batchNorm: String) {
        self.batchNorm = batchNorm
    }

    enum CodingKeys: String, CodingKey {
        case batchNorm = "batch_norm", shape, method, methodTolerance = "method_tolerance", metrics
        case operatorNorm = "operator_norm", operatorNormMethod = "operator_norm_method"
        case singularValues = "singular_values", operatorSingularValues = "operator_singular_values"
        case nullReasons = "null_reasons"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(batchNorm, forKey: .batchNorm)
        try c.encodeIfPresent(shape, forKey: .shape)
        try c.encodeIfPresent(method, forKey: .method)
        try c.encodeIfPresent(methodTolerance.flatMap { $0.isFinite ? $0 : nil }, forKey: .methodTolerance)
        try c.encodeIfPresent(metrics, forKey: .metrics)
        try c.encodeIfPresent(operatorNorm.flatMap { $0.isFinite ? $0 : nil }, forKey: .operatorNorm)
        try c.encodeIfPresent(operatorNormMethod, forKey: .operatorNormMethod)
        try c.encodeIfPresent(singularValues.map { $0.filter(\.isFinite) }, forKey: .singularValues)
        try c.encodeIfPresent(operatorSingularValues.map { $0.filter(\.isFinite) }, forKey: .operatorSingularValues)
        try c.encodeIfPresent(nullReasons.flatMap { $0.isEmpty ? nil : $0 }, forKey: .nullReasons)
    }
}

/// One thing the structure builder guessed rather than read.
public struct StructureGuessV1: Codable, Sendable, Equatable {
    /// `pairing` (a BatchNorm's operator), `order`, `activation`, `flatten`, `epsilon`,
    /// `placement` (a PReLU's position).
    public var kind: String
    /// The layer it concerns; absent for network-wide guesses (the order).
    public var layer: String?
    public var detail: String

    public init(kind: String, layer: String?, detail: String) {
        self.kind = kind
        self.layer = layer
        self.detail = detail
    }
}

/// Where the network structure came from and how much of it was guessed.
public struct StructureReportV1: Codable, Sendable, Equatable {
    /// `keras_config`, `manifest`, `inferred` (as `input.architecture_source`).
    public var source: String
    /// True when the file or a manifest stated the structure; false when it was inferred from
    /// tensor names (`--require-structure declared` fails the audit then).
    public var declared: Bool
    public var guesses: [StructureGuessV1]
    /// Why the layers do not form a structure the tool can bound (ambiguous or broken), if so.
    public var issue: String?

    public init(source: String, declared: Bool, guesses: [StructureGuessV1], issue: String? = nil) {
        self.source = source
        self.declared = declared
        self.guesses = guesses
        self.issue = issue
    }
}
