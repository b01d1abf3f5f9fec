import ArgumentParser
import Audit

/// The domain of a transformer's local bounds (spectral-audit-metrics(7), "Transformers").
struct TransformerOptions: ParsableArguments {
    @Option(name: .customLong("seq-len"), help: "Transformers: the longest sequence (tokens) the local bounds must hold for (default: the config's max_position_embeddings).")
    var seqLen: Int?

    @Option(name: .customLong("norm-input-scale"), help: "Transformers: a lower bound on every LayerNorm/RMSNorm input's per-token scale (std / RMS) for the local bounds (default 1).")
    var normInputScale: Double?

    @Option(name: .customLong("attention-mask"), help: "Transformers with --probe token ids: an .npy [N, n] of 1 (keep) / 0 (padding) per token, Hugging Face's attention_mask.")
    var attentionMask: String?

    func validate() throws {
        if let n = seqLen, n < 1 { throw ValidationError("--seq-len must be a positive number of tokens, not \(n)") }
        if let s = normInputScale, !(s > 0 && s.isFinite) {
            throw ValidationError("--norm-input-scale must be a positive finite number, not \(s)")
        }
    }

    var domain: TransformerDomainOptions {
        TransformerDomainOptions(sequenceLength: seqLen, normInputScale: normInputScale)
    }
}
