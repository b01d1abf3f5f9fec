/// The audit report, version 1: the one type every output (text, JSON, JUnit, Markdown, GitHub
/// annotations, HTML, annotated HDF5) is rendered from. JSON field names are the SPEC.md names;
/// `schemas/audit-report.schema.json` is its JSON Schema and changes in the same commit.
///
/// Numbers that are not finite are never written: they are `null`, and the object that holds
/// them says why (`reason`).
public struct AuditReportV1: Codable, Sendable, Equatable {
    public var schemaVersion: String = ReportVersion.schemaVersion
    public var definitions: String = ReportVersion.definitions
    public var tool: ToolInfo = ToolInfo()
    /// ISO 8601 UTC time of the run; omitted with `--no-timestamps`.
    public var created: String?
    public var input: InputInfo
    public var settings: Settings
    public var layers: [LayerReport]
    public var network: NetworkReport
    /// The Global Matrix Stability Index (SPEC §4, §5); `null` when unavailable (`gmsi_reason`).
    public var gmsi: Double?
    /// `weights` (from weights alone) or `data` (measured on probe inputs).
    public var gmsiMode: String
    public var gmsiComponents: [String: Double?]
    public var gmsiReason: String?
    /// Data-dependent measurements (SPEC §5), present with `--probe`.
    public var data: DataReport?
    public var checks: [Check]
    public var verdict: Verdict
    /// Things the tool assumed because the file did not say (e.g. activations).
    public var assumptions: [String]
    /// Partial audits (`--shard I/N`) say which part they hold.
    public var shard: ShardInfo?
    /// Transformers whose structure came from a Hugging Face `config.json`: per-head spectra and
    /// local bounds on a stated domain.
    public var transformer: TransformerReportV1?

    // MARK: Added in schema 2.0.0 (issue 15: one meaning per gate, no silent gates)
    /// The data-mode aggregate of SPEC §5 (`--probe`), judged by `--data-threshold` (check
    /// `data_gmsi.threshold`); never replaces `gmsi`. Absent without probes; `null` when no
    /// component could be measured (`data_gmsi_reason`).
    public var dataGmsi: Double?
    /// The components that went into `data_gmsi` (`g_J`, `g_theta`, `sqrt_g_K`, `sqrt_g_H`).
    public var dataGmsiComponents: [String: Double?]?
    /// Why a component of `data_gmsi` is null, by component name.
    public var dataGmsiNullReasons: [String: String]?
    public var dataGmsiReason: String?
    /// `max` (default) or `sum` (`--gmsi-aggregate`).
    public var dataGmsiAggregate: String?
    /// Things the reader must know to trust the verdict: baselines that cannot be compared,
    /// optional policy rules that matched no layer. Omitted when empty.
    public var warnings: [String]?
    /// `--base BASE` / LoRA adapters: what changed against the base (DeltaReportV1.swift).
    public var delta: DeltaReport?

    public init(created: String? = nil, input: InputInfo, settings: Settings, layers: [LayerReport],
                network: NetworkReport, gmsi: Double?, gmsiMode: String, gmsiComponents: [String: Double?],
                gmsiReason: String?, data: DataReport? = nil, checks: [Check], verdict: Verdict,
                assumptions: [String], shard: ShardInfo? = nil) {
        self.created = created
        self.input = input
        self.settings = settings
        self.layers = layers
        self.network = network
        self.gmsi = gmsi
        self.gmsiMode = gmsiMode
        self.gmsiComponents = gmsiComponents
        self.gmsiReason = gmsiReason
        self.data = data
        self.checks = checks
        self.verdict = verdict
        self.assumptions = assumptions
        self.shard = shard
    }

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version", definitions, tool, created, input, settings, layers, network, gmsi
        case gmsiMode = "gmsi_mode", gmsiComponents = "gmsi_components", gmsiReason = "gmsi_reason"
        case data, checks, verdict, assumptions, shard
        case transformer
        case dataGmsi = "data_gmsi", dataGmsiComponents = "data_gmsi_components"
        case dataGmsiNullReasons = "data_gmsi_null_reasons", dataGmsiReason = "data_gmsi_reason"
        case dataGmsiAggregate = "data_gmsi_aggregate", warnings
        case delta
    }

    /// Failed checks, in report order.
    public var failedChecks: [Check] { checks.filter { !$0.passed } }
}

public struct ToolInfo: Codable, Sendable, Equatable {
    public var name: String = ReportVersion.toolName
    public var version: String = ReportVersion.toolVersion
    public init() {}
}

public struct InputInfo: Codable, Sendable, Equatable {
    public var path: String
    /// `npy`, `npz`, `safetensors`, `safetensors_sharded`, `hdf5`, `keras_h5`, `keras_weights_h5`, `keras_zip`.
    public var format: String
    public var sha256: String
    public var bytes: Int
    /// Where the network structure came from: `keras_config`, `manifest`, `inferred`, `hf_config`,
    /// `onnx_graph`, `gguf_tensors`, `gguf_metadata` (a Llama-family GGUF).
    public var architectureSource: String

    public init(path: String, format: String, sha256: String, bytes: Int, architectureSource: String) {
        self.path = path
        self.format = format
        self.sha256 = sha256
        self.bytes = bytes
        self.architectureSource = architectureSource
    }

    enum CodingKeys: String, CodingKey {
        case path, format, sha256, bytes, architectureSource = "architecture_source"
    }
}

/// The options that change numbers, recorded so a report explains itself.
public struct Settings: Codable, Sendable, Equatable {
    /// `gram` (default), `exact` (gesdd), `topk:K`.
    public var svd: String
    public var threshold: Double?
    public var policy: String?
    public var baseline: String?
    public var maxIncreasePercent: Double?
    /// Input size used for exact convolution spectra (`--input-shape`), if given.
    public var inputShape: [Int]?
    public var heavyTail: Bool
    public var seed: UInt64
    /// `--data-threshold` (schema 2.0.0).
    public var dataThreshold: Double?

    public init(svd: String = "gram", threshold: Double? = nil, policy: String? = nil, baseline: String? = nil,
                maxIncreasePercent: Double? = nil, inputShape: [Int]? = nil, heavyTail: Bool = false, seed: UInt64 = 0) {
        self.svd = svd
        self.threshold = threshold
        self.policy = policy
        self.baseline = baseline
        self.maxIncreasePercent = maxIncreasePercent
        self.inputShape = inputShape
        self.heavyTail = heavyTail
        self.seed = seed
    }

    enum CodingKeys: String, CodingKey {
        case svd, threshold, policy, baseline, maxIncreasePercent = "max_increase_percent"
        case inputShape = "input_shape", heavyTail = "heavy_tail", seed
        case dataThreshold = "data_threshold"
    }
}

/// One factor of the network-level product (SPEC §4).
public struct ChainFactor: Codable, Sendable, Equatable {
    /// The layer it comes from.
    public var layer: String
    /// `operator` (σ_1), `activation` (Lip φ), `pooling`, `residual` (1 + Lip F), `concatenate`,
    /// `recurrent` (an LSTM/GRU horizon bound, issue 19).
    public var kind: String
    /// The factor itself (≥ 0).
    public var value: Double

    public init(layer: String, kind: String, value: Double) {
        self.layer = layer
        self.kind = kind
        self.value = value
    }
}

/// Network-level bounds from weights alone (SPEC §4).
public struct NetworkReport: Codable, Sendable, Equatable {
    /// `L = Π σ_1(A_l) · Π Lip(φ_l)`; `null` when unavailable or beyond Float64 (then use the log).
    public var lipschitzBound: Double?
    public var log10LipschitzBound: Double?
    /// `T = L · sqrt(min_k e^{H(A_k)} / d)`.
    public var typicalBound: Double?
    /// The same with `stable_rank` in place of `e^H` (tighter).
    public var typicalBoundStableRank: Double?
    /// Input dimension `d` used in the typical bounds.
    public var inputDimension: Int?
    /// The factors in input-to-output order (for graphs: the factors along the critical path;
    /// branches are summarised by their combined factor).
    public var chain: [ChainFactor]
    /// Why the bound is unavailable, when it is.
    public var reason: String?
    /// Why `typical_bound`/`typical_bound_stable_rank`/`input_dimension` are null while the
    /// Lipschitz bound is available (schema 2.0.0).
    public var typicalBoundReason: String?
    /// Issue 16: the structure's provenance and its guesses.
    public var structure: StructureReportV1?
    /// Issue 19: the sequence length the network bound holds for, present when a recurrent
    /// layer's horizon bound is one of its factors (`--horizon`).
    public var horizon: Int?
    /// Issue 19: the horizon bound of every LSTM/GRU layer (absent when there is none).
    public var recurrent: [RecurrentBoundV1]?

    public init(lipschitzBound: Double? = nil, log10LipschitzBound: Double? = nil, typicalBound: Double? = nil,
                typicalBoundStableRank: Double? = nil, inputDimension: Int? = nil, chain: [ChainFactor] = [],
                reason: String? = nil) {
        self.lipschitzBound = lipschitzBound
        self.log10LipschitzBound = log10LipschitzBound
        self.typicalBound = typicalBound
        self.typicalBoundStableRank = typicalBoundStableRank
        self.inputDimension = inputDimension
        self.chain = chain
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case lipschitzBound = "lipschitz_bound", log10LipschitzBound = "log10_lipschitz_bound"
        case typicalBound = "typical_bound", typicalBoundStableRank = "typical_bound_stable_rank"
        case inputDimension = "input_dimension", chain, reason
        case typicalBoundReason = "typical_bound_reason"
        case structure
        case horizon, recurrent
    }
}

/// One verdict-relevant comparison.
public struct Check: Codable, Sendable, Equatable {
    /// Stable identifier, e.g. `gmsi.threshold`, `policy.layer.spectral_norm_max`, `layer.finite`,
    /// `baseline.gmsi`.
    public var id: String
    /// The layer checked, or `null` for network-level checks.
    public var layer: String?
    public var metric: String
    public var value: Double?
    public var limit: Double?
    /// `<=` (value must not exceed limit), `>=`, or `finite`.
    public var comparison: String
    public var passed: Bool
    public var message: String

    public init(id: String, layer: String?, metric: String, value: Double?, limit: Double?, comparison: String,
                passed: Bool, message: String) {
        self.id = id
        self.layer = layer
        self.metric = metric
        self.value = value
        self.limit = limit
        self.comparison = comparison
        self.passed = passed
        self.message = message
    }
}

public enum Verdict: String, Codable, Sendable, Equatable {
    case pass
    case fail
}
