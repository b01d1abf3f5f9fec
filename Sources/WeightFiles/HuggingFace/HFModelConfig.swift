import Foundation

/// A Hugging Face `config.json` (the file `save_pretrained` writes beside the weights), read as
/// data: the fields a transformer's structure needs, under the names the families use.
///
/// Layout (transformers 4.x/5.x): a JSON object with `model_type` (`"bert"`, `"roberta"`,
/// `"gpt2"`, `"llama"`, `"mistral"`, `"qwen2"`…) and hyper-parameters whose key names differ by
/// family:
/// | field | BERT/RoBERTa, Llama family | GPT-2 |
/// | --- | --- | --- |
/// | width d | `hidden_size` | `n_embd` |
/// | layers | `num_hidden_layers` | `n_layer` |
/// | heads | `num_attention_heads` | `n_head` |
/// | key/value heads | `num_key_value_heads` (Llama family; default = heads) | — |
/// | head size | `head_dim` (default d / heads) | — |
/// | MLP width | `intermediate_size` | `n_inner` (null → 4d) |
/// | norm ε | `layer_norm_eps` / `rms_norm_eps` | `layer_norm_epsilon` |
/// | activation | `hidden_act` | `activation_function` |
/// | positions | `max_position_embeddings` | `n_positions` |
/// `tie_word_embeddings` defaults to true (transformers' `PretrainedConfig` default). Every value
/// is checked (positive integers, heads dividing the width…) and a bad one is a one-line
/// `malformed` error naming the key. Nothing here knows what the numbers mean for a network.
public struct HFModelConfig: Sendable, Equatable {
    public var path: String
    public var modelType: String
    public var hiddenSize: Int
    public var numLayers: Int
    public var numHeads: Int
    public var numKeyValueHeads: Int
    public var headDim: Int
    public var intermediateSize: Int?
    public var normEpsilon: Double?
    public var activation: String?
    public var maxPositions: Int?
    public var tieWordEmbeddings: Bool
    /// The `architectures` list, e.g. `["BertForMaskedLM"]`.
    public var architectures: [String]
    /// Rotary base θ (`rope_theta`, or `rope_parameters.rope_theta` in transformers 5) and the
    /// `rope_type` (`default` when absent); nil when the config names none.
    public var ropeTheta: Double? = nil
    public var ropeType: String? = nil
    /// `pad_token_id` (RoBERTa's `padding_idx`: its position ids start after it); nil when absent.
    public var padTokenId: Int? = nil

    /// Reads `config.json` at `path` (at most `limits.maxHeaderBytes`).
    public static func load(path: String, limits: ReaderLimits = ReaderLimits()) throws -> HFModelConfig {
        try PathCheck.requireReadableFile(path)
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        if size > limits.maxHeaderBytes {
            throw WeightFileError(.limitExceeded, path: path, place: "file",
                                  expected: "a config of at most \(limits.maxHeaderBytes) bytes", found: "\(size) bytes")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw WeightFileError(.unreadable, path: path, place: "file", detail: "cannot read")
        }
        return try parse(data, path: path, limits: limits)
    }

    public static func parse(_ data: Data, path: String, limits: ReaderLimits = ReaderLimits()) throws -> HFModelConfig {
        let root: JSONValue
        do {
            root = try JSONValue.parse(data, maxDepth: min(limits.maxJSONDepth, JSONValue.absoluteMaxDepth))
        } catch {
            throw WeightFileError(.malformed, path: path, place: "JSON", detail: error.description)
        }
        guard root.isObject else {
            throw WeightFileError(.malformed, path: path, place: "top level", expected: "a JSON object", found: root.typeName)
        }
        return try build(root, path: path)
    }

    /// A `config.json` found beside the weights: nil when it is not a Hugging Face config (not a
    /// JSON object with a `model_type` key — another tool's file); otherwise as `parse`, whose
    /// errors then name the bad key.
    public static func parseIfHuggingFace(_ data: Data, path: String, limits: ReaderLimits = ReaderLimits()) throws -> HFModelConfig? {
        guard let root = try? JSONValue.parse(data, maxDepth: min(limits.maxJSONDepth, JSONValue.absoluteMaxDepth)),
              root["model_type"] != nil else { return nil }
        return try build(root, path: path)
    }

    private static func build(_ root: JSONValue, path: String) throws -> HFModelConfig {
        let reader = Reader(root: root, path: path)
        guard let type = root["model_type"]?.string, !type.isEmpty else {
            throw WeightFileError(.malformed, path: path, place: "key 'model_type'", expected: "a non-empty string",
                                  found: root["model_type"]?.typeName ?? "no such key")
        }
        let d = try reader.positive(["hidden_size", "n_embd", "d_model"])
        let layers = try reader.positive(["num_hidden_layers", "n_layer"])
        let heads = try reader.positive(["num_attention_heads", "n_head"])
        let kvHeads = try reader.optionalPositive(["num_key_value_heads"]) ?? heads
        guard heads % kvHeads == 0 else {
            throw WeightFileError(.malformed, path: path, place: "key 'num_key_value_heads'",
                                  expected: "a divisor of num_attention_heads (\(heads))", found: "\(kvHeads)")
        }
        let headDim: Int
        if let explicit = try reader.optionalPositive(["head_dim"]) {
            headDim = explicit
        } else {
            guard d % heads == 0 else {
                throw WeightFileError(.malformed, path: path, place: "key 'num_attention_heads'",
                                      expected: "a divisor of the hidden size \(d)", found: "\(heads)")
            }
            headDim = d / heads
        }
        var architectures: [String] = []
        if let list = root["architectures"]?.array {
            architectures = list.compactMap { $0.string }
        }
        var config = HFModelConfig(
            path: path, modelType: type, hiddenSize: d, numLayers: layers, numHeads: heads,
            numKeyValueHeads: kvHeads, headDim: headDim,
            intermediateSize: try reader.optionalPositive(["intermediate_size", "n_inner"]),
            normEpsilon: try reader.optionalNonNegative(["layer_norm_eps", "rms_norm_eps", "layer_norm_epsilon"]),
            activation: root["hidden_act"]?.string ?? root["activation_function"]?.string,
            maxPositions: try reader.optionalPositive(["max_position_embeddings", "n_positions"]),
            tieWordEmbeddings: root["tie_word_embeddings"]?.bool ?? true,
            architectures: architectures)
        let rope = root["rope_parameters"] ?? root["rope_scaling"]
        config.ropeTheta = root["rope_theta"]?.number ?? rope?["rope_theta"]?.number
        config.ropeType = rope?["rope_type"]?.string ?? rope?["type"]?.string
        config.padTokenId = root["pad_token_id"]?.int
        return config
    }

    /// Typed access with one-line errors naming the key.
    private struct Reader {
        let root: JSONValue
        let path: String

        func optionalPositive(_ keys: [String]) throws -> Int? {
            for key in keys {
                guard let v = root[key], v != .null else { continue }
                guard let i = v.int, i > 0 else {
                    throw WeightFileError(.malformed, path: path, place: "key '\(key)'", expected: "a positive integer",
                                          found: v.typeName)
                }
                return i
            }
            return nil
        }

        func positive(_ keys: [String]) throws -> Int {
            guard let i = try optionalPositive(keys) else {
                throw WeightFileError(.malformed, path: path, place: "key '\(keys[0])'",
                                      expected: "a positive integer (\(keys.joined(separator: " or ")))", found: "no such key")
            }
            return i
        }

        func optionalNonNegative(_ keys: [String]) throws -> Double? {
            for key in keys {
                guard let v = root[key], v != .null else { continue }
                guard let x = v.number, x.isFinite, x >= 0 else {
                    throw WeightFileError(.malformed, path: path, place: "key '\(key)'", expected: "a non-negative number",
                                          found: v.typeName)
                }
                return x
            }
            return nil
        }
    }
}
