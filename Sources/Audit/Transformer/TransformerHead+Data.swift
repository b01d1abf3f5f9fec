import AuditReport
import Foundation
import SpectralModel
import WeightFiles

/// The data mode's use of a task head (`TransformerHead`) and of RoBERTa position ids
/// (`TransformerPositions`): compile the backbone with the head on top, compose the head's
/// Lipschitz constant with the backbone's bound on the measured domain, and describe the output.
extension TransformerDataAudit {
    /// The compiled model (backbone, then the head when the config names one this tool reproduces),
    /// the head, and why a named head is not used.
    static func compile(layout: TransformerLayout, config: HFModelConfig, store: any TensorStore, sequenceLength n: Int,
                        cache: TransformerTensorCache, positionIds: [[Int]]?, tokenIds: [Int]? = nil,
                        count: Int = 1) throws -> (TransformerGraph, TransformerHead?, String?) {
        let backbone = try TransformerGraph.build(layout: layout, config: config, sequenceLength: n, mask: nil, cache: cache,
                                                  positionIds: positionIds)
        switch TransformerHead.resolve(config, layout: layout, names: Set(store.tensors.map(\.name))) {
        case .none:
            return (backbone, nil, nil)
        case .unsupported(let reason):
            return (backbone, nil, reason)
        case .head(var head):
            if case .lastNonPadding(let pad) = head.selection {
                head.selectedPositions = TransformerHead.lastTokenPositions(padTokenId: pad, tokenIds: tokenIds, count: count, length: n)
            }
            return (try head.attach(to: backbone, config: config, sequenceLength: n, cache: cache, position: head.selectedPositions?.first ?? 0),
                    head, nil)
        }
    }

    static func outputDimension(_ tg: TransformerGraph) -> Int {
        let last = tg.graph.nodes[tg.graph.outputs[0]]
        return Int(last.attributes["shape"] ?? "") ?? 0
    }

    /// Backbone bound × head constant (the head's LayerNorm on its measured input scale).
    static func composeHeadBound(_ head: TransformerHead, store: any TensorStore, config: HFModelConfig, normScales: [String: Double],
                                 bound: Double?, log10Bound: Double?, reason: String?)
        -> (bound: Double?, log10: Double?, head: Double?, reason: String?) {
        let scale = head.norm.flatMap { normScales[$0.name] } ?? normScales.values.min() ?? .nan
        do {
            let h = try head.lipschitz(store: store, config: config, scale: scale)
            let log10 = log10Bound.map { $0 + Foundation.log10(h) }
            let b = bound.map { $0 * h }
            return (b.flatMap { $0.isFinite ? $0 : nil }, log10, h,
                    reason ?? (b.map { $0.isFinite } == false ? "the bound exceeds Float64; see log10_network_bound" : nil))
        } catch {
            return (nil, nil, nil, "head \(head.architecture): \(error)")
        }
    }

    static func outputSection(head: TransformerHead?, headReason: String?, dimension: Int, headBound: Double?, positionIds: [[Int]]?,
                              labelsPath: String?, loss: TransformerLoss.Result?) -> TransformerOutputV1 {
        var labels: TransformerLabelsV1? = nil
        if let path = labelsPath, let l = loss {
            labels = TransformerLabelsV1(path: path, loss: l.loss, scored: l.scored, hessianLambdaMax: l.lambdaMax, hessianLambdaMin: l.lambdaMin,
                                hessianErrorMax: l.errorMax, hessianErrorMin: l.errorMin, hessianProducts: l.iterations,
                                         converged: l.converged)
        }
        var section = TransformerOutputV1(kind: head == nil ? "last_hidden_state" : "logits", architecture: head?.architecture,
                                   description: head?.outputDescription ?? "last hidden state of the backbone",
                                   dimension: dimension, headReason: headReason, headBound: headBound,
                                   positionIds: TransformerPositions.common(positionIds), labels: labels)
        // Per probe: its position ids (RoBERTa family) and the token a last-token head reads.
        section.probePositionIds = positionIds
        section.readPositions = head?.selectedPositions
        return section
    }

    static func headNotes(head: TransformerHead?, headReason: String?, positionIds: [[Int]]?, loss: TransformerLoss.Result?,
                          probeKind: String = "token_ids") -> [String] {
        var notes: [String] = []
        if let note = head?.selectionNote(probeKind: probeKind) { notes.append(note) }
        if let head {
            notes.append("transformer data mode: output = \(head.outputDescription); the Jacobians, NTK and bound are of these logits (bound = backbone bound × head constant\(head.kind == .maskedLM ? " with the head's LayerNorm on its measured input scale" : ""))")
        } else if let headReason {
            notes.append("transformer data mode: the config's head is not used (\(headReason)); output = the last hidden state")
        }
        if positionIds != nil {
            notes.append("transformer data mode: position ids as transformers' create_position_ids_from_input_ids (padding_idx + cumulative count of non-padding tokens; padding tokens at padding_idx), or padding_idx+1… for embedding probes; each probe adds the position rows of its own ids (one compiled model, the rows on each probe's tape; transformer.data.output.probe_position_ids)")
        }
        if let loss {
            notes.append("transformer data mode: loss = cross-entropy as the model computes it with labels= (mean over \(loss.scored) scored targets, -100 ignored\(head?.kind == .causalLM ? ", labels shifted by one as ForCausalLMLoss does" : "")) = \(loss.loss); Hessian extremes w.r.t. θ by \(loss.method) on exact Hessian–vector products (R-operator, second-order reverse pass), error estimates \(loss.errorMax) (λ_max), \(loss.errorMin) (λ_min)\(loss.converged ? "" : "; \(loss.notConverged): λ_max is a lower and λ_min an upper bound")")
        }
        return notes
    }
}
