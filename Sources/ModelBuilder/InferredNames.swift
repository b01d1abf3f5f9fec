import SpectralModel
/// Name rules of the structure inference (issue 16), all on whole path components — never on
/// substrings, so `value_head`, `keypoint_head` and `embedder` are ordinary layers.
///
/// A path component is a piece of a tensor or layer name between `.` and `/`
/// (`encoder.layer.0.attention.self.query` → `encoder`, `layer`, `0`, `attention`, `self`,
/// `query`); a word is a piece of a component between `_` (`input_layernorm` → `input`,
/// `layernorm`).
enum InferredNames {
    /// `a.b/c` → `["a", "b", "c"]`.
    static func components(_ name: String) -> [Substring] {
        name.split(whereSeparator: { $0 == "." || $0 == "/" })
    }

    /// The tool's own annotation group (`spectral_audit/…` in an annotated copy): never a weight.
    static func isAnnotation(_ name: String) -> Bool {
        components(name).first == "spectral_audit"
    }

    /// Components that, as a whole, mark a layer outside the chain model.
    static let markerComponents: Set<String> = ["query", "key", "value", "q_proj", "k_proj", "v_proj", "o_proj",
                                                "out_proj", "qkv", "c_attn", "wte", "wpe", "ln"]
    /// Words (component pieces between `_`, trailing digits ignored) that mark one.
    static let markerWords: Set<String> = ["attn", "attention", "layernorm", "norm", "lstm", "gru", "rnn", "rotary",
                                           "embed", "embeddings", "mha", "transformer"]

    /// The first component of `layer` that marks a layer the chain model does not cover
    /// (attention, normalisation other than BatchNorm, recurrent cells, embeddings), or nil.
    static func marker(in layer: String) -> String? {
        for c in components(layer) {
            let lower = c.lowercased()
            if markerComponents.contains(lower) { return lower }
            for w in lower.split(separator: "_") {
                let stem = String(w.reversed().drop { $0.isNumber }.reversed())
                if markerWords.contains(stem) { return lower }
                // `ln_1`, `ln_f` (GPT-2): a component that starts with the word `ln`.
                if stem == "ln", lower.hasPrefix("ln_") || lower == "ln" { return lower }
            }
        }
        return nil
    }

    /// Suffixes that name the operator a BatchNorm follows: `conv1_BN` → `conv1`.
    static let batchNormSuffixes = ["_batchnorm", ".batchnorm", "_batch_norm", ".batch_norm", "/batchnorm", "_bn", ".bn",
                                    "/bn"]

    /// The operator a BatchNorm's layer name names, by suffix (case-insensitive), or nil.
    static func batchNormBase(_ layer: String) -> String? {
        let lower = layer.lowercased()
        for s in batchNormSuffixes where lower.hasSuffix(s) && lower.count > s.count {
            return String(layer.dropLast(s.count))
        }
        return nil
    }

    /// `bn3`, `batchnorm3`, `norm3`, `block.bn3` → (parent `block`, 3); nil for other names.
    static func numberedBatchNorm(_ layer: String) -> (parent: String, number: Int)? {
        let comps = components(layer)
        guard let last = comps.last else { return nil }
        let lower = last.lowercased()
        for prefix in ["batchnorm", "batch_norm", "bn", "norm"] where lower.hasPrefix(prefix) {
            let rest = lower.dropFirst(prefix.count).drop { $0 == "_" }
            if !rest.isEmpty, rest.allSatisfy(\.isNumber), let n = Int(rest) {
                return (parent(layer), n)
            }
        }
        return nil
    }

    /// `prelu`, `prelu2`, `block.prelu_1`, `act_prelu`: a component with the word `prelu`.
    static func isPReLUName(_ layer: String) -> Bool {
        guard let last = components(layer).last?.lowercased() else { return false }
        return last.split(separator: "_").contains { w in w.reversed().drop { $0.isNumber }.reversed() == Array("prelu") }
    }

    /// The trailing number of the last component (`conv12` → 12, `layers.3` → 3), or nil.
    static func trailingNumber(_ layer: String) -> Int? {
        guard let last = components(layer).last else { return nil }
        let digits = String(last.reversed().prefix { $0.isNumber }.reversed())
        return digits.isEmpty ? nil : Int(digits)
    }

    /// Everything before the last component (`a.b.c` → `a.b`; `c` → ``).
    static func parent(_ layer: String) -> String {
        guard let cut = layer.lastIndex(where: { $0 == "." || $0 == "/" }) else { return "" }
        return String(layer[..<cut])
    }

}
