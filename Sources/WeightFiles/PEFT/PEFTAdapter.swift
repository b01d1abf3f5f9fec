import Foundation

/// A PEFT LoRA adapter folder, as `peft` (0.x, checked against 0.21.2) saves it with
/// `save_pretrained`:
///
/// - `adapter_config.json`: `peft_type` `"LORA"`, `r` (rank), `lora_alpha` (α), `use_rslora`
///   (scaling α/√r instead of α/r), `rank_pattern` / `alpha_pattern` (per-module r and α: a key
///   applies to a module whose name matches the regular expression `(.*\.)?(KEY)$`, the first
///   matching key in the object's order wins — peft's `get_pattern_key`), `fan_in_fan_out`
///   (the base weight is stored `[in, out]`, GPT-2 `Conv1D`: the update is `(B·A)ᵀ`),
///   `use_dora` (DoRA: refused, its magnitude vector rescales W and is not a low-rank delta).
/// - `adapter_model.safetensors`: for each target module `M` (its name in the base model),
///   `base_model.model.M.lora_A.weight` `[r, in]` and `base_model.model.M.lora_B.weight`
///   `[out, r]` (the adapter name `default` is removed on save). Conv LoRA stores
///   `[r, in, k…]` and `[out, r, 1…]`. Embedding LoRA (`lora_embedding_A/B`) and other keys are
///   listed in `otherTensors`.
///
/// The update of module M is `ΔW = s · B · A` with `s = α/r` (or `α/√r`), applied to the base
/// tensor `M.weight`. This type reads the format only; the audit does the algebra.
public struct PEFTAdapter: Sendable {
    public struct Module: Sendable, Equatable {
        /// The module's name in the base model (`model.layers.0.self_attn.q_proj`, `fc1`).
        public var name: String
        public var tensorA: String
        public var tensorB: String
        public var rank: Int
        public var alpha: Double
        public var scaling: Double
        /// Base weight stored `[in, out]`: the update is transposed (`fan_in_fan_out`).
        public var fanInFanOut: Bool
        /// `[out, in…]` of the update, from the factors' shapes (conv: `[out, in, k…]`).
        public var shape: [Int]
        /// The base tensor this module updates: `name + ".weight"`.
        public var baseTensor: String { name + ".weight" }
    }

    /// The folder.
    public var path: String
    public var weightsPath: String
    public var store: SafetensorsTensorStore
    public var rank: Int
    public var alpha: Double
    public var rslora: Bool
    public var modules: [Module]
    /// Tensors of the adapter file that are not LoRA factor pairs (embedding LoRA, biases,
    /// `modules_to_save` copies): listed, never applied.
    public var otherTensors: [String]

    static let prefix = "base_model.model."

    /// True when `path` is a folder holding `adapter_config.json`.
    public static func isAdapterFolder(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
            && FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("adapter_config.json"))
    }

    public init(folder: String, limits: ReaderLimits = ReaderLimits()) throws {
        path = folder
        let configPath = (folder as NSString).appendingPathComponent("adapter_config.json")
        weightsPath = (folder as NSString).appendingPathComponent("adapter_model.safetensors")
        try PathCheck.requireReadableFile(configPath)
        guard FileManager.default.fileExists(atPath: weightsPath) else {
            let bin = (folder as NSString).appendingPathComponent("adapter_model.bin")
            if FileManager.default.fileExists(atPath: bin) {
                throw WeightFileError(.unsupported, path: bin, place: "file",
                                      detail: "pickled PyTorch adapters are not read; save with safe_serialization=True")
            }
            throw WeightFileError(.missing, path: weightsPath, place: "file", detail: "the adapter folder has no adapter_model.safetensors")
        }
        guard let data = FileManager.default.contents(atPath: configPath) else {
            throw WeightFileError(.unreadable, path: configPath, place: "file", detail: "cannot read")
        }
        let config = try Self.parseConfig(data, path: configPath, limits: limits)
        store = try SafetensorsTensorStore(path: weightsPath, limits: limits)
        rank = config.rank
        alpha = config.alpha
        rslora = config.rslora
        (modules, otherTensors) = try Self.pairModules(store: store, config: config)
    }

    /// What the audit needs from `adapter_config.json`.
    public struct Config: Sendable, Equatable {
        public var rank: Int
        public var alpha: Double
        public var rslora: Bool
        public var fanInFanOut: Bool
        public var rankPattern: [(String, Int)]
        public var alphaPattern: [(String, Double)]

        public static func == (a: Config, b: Config) -> Bool {
            a.rank == b.rank && a.alpha == b.alpha && a.rslora == b.rslora && a.fanInFanOut == b.fanInFanOut
                && a.rankPattern.map(\.0) == b.rankPattern.map(\.0) && a.rankPattern.map(\.1) == b.rankPattern.map(\.1)
                && a.alphaPattern.map(\.0) == b.alphaPattern.map(\.0) && a.alphaPattern.map(\.1) == b.alphaPattern.map(\.1)
        }

        /// r and α of `module` (peft's `get_pattern_key`: `^(.*\.)?(KEY)$`, first key that matches).
        public func rankAndAlpha(_ module: String) -> (rank: Int, alpha: Double) {
            let r = rankPattern.first { Self.matches($0.0, module) }?.1 ?? rank
            let a = alphaPattern.first { Self.matches($0.0, module) }?.1 ?? alpha
            return (r, a)
        }

        static func matches(_ key: String, _ module: String) -> Bool {
            if key == module || module.hasSuffix("." + key) { return true }
            // Regular-expression keys (at most 4 quantifiers, no quantified group: parseConfig)
            // are tried on module names up to 1024 bytes; longer names match literally only.
            guard module.utf8.count <= 1024, let re = try? NSRegularExpression(pattern: "^(.*\\.)?(\(key))$") else { return false }
            return re.firstMatch(in: module, range: NSRange(module.startIndex..., in: module)) != nil
        }
    }

    /// Parses `adapter_config.json` strictly where it matters (types of the fields read).
    public static func parseConfig(_ data: Data, path: String, limits: ReaderLimits = ReaderLimits()) throws -> Config {
        let root: JSONValue
        do {
            root = try JSONValue.parse(data, maxDepth: Swift.min(limits.maxJSONDepth, 64))
        } catch {
            throw WeightFileError(.malformed, path: path, place: "JSON", detail: "\(error)")
        }
        func bad(_ key: String, _ expected: String) -> WeightFileError {
            WeightFileError(.malformed, path: path, place: "key '\(key)'", expected: expected,
                            found: root[key].map { $0.typeName } ?? "nothing")
        }
        guard root.isObject else { throw WeightFileError(.malformed, path: path, place: "top level", expected: "a JSON object", found: root.typeName) }
        if let t = root["peft_type"], !(t.string == "LORA") {
            throw WeightFileError(.unsupported, path: path, place: "key 'peft_type'", expected: "\"LORA\"",
                                  found: t.string.map { "\"\($0)\"" } ?? t.typeName)
        }
        if root["use_dora"]?.bool == true {
            throw WeightFileError(.unsupported, path: path, place: "key 'use_dora'",
                                  detail: "DoRA adapters rescale W by a magnitude vector; only plain LoRA updates s·B·A are audited")
        }
        guard let r = root["r"]?.int, r >= 1 else { throw bad("r", "a positive integer") }
        guard let alpha = root["lora_alpha"]?.number, alpha.isFinite else { throw bad("lora_alpha", "a finite number") }
        var config = Config(rank: r, alpha: alpha, rslora: false, fanInFanOut: false, rankPattern: [], alphaPattern: [])
        if let v = root["use_rslora"], !(v == .null) {
            guard let b = v.bool else { throw bad("use_rslora", "true or false") }
            config.rslora = b
        }
        if let v = root["fan_in_fan_out"], !(v == .null) {
            guard let b = v.bool else { throw bad("fan_in_fan_out", "true or false") }
            config.fanInFanOut = b
        }
        for (key, isRank) in [("rank_pattern", true), ("alpha_pattern", false)] {
            guard let v = root[key], !(v == .null) else { continue }
            guard v.isObject else { throw bad(key, "an object") }
            for k in v.keys {
                // peft matches keys as regular expressions. A quantified group (`(a+)+`) can
                // backtrack exponentially on a long module name: refused, as is an invalid one.
                let quantifiedGroup = k.range(of: #"\)[*+?{]"#, options: .regularExpression) != nil
                let quantifiers = k.filter { "*+?{".contains($0) }.count
                if quantifiedGroup || quantifiers > 4 || k.utf8.count > 1024 || (try? NSRegularExpression(pattern: "^(.*\\.)?(\(k))$")) == nil {
                    throw WeightFileError(.unsupported, path: path, place: "\(key) key '\(k.prefix(64))'",
                                          detail: "not a usable module pattern (invalid, longer than 1024 bytes, more than 4 quantifiers, or a quantified group that can backtrack exponentially)")
                }
                if isRank {
                    guard let n = v[k]?.int, n >= 1 else {
                        throw WeightFileError(.malformed, path: path, place: "\(key).\(k)", expected: "a positive integer", found: v[k]?.typeName ?? "nothing")
                    }
                    config.rankPattern.append((k, n))
                } else {
                    guard let x = v[k]?.number, x.isFinite else {
                        throw WeightFileError(.malformed, path: path, place: "\(key).\(k)", expected: "a finite number", found: v[k]?.typeName ?? "nothing")
                    }
                    config.alphaPattern.append((k, x))
                }
            }
        }
        return config
    }

    /// Pairs `…lora_A.weight` with `…lora_B.weight` and checks their shapes against the config.
    static func pairModules(store: SafetensorsTensorStore, config: Config) throws -> ([Module], [String]) {
        let byName = Dictionary(store.tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var modules: [Module] = []
        var used = Set<String>()
        for t in store.tensors where t.name.hasSuffix(".lora_A.weight") {
            let stem = String(t.name.dropLast(".lora_A.weight".count))
            let bName = stem + ".lora_B.weight"
            guard let b = byName[bName] else {
                throw WeightFileError(.malformed, path: store.path, place: "tensor '\(t.name)'", detail: "no matching '\(bName)'")
            }
            let name = stem.hasPrefix(prefix) ? String(stem.dropFirst(prefix.count)) : stem
            let (r, alpha) = config.rankAndAlpha(name)
            let a = t
            guard a.shape.count >= 2, b.shape.count >= 2, a.shape[0] == r, b.shape[1] == r,
                  b.shape.dropFirst(2).allSatisfy({ $0 == 1 }) else {
                throw WeightFileError(.malformed, path: store.path, place: "module '\(name)'",
                                      expected: "lora_A [\(r), in…] and lora_B [out, \(r), 1…] (r from adapter_config.json)",
                                      found: "lora_A \(a.shape) and lora_B \(b.shape)")
            }
            let scaling = config.rslora ? alpha / Double(r).squareRoot() : alpha / Double(r)
            modules.append(Module(name: name, tensorA: a.name, tensorB: b.name, rank: r, alpha: alpha, scaling: scaling,
                                  fanInFanOut: config.fanInFanOut, shape: [b.shape[0]] + Array(a.shape.dropFirst())))
            used.insert(a.name)
            used.insert(b.name)
        }
        let others = store.tensors.map(\.name).filter { !used.contains($0) }
        if let orphan = others.first(where: { $0.hasSuffix(".lora_B.weight") }) {
            throw WeightFileError(.malformed, path: store.path, place: "tensor '\(orphan)'", detail: "no matching lora_A")
        }
        return (modules, others)
    }
}
