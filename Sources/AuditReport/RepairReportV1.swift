import Foundation

/// The report of `spectral-audit repair` (schema `schemas/repair-report.schema.json`,
/// `schema: "spectral-audit-repair/1"`). Keys are snake_case; optional values are omitted when
/// absent.
public struct RepairReportV1: Codable, Sendable, Equatable {
    public static let schemaName = "spectral-audit-repair/1"

    public var schema = RepairReportV1.schemaName
    public var tool = ToolInfo()
    public var input: String
    public var inputFormat: String
    public var output: String?
    public var targetGmsi: Double?
    public var maxSigma: Double?
    public var layerMaxSigma: [String: Double]?
    /// The weights-only GMSI (Lipschitz product bound, SPEC §4) before and after, as the audit
    /// computes it, the latter on the repaired weights as rounded to their stored dtype.
    public var gmsiBefore: Double
    public var gmsiAfter: Double
    /// The GMSI of OUT's own audit (the written file re-read from disk).
    public var outputAuditGmsi: Double?
    /// True when every requested limit holds on the repaired weights (and on OUT's audit).
    public var met: Bool
    /// Allocation rounds (1 unless rounding or a non-chain graph needed tightening).
    public var rounds: Int
    /// `Σ_l ‖W_l' − W_l‖_F²` over the operators of the product (folded where BatchNorm folds).
    public var totalCost: Double
    /// The allocation's multiplier μ (KKT: `c·Σ(σ_i − c)_+ = μ` for every clipped layer).
    public var multiplier: Double
    public var layers: [Layer]
    public var probe: Probe?
    public var notes: [String]

    public struct ToolInfo: Codable, Sendable, Equatable {
        public var name = ReportVersion.toolName
        public var version = ReportVersion.toolVersion
        public init() {}
    }

    public struct Layer: Codable, Sendable, Equatable {
        public var layer: String
        public var kind: String
        public var tensor: String
        public var foldedBatchNorm: String?
        /// The layer's factor in the bound before and after (σ_max, or the conv operator norm).
        public var sigmaBefore: Double
        public var sigmaAfter: Double
        /// The level the allocation gave the factor (nil: untouched).
        public var clipLevel: Double?
        /// `‖W' − W‖_F / ‖W‖_F` of the stored kernel (after rounding to its dtype).
        public var relativeChange: Double
        /// The same for the operator of the product (folded).
        public var operatorRelativeChange: Double
        /// `unchanged`, `svd_clip` (dense), `reshaped_svd_clip_bisection` or `scaling` (conv).
        public var method: String
        /// How the conv factor was certified (`fft_exact`, `fft_padded_bound`, `upper_bound`).
        public var operatorNormMethod: String?

        public init(layer: String, kind: String, tensor: String, foldedBatchNorm: String?, sigmaBefore: Double,
                    sigmaAfter: Double, clipLevel: Double?, relativeChange: Double, operatorRelativeChange: Double,
                    method: String, operatorNormMethod: String?) {
            self.layer = layer
            self.kind = kind
            self.tensor = tensor
            self.foldedBatchNorm = foldedBatchNorm
            self.sigmaBefore = sigmaBefore
            self.sigmaAfter = sigmaAfter
            self.clipLevel = clipLevel
            self.relativeChange = relativeChange
            self.operatorRelativeChange = operatorRelativeChange
            self.method = method
            self.operatorNormMethod = operatorNormMethod
        }
    }

    /// What the repair cost and bought on probe inputs (`--probe`, `--labels`).
    public struct Probe: Codable, Sendable, Equatable {
        public var path: String
        public var labelsPath: String?
        public var count: Int
        /// Per probe `‖f'(x) − f(x)‖₂ / ‖f(x)‖₂` of the logits: max and mean.
        public var outputChangeMax: Double
        public var outputChangeMean: Double
        /// Share of probes whose argmax is unchanged.
        public var top1Agreement: Double
        public var accuracyBefore: Double?
        public var accuracyAfter: Double?
        /// Mean `AI(x; ε)` (SPEC §5) before and after.
        public var attributionInstabilityBefore: Double
        public var attributionInstabilityAfter: Double
        public var attributionEpsilon: Double
        public var attributionSamples: Int
        public var seed: UInt64

        public init(path: String, labelsPath: String?, count: Int, outputChangeMax: Double, outputChangeMean: Double,
                    top1Agreement: Double, accuracyBefore: Double?, accuracyAfter: Double?,
                    attributionInstabilityBefore: Double, attributionInstabilityAfter: Double,
                    attributionEpsilon: Double, attributionSamples: Int, seed: UInt64) {
            self.path = path
            self.labelsPath = labelsPath
            self.count = count
            self.outputChangeMax = outputChangeMax
            self.outputChangeMean = outputChangeMean
            self.top1Agreement = top1Agreement
            self.accuracyBefore = accuracyBefore
            self.accuracyAfter = accuracyAfter
            self.attributionInstabilityBefore = attributionInstabilityBefore
            self.attributionInstabilityAfter = attributionInstabilityAfter
            self.attributionEpsilon = attributionEpsilon
            self.attributionSamples = attributionSamples
            self.seed = seed
        }
    }

    public init(input: String, inputFormat: String, targetGmsi: Double?, maxSigma: Double?, layerMaxSigma: [String: Double]?,
                gmsiBefore: Double, gmsiAfter: Double, met: Bool, rounds: Int, totalCost: Double, multiplier: Double,
                layers: [Layer], notes: [String]) {
        self.input = input
        self.inputFormat = inputFormat
        self.targetGmsi = targetGmsi
        self.maxSigma = maxSigma
        self.layerMaxSigma = layerMaxSigma
        self.gmsiBefore = gmsiBefore
        self.gmsiAfter = gmsiAfter
        self.met = met
        self.rounds = rounds
        self.totalCost = totalCost
        self.multiplier = multiplier
        self.layers = layers
        self.notes = notes
    }

    public func jsonData() throws -> Data {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var d = try e.encode(self)
        d.append(0x0A)
        return d
    }

    public static func decode(_ data: Data) throws -> RepairReportV1 {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return try d.decode(RepairReportV1.self, from: data)
    }
}
