import SpectralModel
import WeightFiles

/// Position ids of the RoBERTa-style members of the BERT family (`model_type` roberta,
/// xlm-roberta, camembert), as transformers computes them, per probe:
/// - token-id probes: `create_position_ids_from_input_ids` — `mask_t = [id_t ≠ padding_idx]`,
///   `pos_t = padding_idx + mask_t · Σ_{s ≤ t} mask_s` (a padding token sits at `padding_idx`,
///   the others count from `padding_idx + 1`), `padding_idx = pad_token_id` (1 when absent); probes
///   padded at different places (right padding of different lengths, inner pads) get different ids;
/// - embedding probes: `create_position_ids_from_inputs_embeds` — `padding_idx + 1 … padding_idx + n`.
/// The compiled model's position table holds each row the probes use once (`table`), and each probe
/// carries its own rows on its tape (`SampleChannels.positionRows`), so one compiled model serves
/// every probe. BERT, GPT-2 and Llama use `0 … n−1` (nil here).
enum TransformerPositions {
    static let paddingDerived: Set<String> = ["roberta", "xlm-roberta", "camembert"]

    /// Per probe, its `n` position ids; nil for `0 … n−1`.
    static func ids(config: HFModelConfig, tokenIds: [Int]?, count N: Int, length n: Int) throws -> [[Int]]? {
        guard paddingDerived.contains(config.modelType.lowercased()) else { return nil }
        let pad = config.padTokenId ?? 1
        guard let tokenIds else { return [[Int]](repeating: (0..<n).map { pad + 1 + $0 }, count: N) }
        return (0..<N).map { i in
            var count = 0
            return (0..<n).map { t -> Int in
                guard tokenIds[i * n + t] != pad else { return pad }
                count += 1
                return pad + count
            }
        }
    }

    /// The position table's rows (position ids, each once, in order of first use over probe 0,
    /// 1, …) and each probe's rows in it.
    static func table(_ ids: [[Int]]) -> (ids: [Int], rows: [[Int]]) {
        var order: [Int] = [], index: [Int: Int] = [:]
        let rows = ids.map { probe in
            probe.map { id -> Int in
                if let r = index[id] { return r }
                index[id] = order.count
                order.append(id)
                return order.count - 1
            }
        }
        return (order, rows)
    }

    /// The ids every probe shares (the report's `position_ids`), nil when they differ.
    static func common(_ ids: [[Int]]?) -> [Int]? {
        guard let first = ids?.first, ids!.allSatisfy({ $0 == first }) else { return nil }
        return first
    }

    /// The tape channels of the probes: their position rows (RoBERTa) and the tokens a
    /// last-token head reads.
    static func channels(positionIds: [[Int]]?, readPositions: [Int]?) -> SampleChannels {
        SampleChannels(positionRows: positionIds.map { table($0).rows }, readPositions: readPositions)
    }
}
