extension HFModelConfig {
    /// The hyper-parameters a GGUF file's metadata states, under the names a Hugging Face
    /// `config.json` gives them (so the transformer analysis reads both the same way).
    ///
    /// llama.cpp's keys (`gguf-py/gguf/constants.py`, `Keys.LLM` / `Keys.Attention`), with
    /// `{arch}` = `general.architecture` (`llama`, `qwen2`, `mistral`…):
    /// | config field | GGUF key | type |
    /// | --- | --- | --- |
    /// | `model_type` | `general.architecture` | string |
    /// | `hidden_size` | `{arch}.embedding_length` | integer |
    /// | `num_hidden_layers` | `{arch}.block_count` | integer |
    /// | `num_attention_heads` | `{arch}.attention.head_count` | integer |
    /// | `num_key_value_heads` | `{arch}.attention.head_count_kv` (default: head_count) | integer |
    /// | `head_dim` | `{arch}.attention.key_length` (default: width / heads) | integer |
    /// | `intermediate_size` | `{arch}.feed_forward_length` | integer |
    /// | `rms_norm_eps` | `{arch}.attention.layer_norm_rms_epsilon` (or `layer_norm_epsilon`) | float |
    /// | `max_position_embeddings` | `{arch}.context_length` | integer |
    /// | `tie_word_embeddings` | true exactly when the file has no `output.weight` | — |
    /// The activation is not stored: llama.cpp's Llama-family graphs use SiLU, so `hidden_act` is
    /// `silu` for `llama`, `mistral`, `qwen2`, and unset (the caller names it) for any other.
    /// Per-layer arrays (`head_count` as an array, OpenELM) are refused as malformed for this
    /// purpose, naming the key; a missing required key likewise. Nil when the file states no
    /// architecture (then it is not a model GGUF this can describe).
    public static func fromGGUF(metadata: [String: MetadataValue], path: String, tensorNames: Set<String>) throws -> HFModelConfig? {
        guard let arch = metadata["general.architecture"]?.stringValue, !arch.isEmpty else { return nil }
        func int(_ key: String, required: Bool) throws -> Int? {
            guard let v = metadata["\(arch).\(key)"] else {
                if required {
                    throw WeightFileError(.malformed, path: path, place: "metadata '\(arch).\(key)'",
                                          expected: "a positive integer (the \(arch) model's \(key))", found: "no such key")
                }
                return nil
            }
            guard let i = v.intValue, i > 0, i <= 1 << 30 else {
                throw WeightFileError(.malformed, path: path, place: "metadata '\(arch).\(key)'",
                                      expected: "a positive integer", found: v.summary)
            }
            return i
        }
        let d = try int("embedding_length", required: true)!
        let layers = try int("block_count", required: true)!
        let heads = try int("attention.head_count", required: true)!
        let kv = try int("attention.head_count_kv", required: false) ?? heads
        guard heads % kv == 0 else {
            throw WeightFileError(.malformed, path: path, place: "metadata '\(arch).attention.head_count_kv'",
                                  expected: "a divisor of attention.head_count (\(heads))", found: "\(kv)")
        }
        let headDim: Int
        if let explicit = try int("attention.key_length", required: false) {
            headDim = explicit
        } else {
            guard d % heads == 0 else {
                throw WeightFileError(.malformed, path: path, place: "metadata '\(arch).attention.head_count'",
                                      expected: "a divisor of embedding_length \(d)", found: "\(heads)")
            }
            headDim = d / heads
        }
        var eps: Double?
        for key in ["attention.layer_norm_rms_epsilon", "attention.layer_norm_epsilon"] {
            guard let v = metadata["\(arch).\(key)"] else { continue }
            guard let x = v.doubleValue, x.isFinite, x >= 0 else {
                throw WeightFileError(.malformed, path: path, place: "metadata '\(arch).\(key)'",
                                      expected: "a non-negative number", found: v.summary)
            }
            eps = x
            break
        }
        let llamaFamily = ["llama", "mistral", "qwen2"].contains(arch.lowercased())
        return HFModelConfig(
            path: path, modelType: arch, hiddenSize: d, numLayers: layers, numHeads: heads, numKeyValueHeads: kv,
            headDim: headDim, intermediateSize: try int("feed_forward_length", required: false), normEpsilon: eps,
            activation: llamaFamily ? "silu" : nil, maxPositions: try int("context_length", required: false),
            tieWordEmbeddings: !tensorNames.contains("output.weight"), architectures: [])
    }
}
