import AuditReport
import Foundation
import LinearAlgebra
import WeightFiles

/// `--seq-len` / `--norm-input-scale`: the domain of a transformer's local bounds, when the user
/// states it (otherwise the config's `max_position_embeddings` and a scale of 1).
public struct TransformerDomainOptions: Sendable, Equatable {
    public var sequenceLength: Int?
    public var normInputScale: Double?
    public init(sequenceLength: Int? = nil, normInputScale: Double? = nil) {
        self.sequenceLength = sequenceLength
        self.normInputScale = normInputScale
    }

    /// The documented default for the norm-input scale (spectral-audit-metrics(7), "Transformers").
    public static let defaultNormInputScale = 1.0
}

/// Reads the structure of a Hugging Face model folder (a `config.json` beside the weights) and
/// turns `TransformerAnalyzer`'s results into the report's `transformer` section.
enum TransformerAudit {
    /// What a `config.json` beside the weights says: nothing (absent, or not a Hugging Face config,
    /// i.e. no `model_type`), a family this tool reads, or another model type (named in a note).
    enum Found {
        case none
        case supported(HFModelConfig)
        case unsupported(HFModelConfig)
        /// A GGUF file whose `general.architecture` is not a Llama-family one with llama.cpp names.
        case unsupportedGGUF(architecture: String)
    }

    static func configBeside(_ weightsPath: String, limits: ReaderLimits) throws -> Found {
        let folder = (weightsPath as NSString).deletingLastPathComponent
        let path = folder.isEmpty ? "config.json" : folder + "/config.json"
        guard FileManager.default.fileExists(atPath: path) else { return .none }
        // A file claiming to be a Hugging Face config (it has `model_type`): a bad value is the user's to fix.
        guard let data = FileManager.default.contents(atPath: path),
              let config = try HFModelConfig.parseIfHuggingFace(data, path: path, limits: limits) else { return .none }
        return TransformerFamily(modelType: config.modelType) == nil ? .unsupported(config) : .supported(config)
    }

    /// σ_max of every single-matrix row whose spectrum was computed exactly (Gram + dsyevd or
    /// dgesdd, complete): the transformer analysis reuses them instead of a second Gram of each MLP
    /// matrix. Estimated rows (`--svd fast`'s Lanczos, top-k) are left out: a bound needs the
    /// exact value, so those matrices are computed again.
    static func exactSpectralNorms(_ layers: [LayerReport]) -> [String: Double] {
        var known: [String: Double] = [:]
        let exact: Set<String> = [SpectrumMethod.gramSyevd.rawValue, SpectrumMethod.gesdd.rawValue]
        for row in layers where row.status == .analyzed {
            guard let m = row.metrics, let method = row.method, exact.contains(method), m.spectralNorm.isFinite,
                  let first = row.tensors.first, row.tensors.count <= 2,
                  row.tensors.dropFirst().allSatisfy({ $0.hasSuffix("bias") }) else { continue }
            known[first] = m.spectralNorm
        }
        return known
    }

    /// What a GGUF file's metadata says (`HFModelConfig.fromGGUF`): nothing without
    /// `general.architecture`; a supported family only when the file also uses llama.cpp's
    /// Llama-family tensor names (`GGUFNames`); otherwise the architecture is named in a note.
    static func configFromGGUF(_ metadata: [String: MetadataValue], store: any TensorStore) throws -> Found {
        guard let arch = metadata[GGUFFormat.architectureKey]?.stringValue, !arch.isEmpty else { return .none }
        let names = Set(store.tensors.map(\.name))
        guard TransformerFamily(modelType: arch) == .llama, names.contains(GGUFNames.probe) else {
            return .unsupportedGGUF(architecture: arch)
        }
        guard let config = try HFModelConfig.fromGGUF(metadata: metadata, path: store.path, tensorNames: names) else { return .none }
        return .supported(config)
    }

    static func section(store: any TensorStore, config: HFModelConfig, options: TransformerDomainOptions,
                        includeSpectra: Bool, knownSpectralNorms: [String: Double] = [:]) -> (TransformerReportV1, TransformerAnalysis?) {
        let n = options.sequenceLength ?? config.maxPositions
        let scale = options.normInputScale ?? TransformerDomainOptions.defaultNormInputScale
        let domainReport = TransformerDomainV1(
            sequenceLength: n ?? 0, normInputScale: scale,
            sequenceLengthSource: options.sequenceLength != nil ? "flag" : (n != nil ? "config" : "none"),
            normInputScaleSource: options.normInputScale != nil ? "flag" : "default")
        let family = TransformerFamily(modelType: config.modelType)?.rawValue ?? config.modelType
        var section = TransformerReportV1(
            family: family, modelType: config.modelType, config: config.path, hiddenSize: config.hiddenSize,
            layers: config.numLayers, heads: config.numHeads, keyValueHeads: config.numKeyValueHeads, headDim: config.headDim,
            activation: config.activation ?? "", rotary: family == TransformerFamily.llama.rawValue, domain: domainReport,
            attentionHeads: [], norms: [], blocks: [], networkBound: nil, log10NetworkBound: nil, reason: nil)
        guard let n else {
            section.reason = "the config gives no max_position_embeddings: pass --seq-len N to state the sequence length the bounds hold for"
            return (section, nil)
        }
        let analysis: TransformerAnalysis
        do {
            analysis = try TransformerAnalyzer.analyze(store: store, config: config,
                                                       domain: TransformerDomain(sequenceLength: n, normInputScale: scale),
                                                       knownSpectralNorms: knownSpectralNorms)
        } catch {
            section.reason = "\(config.path): \(error)"
            return (section, nil)
        }
        section.activation = analysis.activation
        section.attentionHeads = analysis.headSpectra.map { h in
            AttentionHeadV1(layer: h.layer, head: h.head, keyValueHead: h.keyValueHead, qk: h.qkMetrics, ov: h.ovMetrics,
                            qkSingularValues: includeSpectra ? Array(h.qk.prefix(analysis.headDim)) : nil,
                            ovSingularValues: includeSpectra ? Array(h.ov.prefix(analysis.headDim)) : nil,
                            bound: h.bound)
        }
        section.norms = analysis.norms.map {
            NormReportV1(name: $0.name, kind: $0.isRMS ? "rms_norm" : "layer_norm", maxAbsGamma: $0.maxAbsGamma,
                         betaNorm: $0.betaNorm, epsilon: $0.epsilon, outlierDimensions: $0.outlierDimensions,
                         lipschitz: $0.lipschitz)
        }
        section.blocks = analysis.blocks.map {
            BlockBoundV1(index: $0.index, attentionBound: $0.attention, mlpBound: $0.mlp,
                         mlpBoundKind: $0.mlpIsLocal ? "local" : "global", blockBound: $0.block)
        }
        section.networkBound = analysis.networkBound
        section.log10NetworkBound = analysis.log10NetworkBound
        section.reason = analysis.networkBoundReason
        return (section, analysis)
    }
}

extension TransformerAudit {
    /// Adds the transformer section to a report whose structure a `config.json` beside the weights
    /// gives: the network bound and the weights-only gmsi become the local bound on the domain
    /// (stated in an assumption line and beside the number in every output), and the rows of the
    /// tensors the section covers say where their analysis is.
    static func apply(to report: inout AuditReportV1, store: any TensorStore, configuration: AuditConfiguration) throws {
        guard configuration.manifestPath == nil, store.architectureJSON == nil else { return }
        let gguf = store.format == .gguf || store.format == .ggufSplit
        let found: Found
        if gguf {
            guard let meta = store as? any ModelMetadataProviding else { return }
            do {
                found = try configFromGGUF(meta.metadata, store: store)
            } catch {
                report.assumptions.append("GGUF metadata does not describe a transformer spectral-audit can build: \(error); only per-tensor spectra are certain")
                return
            }
        } else {
            found = try configBeside(store.path, limits: configuration.limits)
        }
        switch found {
        case .none:
            return
        case .unsupportedGGUF(let arch):
            report.assumptions.append("\(store.path): GGUF general.architecture '\(arch)' is not a transformer spectral-audit builds from GGUF (llama, mistral, qwen2 with llama.cpp tensor names); only per-tensor spectra are certain")
        case .unsupported(let config):
            report.assumptions.append("\(config.path): model_type '\(config.modelType)' is not a transformer family spectral-audit reads (\(TransformerFamily.supportedModelTypes)); the structure is inferred from tensor names and only per-tensor spectra are certain")
        case .supported(let config):
            let known = exactSpectralNorms(report.layers)
            let (section, analysis) = self.section(store: store, config: config, options: configuration.transformerDomain,
                                                   includeSpectra: configuration.includeSpectra, knownSpectralNorms: known)
            report.transformer = section
            report.input.architectureSource = gguf ? "gguf_metadata" : "hf_config"
            let domain = section.domain.summary
            report.network = NetworkReport(lipschitzBound: section.networkBound, log10LipschitzBound: section.log10NetworkBound,
                                           reason: section.reason.map { "transformer bound unavailable: \($0)" })
            report.gmsi = section.networkBound
            report.gmsiComponents = ["transformer_local_bound": section.networkBound]
            report.gmsiReason = section.networkBound == nil
                ? (section.reason ?? "the transformer bound is unavailable")
                : nil
            report.assumptions.removeAll { $0.hasPrefix("structure inferred") || $0.hasPrefix("layer order") }
            if gguf {
                report.assumptions.append("structure from the GGUF metadata of \(config.path) (general.architecture '\(config.modelType)', \(section.family) family; llama.cpp tensor names; per-head QK spectra are invariant under llama.cpp's rotary row permutation of Q and K)")
            } else {
                report.assumptions.append("structure from \(config.path) (model_type '\(config.modelType)', \(section.family) family)")
            }
            report.assumptions.append("transformer bounds are local, on the domain \(domain) (sequence length from \(section.domain.sequenceLengthSource), scale from \(section.domain.normInputScaleSource); --seq-len, --norm-input-scale); no global bound exists for dot-product attention")
            // The task head (TransformerHead+Report): its constant enters the network bound.
            var covered = analysis?.tensorNames ?? []
            if let (head, names) = TransformerHead.section(store: store, config: config, backbone: section, knownSpectralNorms: known) {
                report.transformer?.head = head
                covered.formUnion(names)
                if let b = head.networkBound {
                    report.network = NetworkReport(lipschitzBound: b, log10LipschitzBound: Foundation.log10(b), reason: nil)
                    report.gmsi = b
                    report.gmsiComponents = ["transformer_local_bound": b]
                    report.assumptions.append("the network bound is to the logits of \(head.architecture): transformer.network_bound × transformer.head.bound (\(head.bound ?? .nan)) on the same domain")
                } else if let r = head.reason {
                    report.assumptions.append("task head \(head.architecture) not in the bound: \(r)")
                }
            }
            guard analysis != nil else { return }
            for i in report.layers.indices where report.layers[i].tensors.allSatisfy(covered.contains) {
                if report.layers[i].status == .unsupported {
                    report.layers[i].status = .skipped
                    report.layers[i].reason = "normalisation of the transformer: gain statistics and local Lipschitz constant in the transformer section"
                }
            }
        }
    }
}
