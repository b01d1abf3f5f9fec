/// Names the tensors of an unpickled checkpoint (documented in spectral-audit-formats(5),
/// "PyTorch checkpoints"):
/// - a dict (state dict, OrderedDict, or a training checkpoint nesting one) gives each tensor
///   its dotted path of keys: `{"state_dict": {"fc.weight": t}, "epoch": 3}` → `state_dict.fc.weight`;
///   list and tuple items are named by index (`history.0`); int keys by their decimal digits;
///   TorchScript objects by their attribute names (`conv1.weight`), constants as `constants.c<i>`;
///   a file holding one bare tensor names it `tensor`. Values that are not tensors (`epoch`) are
///   not listed.
/// - Tied tensors — the same storage viewed with the same offset, shape, strides and dtype — are
///   listed once, under the first name in pickle order; the other names are its `aliases`.
///   Different views of one storage (a weight and its transpose) are separate tensors.
/// - Tensors under a top-level key containing `optim` (`optimizer`, `optimizer_state_dict`) are
///   optimizer state.
struct PyTorchTensorEntry {
    var name: String
    let tensor: PickleTensor
    var aliases: [String]
    var optimizer: Bool
}

enum PyTorchCheckpoint {
    /// How many times containers holding tensors may be reached again by another path.
    static let maxSharedReentries = 1_000

    /// Walks `root` depth-first in insertion order. Nesting deeper than
    /// `limits.maxPickleNesting`, more than `limits.maxPickleValues` visits (shared subtrees) or
    /// two tensors with one name are refused; a container met again inside itself is skipped.
    static func entries(_ root: PickleValue, prefix: String = "", limits: ReaderLimits, path: String, place: String) throws -> [PyTorchTensorEntry] {
        var out: [PyTorchTensorEntry] = []
        var byIdentity: [ViewKey: Int] = [:]
        var names = Set<String>()
        var onPath = Set<ObjectIdentifier>()
        var visits = 0
        var added = 0
        var tensorFree = Set<ObjectIdentifier>()
        var walked = Set<ObjectIdentifier>()
        var reentries = 0

        func add(_ name: String, _ t: PickleTensor, optimizer: Bool) throws {
            added += 1
            guard names.count < limits.maxMembers else {
                throw WeightFileError(.limitExceeded, path: path, place: place,
                                      expected: "at most \(limits.maxMembers) tensor names (ReaderLimits.maxMembers)", found: "more (shared containers)")
            }
            guard names.insert(name).inserted else {
                throw WeightFileError(.malformed, path: path, place: place, expected: "one tensor per name", found: "two tensors named '\(name)'")
            }
            let key = ViewKey(t)
            if let at = byIdentity[key] {
                out[at].aliases.append(name)
            } else {
                byIdentity[key] = out.count
                out.append(PyTorchTensorEntry(name: name, tensor: t, aliases: [], optimizer: optimizer))
            }
        }

        func join(_ prefix: String, _ key: String) -> String { prefix.isEmpty ? key : prefix + "." + key }

        func walk(_ v: PickleValue, _ name: String, depth: Int, optimizer: Bool) throws {
            switch v {
            case .tensor, .dict, .tuple, .list, .object: break
            default: return
            }
            visits += 1
            guard visits <= limits.maxPickleValues else {
                throw WeightFileError(.limitExceeded, path: path, place: place,
                                      expected: "at most \(limits.maxPickleValues) values to walk (ReaderLimits.maxPickleValues)", found: "more (shared containers)")
            }
            guard depth <= limits.maxPickleNesting else {
                throw WeightFileError(.limitExceeded, path: path, place: place,
                                      expected: "containers nested at most \(limits.maxPickleNesting) deep (ReaderLimits.maxPickleNesting)", found: "deeper at '\(name.prefix(120))'")
            }
            // A container walked once without finding a tensor is skipped when met again, so
            // shared tensor-free subtrees (a "billion laughs" of lists) cost their size, not
            // their number of paths.
            // A container holding tensors may be met again (`{"model": sd, "ema": sd}`: every
            // tensor gets a second name); more than `maxSharedReentries` such meetings is a
            // name explosion (10 references per level, 40 levels: 10^40 names), refused.
            func enter(_ id: ObjectIdentifier, _ body: () throws -> Void) throws {
                guard !tensorFree.contains(id), onPath.insert(id).inserted else { return }
                if !walked.insert(id).inserted {
                    reentries += 1
                    guard reentries <= maxSharedReentries else {
                        throw WeightFileError(.limitExceeded, path: path, place: place,
                                              expected: "containers with tensors shared at most \(maxSharedReentries) times",
                                              found: "more (a name explosion at '\(name.prefix(80))')")
                    }
                }
                defer { onPath.remove(id) }
                let before = added
                try body()
                if added == before { tensorFree.insert(id) }
            }
            switch v {
            case .tensor(let t):
                try add(name.isEmpty ? "tensor" : name, t, optimizer: optimizer)
            case .dict(let d):
                try enter(ObjectIdentifier(d)) {
                    for (k, value) in zip(d.keys, d.values) {
                        let key = keyName(k)
                        let opt = optimizer || (depth == 0 && key.lowercased().contains("optim"))
                        try walk(value, join(name, key), depth: depth + 1, optimizer: opt)
                    }
                }
            case .tuple(let b), .list(let b):
                try enter(ObjectIdentifier(b)) {
                    for (i, item) in b.items.enumerated() { try walk(item, join(name, String(i)), depth: depth + 1, optimizer: optimizer) }
                }
            case .object(let o):
                try enter(ObjectIdentifier(o)) { try walk(o.state, name, depth: depth + 1, optimizer: optimizer) }
            default:
                return
            }
        }
        try walk(root, prefix, depth: 0, optimizer: false)
        return out
    }

    static func keyName(_ k: PickleValue) -> String {
        switch k {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .bool(let b): return b ? "True" : "False"
        case .none: return "None"
        case .float(let f): return String(f)
        case .bytes(let b): return String(decoding: b, as: UTF8.self)
        default: return "<\(k.typeName)>"
        }
    }

    /// Identity of a view: same storage object, offset, shape, strides and dtype.
    struct ViewKey: Hashable {
        let storage: ObjectIdentifier
        let offset: Int
        let shape: [Int]
        let strides: [Int]
        let dtype: DType
        init(_ t: PickleTensor) {
            storage = ObjectIdentifier(t.storage)
            offset = t.offset
            shape = t.shape
            strides = t.strides
            dtype = t.dtype
        }
    }
}

/// Layer, variable, role and orientation of a tensor named the PyTorch way, as for safetensors
/// files written from PyTorch (`SafetensorsHeader.tensorInfos`): `<layer>.weight` of rank 2 is
/// `[out, in]` (`out_in`) except GPT-2-style `Conv1D` names (`in_out`), rank 3–5 `conv_oihw`;
/// integer tensors and `num_batches_tracked` are buffers.
enum PyTorchNames {
    static func info(name: String, shape: [Int], dtype: DType, byteOrder: ByteOrder, layout: String, optimizer: Bool) -> TensorInfo {
        var layer: String?
        var variable = name
        if let dot = name.lastIndex(of: ".") {
            layer = String(name[..<dot])
            variable = String(name[name.index(after: dot)...])
            if layer?.isEmpty == true { layer = nil }
        }
        var orientation = Orientation.unknown
        if variable == "weight" {
            switch shape.count {
            case 2:
                let conv1D = SafetensorsFormat.conv1DBareNames.contains(name)
                    || SafetensorsFormat.conv1DWeightSuffixes.contains(where: { name.hasSuffix($0) })
                orientation = conv1D ? .inOut : .outIn
            case 3, 4, 5: orientation = .convOIHW
            default: break
            }
        }
        let role: TensorRole = optimizer ? .optimizerState
            : (name.hasSuffix("num_batches_tracked") || !dtype.isFloatingPoint ? .buffer : .weights)
        return TensorInfo(name: name, shape: shape, dtype: dtype, byteOrder: dtype.byteSize == 1 ? .notApplicable : byteOrder,
                          layout: layout, role: role, layer: layer, variable: variable, orientation: orientation)
    }
}
