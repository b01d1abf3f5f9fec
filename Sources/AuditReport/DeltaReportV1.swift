/// The `delta` section of a report (`--base BASE`, LoRA adapters, quantization damage; SPEC §7
/// "Deltas"): what changed between MODEL and BASE, tensor by tensor. Present only in delta audits;
/// the rest of the report describes MODEL (or, for a LoRA adapter with `--base`, the merged model).
public struct DeltaReport: Codable, Sendable, Equatable {
    /// `weights` (MODEL − BASE), `lora` (an adapter alone: ΔW = s·B·A), `lora_merged` (an adapter
    /// applied to BASE: the report's layers are BASE with W + s·B·A).
    public var mode: String
    /// The file or adapter folder the changes come from, and its format (`peft_lora` for an adapter).
    public var model: DeltaInput
    /// The reference; nil for an adapter audited alone.
    public var base: DeltaInput?
    /// How tensors were paired (`name`, then `keras_layer_variable`); see spectral-audit-metrics(7).
    public var matching: String
    /// The rule choosing k for `delta_top_subspace_share`.
    public var topKRule: String
    /// One entry per matched tensor (LoRA: per target module), in MODEL's tensor order.
    public var entries: [DeltaEntry]
    /// MODEL tensors with no partner in BASE, and BASE tensors with no partner in MODEL.
    public var unmatchedModel: [String]
    public var unmatchedBase: [String]
    /// Pairs found by name or layer/variable whose shapes differ (never compared).
    public var mismatched: [DeltaMismatch]
    /// The network-level change (SPEC §4 bounds of MODEL and BASE); nil for an adapter alone.
    public var network: DeltaNetwork?
    /// Present when some matched MODEL tensor is stored in a lower precision than its BASE
    /// partner: those tensors ranked by `delta_relative_spectral_norm`, largest first.
    public var quantization: [QuantizationDamage]?

    public init(mode: String, model: DeltaInput, base: DeltaInput?, matching: String, topKRule: String,
                entries: [DeltaEntry], unmatchedModel: [String], unmatchedBase: [String], mismatched: [DeltaMismatch],
                network: DeltaNetwork?, quantization: [QuantizationDamage]?) {
        self.mode = mode
        self.model = model
        self.base = base
        self.matching = matching
        self.topKRule = topKRule
        self.entries = entries
        self.unmatchedModel = unmatchedModel
        self.unmatchedBase = unmatchedBase
        self.mismatched = mismatched
        self.network = network
        self.quantization = quantization
    }

    enum CodingKeys: String, CodingKey {
        case mode, model, base, matching, topKRule = "top_k_rule", entries
        case unmatchedModel = "unmatched_model", unmatchedBase = "unmatched_base", mismatched, network, quantization
    }

    /// The metric names a policy rule may use on delta entries (`delta_` + SPEC §2 names, then
    /// the comparisons with BASE).
    public static let metricNames = SpectrumMetricsV1.names.map { "delta_" + $0 } + [
        "delta_relative_spectral_norm", "delta_relative_frobenius", "delta_spectral_norm_change",
        "delta_relative_spectral_norm_change", "delta_entropy_change", "delta_top_subspace_share",
        "delta_bound_factor_ratio",
    ]
    /// Network-level delta metrics a policy may limit (`delta.network` in a policy file).
    public static let networkMetricNames = ["delta_log10_lipschitz_bound", "lipschitz_bound_ratio"]
}

public struct DeltaInput: Codable, Sendable, Equatable {
    public var path: String
    public var format: String
    /// SHA-256 of the file (of `adapter_model.safetensors` for an adapter).
    public var sha256: String?

    public init(path: String, format: String, sha256: String? = nil) {
        self.path = path
        self.format = format
        self.sha256 = sha256
    }
}

/// A matched tensor pair (or a LoRA target module) and what its change is.
public struct DeltaEntry: Codable, Sendable, Equatable {
    /// The MODEL tensor (LoRA: the BASE tensor the module updates, `<module>.weight`).
    public var name: String
    /// Its BASE partner (nil for an adapter alone).
    public var baseName: String?
    /// The layer the tensor belongs to, as the file says.
    public var layer: String?
    /// `name`, `keras_layer_variable` or `lora_module`.
    public var matchedBy: String
    /// `matrix` (spectral metrics of ΔW), `vector` (norms only: biases, BatchNorm vectors),
    /// `lora` (ΔW = s·B·A from its thin factors).
    public var kind: String
    /// The operator's `[out, in]` (matrix, lora) or the tensor's shape (vector).
    public var shape: [Int]
    public var dtype: String?
    public var baseDtype: String?
    /// How the stored array became `[out, in]` (`out_in`, `in_out→transpose`, `conv_hwio→reshape`, …).
    public var orientation: String?
    /// How the singular values of ΔW were obtained (`gesdd`, `lora_thin_qr_gesdd`).
    public var method: String?
    /// SPEC §2 metrics of ΔW, written with `delta_` prefixed names.
    public var metrics: SpectrumMetricsV1?
    /// `‖ΔW‖₂ / ‖W_base‖₂` (vectors: the Euclidean norms).
    public var relativeSpectralNorm: Double?
    /// `‖ΔW‖_F / ‖W_base‖_F`.
    public var relativeFrobenius: Double?
    /// `σ_max(W) − σ_max(W_base)`, and that over `σ_max(W_base)`.
    public var spectralNormChange: Double?
    public var relativeSpectralNormChange: Double?
    /// `H(W) − H(W_base)` (nats).
    public var entropyChange: Double?
    /// k and `‖U_kᵀ ΔW V_k‖_F² / ‖ΔW‖_F²` (U_k, V_k: W_base's top-k singular vectors), and the
    /// value an isotropic ΔW would have in expectation, `k² / (m n)`.
    public var topK: Int?
    public var topSubspaceShare: Double?
    public var isotropicShare: Double?
    /// The layer's factor in the network product (σ_max, or the conv operator norm) in BASE and
    /// MODEL, and MODEL/BASE: the bound changes by this factor through this layer alone.
    public var boundFactorBase: Double?
    public var boundFactorModel: Double?
    public var boundFactorRatio: Double?
    /// LoRA: rank, α, scaling s (α/r, or α/√r with rsLoRA).
    public var lora: LoRAInfo?
    /// Singular values of ΔW, descending (omitted with `--omit-spectra`; LoRA: the r values).
    public var singularValues: [Double]?
    /// Why some numbers are missing (non-finite weights, an unsupported layout).
    public var reason: String?

    public init(name: String, matchedBy: String, kind: String, shape: [Int]) {
        self.name = name
        self.matchedBy = matchedBy
        self.kind = kind
        self.shape = shape
    }

    enum CodingKeys: String, CodingKey {
        case name, baseName = "base_name", layer, matchedBy = "matched_by", kind, shape, dtype, baseDtype = "base_dtype"
        case orientation, method, metrics
        case relativeSpectralNorm = "delta_relative_spectral_norm", relativeFrobenius = "delta_relative_frobenius"
        case spectralNormChange = "delta_spectral_norm_change"
        case relativeSpectralNormChange = "delta_relative_spectral_norm_change"
        case entropyChange = "delta_entropy_change", topK = "top_k", topSubspaceShare = "delta_top_subspace_share"
        case isotropicShare = "isotropic_share", boundFactorBase = "bound_factor_base"
        case boundFactorModel = "bound_factor_model", boundFactorRatio = "delta_bound_factor_ratio"
        case lora, singularValues = "singular_values", reason
    }

    /// The delta metric named `name` (one of `DeltaReport.metricNames`), for policies.
    public func value(named name: String) -> Double? {
        switch name {
        case "delta_relative_spectral_norm": return relativeSpectralNorm
        case "delta_relative_frobenius": return relativeFrobenius
        case "delta_spectral_norm_change": return spectralNormChange
        case "delta_relative_spectral_norm_change": return relativeSpectralNormChange
        case "delta_entropy_change": return entropyChange
        case "delta_top_subspace_share": return topSubspaceShare
        case "delta_bound_factor_ratio": return boundFactorRatio
        default:
            guard name.hasPrefix("delta_") else { return nil }
            return metrics?.value(named: String(name.dropFirst(6)))
        }
    }
}

public struct LoRAInfo: Codable, Sendable, Equatable {
    public var rank: Int
    public var alpha: Double
    public var scaling: Double
    public var rslora: Bool
    /// The adapter's `lora_A` and `lora_B` tensor names.
    public var tensorA: String
    public var tensorB: String

    public init(rank: Int, alpha: Double, scaling: Double, rslora: Bool, tensorA: String, tensorB: String) {
        self.rank = rank
        self.alpha = alpha
        self.scaling = scaling
        self.rslora = rslora
        self.tensorA = tensorA
        self.tensorB = tensorB
    }

    enum CodingKeys: String, CodingKey {
        case rank, alpha, scaling, rslora, tensorA = "tensor_a", tensorB = "tensor_b"
    }
}

public struct DeltaMismatch: Codable, Sendable, Equatable {
    public var name: String
    public var baseName: String
    public var shape: [Int]
    public var baseShape: [Int]
    public var reason: String

    public init(name: String, baseName: String, shape: [Int], baseShape: [Int], reason: String) {
        self.name = name
        self.baseName = baseName
        self.shape = shape
        self.baseShape = baseShape
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case name, baseName = "base_name", shape, baseShape = "base_shape", reason
    }
}

/// SPEC §4 bounds of BASE and MODEL side by side.
public struct DeltaNetwork: Codable, Sendable, Equatable {
    public var lipschitzBoundBase: Double?
    public var lipschitzBoundModel: Double?
    public var log10LipschitzBoundBase: Double?
    public var log10LipschitzBoundModel: Double?
    /// `log10 L_model − log10 L_base`, and `L_model / L_base`.
    public var deltaLog10LipschitzBound: Double?
    public var lipschitzBoundRatio: Double?
    public var typicalBoundBase: Double?
    public var typicalBoundModel: Double?
    public var reason: String?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case lipschitzBoundBase = "lipschitz_bound_base", lipschitzBoundModel = "lipschitz_bound_model"
        case log10LipschitzBoundBase = "log10_lipschitz_bound_base", log10LipschitzBoundModel = "log10_lipschitz_bound_model"
        case deltaLog10LipschitzBound = "delta_log10_lipschitz_bound", lipschitzBoundRatio = "lipschitz_bound_ratio"
        case typicalBoundBase = "typical_bound_base", typicalBoundModel = "typical_bound_model", reason
    }

    public func value(named name: String) -> Double? {
        switch name {
        case "delta_log10_lipschitz_bound": return deltaLog10LipschitzBound
        case "lipschitz_bound_ratio": return lipschitzBoundRatio
        default: return nil
        }
    }
}

/// One lower-precision tensor's damage: `‖W − deq(Q(W))‖₂ / ‖W‖₂` with W the BASE tensor.
public struct QuantizationDamage: Codable, Sendable, Equatable {
    /// 1 = most damaged.
    public var rank: Int
    public var name: String
    public var dtype: String
    public var baseDtype: String
    public var relativeSpectralNorm: Double?
    public var relativeFrobenius: Double?
    public var boundFactorRatio: Double?

    public init(rank: Int, name: String, dtype: String, baseDtype: String, relativeSpectralNorm: Double?,
                relativeFrobenius: Double?, boundFactorRatio: Double?) {
        self.rank = rank
        self.name = name
        self.dtype = dtype
        self.baseDtype = baseDtype
        self.relativeSpectralNorm = relativeSpectralNorm
        self.relativeFrobenius = relativeFrobenius
        self.boundFactorRatio = boundFactorRatio
    }

    enum CodingKeys: String, CodingKey {
        case rank, name, dtype, baseDtype = "base_dtype"
        case relativeSpectralNorm = "delta_relative_spectral_norm", relativeFrobenius = "delta_relative_frobenius"
        case boundFactorRatio = "delta_bound_factor_ratio"
    }
}
