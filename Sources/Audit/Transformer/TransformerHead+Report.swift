import AuditReport
import Foundation
import WeightFiles

/// The weights-only report's `transformer.head`: the task head the config names, its Lipschitz
/// constant on the section's domain (its LayerNorm on the domain's norm-input scale) and the bound
/// input embeddings → logits = backbone bound × head constant, which becomes the report's network
/// bound and weights-only gmsi (the function a deployed classifier / LM computes).
extension TransformerHead {
    /// `knownSpectralNorms`: the rows' exact σ_max (`TransformerAudit.exactSpectralNorms`), so an
    /// LM head's `lm_head` (TinyLlama: 32000 × 2048, 524 MB as Float64) is not loaded again.
    static func section(store: any TensorStore, config: HFModelConfig, backbone: TransformerReportV1,
                        knownSpectralNorms: [String: Double] = [:]) -> (TransformerHeadV1, Set<String>)? {
        let names = Set(store.tensors.map(\.name))
        guard case .success(let layout) = TransformerLayout.resolve(config, names: names) else { return nil }
        switch resolve(config, layout: layout, names: names) {
        case .none:
            return nil
        case .unsupported(let reason):
            return (TransformerHeadV1(architecture: config.architectures.first ?? "", kind: nil, outputs: nil, tiedToEmbeddings: nil,
                                      bound: nil, networkBound: nil, reason: reason), [])
        case .head(let head):
            var out = TransformerHeadV1(architecture: head.architecture, kind: head.kind.rawValue, outputs: nil,
                                        tiedToEmbeddings: head.outputTiedToEmbeddings, bound: nil, networkBound: nil, reason: nil)
            do {
                out.outputs = try store.info(head.output.weight).shape.first
                let h = try head.lipschitz(store: store, config: config, scale: backbone.domain.normInputScale,
                                           knownSpectralNorms: knownSpectralNorms)
                out.bound = h
                if let b = backbone.networkBound, (b * h).isFinite {
                    out.networkBound = b * h
                } else {
                    out.reason = backbone.reason ?? "the bound exceeds Float64"
                }
            } catch {
                out.reason = "\(error)"
            }
            return (out, head.tensorNames)
        }
    }
}
