import AuditReport
import WeightFiles

/// How singular values are obtained (`--svd`).
public enum SVDChoice: Sendable, Equatable, CustomStringConvertible {
    /// Float64 Gram of the smaller side + `dsyevd` (falls back to `dgesdd` when it cannot
    /// guarantee 1e-4 relative accuracy on every σ). The default.
    case gram
    /// `dgesdd` for every operator.
    case exact
    /// The K largest singular values by Lanczos; entropy-type metrics are then unavailable.
    case topK(Int)
    /// σ_max by Lanczos (certified tolerance) and entropy-type metrics by stochastic Lanczos
    /// quadrature with stated error estimates, for large operators (see `FastSpectrum`); the
    /// Gram path where that is cheaper.
    case fast

    public var description: String {
        switch self {
        case .gram: return "gram"
        case .exact: return "exact"
        case .topK(let k): return "topk:\(k)"
        case .fast: return "fast"
        }
    }

    /// Parses `gram`, `exact`, `topk:K`, `fast`.
    public init?(argument: String) {
        switch argument {
        case "gram", "default": self = .gram
        case "exact", "gesdd": self = .exact
        case "fast": self = .fast
        default:
            guard argument.hasPrefix("topk:"), let k = Int(argument.dropFirst(5)), k >= 1 else { return nil }
            self = .topK(k)
        }
    }
}

/// `--gmsi-aggregate`: how the data-mode components `g_J, g_θ, sqrt(g_K), sqrt(g_H)` combine.
public enum GMSIAggregate: String, Sendable, CaseIterable {
    /// The largest component (SPEC §5 default).
    case max
    /// Their sum.
    case sum

    func combine(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        switch self {
        case .max: return values.max()
        case .sum: return values.reduce(0, +)
        }
    }
}

/// Everything an audit run needs besides the model file. Built by the CLI from flags.
public struct AuditConfiguration: Sendable {
    public var svd: SVDChoice = .gram
    /// Layers analysed concurrently (each with one BLAS thread).
    public var jobs: Int = 1
    public var threshold: Double?
    public var allowUnavailable = false
    public var policy: Policy?
    public var policyPath: String?
    public var baseline: AuditReportV1?
    public var baselinePath: String?
    public var maxIncreasePercent: Double?
    /// Spatial input size for exact convolution spectra (`--input-shape`, e.g. `[32, 32]`).
    public var inputShape: [Int]?
    public var heavyTail = false
    public var includeSpectra = true
    public var manifestPath: String?
    public var timestamps = true
    public var limits = ReaderLimits()
    public var seed: UInt64 = 0
    /// With probe inputs (`--probe`): the data audit of SPEC §5; gmsi then comes from it.
    public var data: DataAuditOptions?
    /// The domain of a transformer's local bounds (`--seq-len`, `--norm-input-scale`).
    public var transformerDomain = TransformerDomainOptions()
    /// Transformer data mode: `.npy` `[N, n]` attention mask for the token probes (`--attention-mask`).
    public var attentionMaskPath: String?
    /// How the data-mode components combine into gmsi (SPEC §5: `max` unless asked).
    public var gmsiAggregate: GMSIAggregate = .max
    /// `--shard I/N`: analyse only this shard's operator layers (a partial report for `merge`).
    public var shard: ShardSpec?
    /// `--require-structure declared`: fail (check `structure.declared`) when the structure was
    /// inferred from tensor names.
    public var requireStructure: StructureRequirement?
    /// Called as layers finish: (done, total, layer name). Must be thread-safe.
    public var progress: (@Sendable (Int, Int, String) -> Void)?
    /// `--data-threshold`: fails the audit when `data_gmsi` (the data-mode aggregate) exceeds it.
    public var dataThreshold: Double?
    /// `--force-input-shape`: use `inputShape` even when the model stores another input shape.
    public var forceInputShape = false
    /// `--horizon T`: the longest input sequence the LSTM/GRU horizon bounds hold for (issue 19).
    public var horizon: Int = RecurrentBounds.defaultHorizon

    public init() {}
}
