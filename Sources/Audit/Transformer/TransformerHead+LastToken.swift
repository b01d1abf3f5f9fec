import WeightFiles

/// The token a GPT-2 / Llama-family sequence-classification head reads, exactly as transformers
/// finds it (`GPT2ForSequenceClassification.forward`, `GenericForSequenceClassification.forward`,
/// transformers 4.x–5.x):
/// - `pad_token_id` set and `input_ids` given: `argmax_t (t · [id_t ≠ pad])` — the rightmost
///   non-padding token, for left and right padding alike (no attention mask is consulted); a
///   sequence that is all padding, or whose only non-padding token is the first, reads position 0
///   (torch's argmax returns the first maximum);
/// - `pad_token_id` null: the last position (−1), and the class raises `ValueError("Cannot handle
///   batch sizes > 1 if no padding token is defined.")` for a batch of more than one sequence. The
///   data mode measures each probe on its own (a batch of one: the class's result), and refuses
///   `--labels` over more than one probe, where the class's loss call raises;
/// - `inputs_embeds` (embedding probes): the last position (the class warns that padding is not
///   detected).
/// Each probe reads its own token: the compiled head's `SelectTokenOp` takes each probe's position
/// from its tape (`SampleChannels.readPositions`), so probes padded differently (left and right
/// padding mixed, different lengths) share one compiled model.
extension TransformerHead {
    /// Per probe, the position the class reads.
    static func lastTokenPositions(padTokenId: Int?, tokenIds: [Int]?, count N: Int, length n: Int) -> [Int] {
        guard let pad = padTokenId, let ids = tokenIds else { return [Int](repeating: n - 1, count: N) }
        return (0..<N).map { i in
            var p = 0
            for t in 0..<n where ids[i * n + t] != pad { p = t }
            return p
        }
    }

    /// The class's refusal (see the type's doc), for `--labels` over `N` probes.
    func checkBatch(probes N: Int, labelsPath: String) throws {
        guard case .lastNonPadding(nil) = selection, N > 1 else { return }
        throw DataAuditError("\(labelsPath): \(architecture) has no pad_token_id in config.json, and transformers then refuses the loss over a batch of \(N) sequences (\"Cannot handle batch sizes > 1 if no padding token is defined.\"); set pad_token_id or use --probe-limit 1")
    }

    /// The data mode's note on the selected token.
    func selectionNote(probeKind: String) -> String? {
        guard case .lastNonPadding(let pad) = selection, let ps = selectedPositions, !ps.isEmpty else { return nil }
        let how: String
        if pad == nil {
            how = "pad_token_id is null: the class reads the last position and refuses batches of more than one sequence, so each probe is measured as a batch of one"
        } else if probeKind != "token_ids" {
            how = "embedding probes: the class called with inputs_embeds reads the last position (padding is not detected)"
        } else {
            how = "argmax over t of t·[input_ids_t ≠ \(pad!)], as transformers finds the last non-padding token"
        }
        let which = selectedPosition.map { "the token at position \($0)" }
            ?? "each probe's own token, at positions \(ps.prefix(16).map(String.init).joined(separator: ","))\(ps.count > 16 ? ",… (transformer.data.output.read_positions)" : "")"
        return "transformer data mode: \(architecture) reads \(which) (\(how))"
    }
}
