import WeightFiles

/// Position ids of the RoBERTa-style members of the BERT family (`model_type` roberta,
/// xlm-roberta, camembert), as transformers computes them:
/// - token-id probes: `create_position_ids_from_input_ids` — `mask_t = [id_t ≠ padding_idx]`,
///   `pos_t = padding_idx + mask_t · Σ_{s ≤ t} mask_s` (a padding token sits at `padding_idx`,
///   the others count from `padding_idx + 1`), `padding_idx = pad_token_id` (1 when absent);
/// - embedding probes: `create_position_ids_from_inputs_embeds` — `padding_idx + 1 … padding_idx + n`.
/// The compiled model adds one `[n, d]` block of position rows to every probe, so the probes must
/// share their position ids (always so for embedding probes and for token probes whose padding
/// tokens sit at the same places); otherwise the data mode is unavailable with that reason.
/// BERT, GPT-2 and Llama use `0 … n−1` (nil here).
enum TransformerPositions {
    static let paddingDerived: Set<String> = ["roberta", "xlm-roberta", "camembert"]

    static func ids(config: HFModelConfig, tokenIds: [Int]?, count N: Int, length n: Int) throws -> [Int]? {
        guard paddingDerived.contains(config.modelType.lowercased()) else { return nil }
        let pad = config.padTokenId ?? 1
        guard let tokenIds else { return (0..<n).map { pad + 1 + $0 } }
        var common: [Int]? = nil
        for i in 0..<N {
            var count = 0
            let ids = (0..<n).map { t -> Int in
                guard tokenIds[i * n + t] != pad else { return pad }
                count += 1
                return pad + count
            }
            if let c = common, c != ids {
                throw DataAuditError("\(config.modelType) position ids follow the padding tokens (id \(pad)), which sit at different places in probe 0 and probe \(i); one compiled model serves probes that share their position ids (pass probes padded alike)", kind: .unsupported)
            }
            common = ids
        }
        return common
    }
}
