/// The values the data-only pickle machine builds. Nothing here can run code: a pickle's
/// GLOBALs become `PickleGlobal` tags from a fixed allow-list, and "calling" one builds one of
/// these values (see `PickleGlobal.call`).
///
/// Containers are reference types because pickles share them through the memo (a dict is
/// memoised before its SETITEMS fill it). Every container is registered with the machine that
/// made it, which empties them all when it is done, so cycles a hostile pickle builds are broken
/// and freeing never recurses deeply.
enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer beyond 64 bits (LONG1 up to 255 bytes): kept as its byte count only.
    case bigInt(bytes: Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple(PickleBox)
    case list(PickleBox)
    case set(PickleBox)
    case dict(PickleDict)
    case global(PickleGlobal)
    case storage(PickleStorage)
    case tensor(PickleTensor)
    /// A TorchScript `__torch__.<Class>` instance: its class name and the state BUILD gave it.
    case object(PickleObject)
    /// A value torch allows that carries no tensor data (`torch.device`, `complex`).
    case opaque(String)

    /// Python's name for the value's type, for error messages.
    var typeName: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .set: return "set"
        case .dict(let d): return d.ordered ? "collections.OrderedDict" : "dict"
        case .global(let g): return g.name
        case .storage: return "a storage"
        case .tensor: return "a tensor"
        case .object(let o): return o.className
        case .opaque(let s): return s
        }
    }

    var intValue: Int? { if case .int(let v) = self { return v }; if case .bool(let b) = self { return b ? 1 : 0 }; return nil }
    var stringValue: String? {
        switch self {
        case .string(let s): return s
        case .bytes(let b): return String(decoding: b, as: UTF8.self)
        default: return nil
        }
    }
    /// Elements of a tuple or list.
    var sequence: [PickleValue]? {
        switch self {
        case .tuple(let b), .list(let b): return b.items
        default: return nil
        }
    }
}

/// A tuple, list or set.
final class PickleBox {
    var items: [PickleValue]
    init(_ items: [PickleValue]) { self.items = items }
}

/// A dict, `collections.OrderedDict` or `collections.Counter`, in insertion order (a key set
/// twice keeps its first position and takes the last value, as Python does).
final class PickleDict {
    let ordered: Bool
    private(set) var keys: [PickleValue] = []
    private(set) var values: [PickleValue] = []
    private var index: [String: Int] = [:]

    init(ordered: Bool) { self.ordered = ordered }

    var count: Int { keys.count }

    func set(_ key: PickleValue, _ value: PickleValue) {
        if let k = PickleDict.hashKey(key), let at = index[k] {
            values[at] = value
            return
        }
        if let k = PickleDict.hashKey(key) { index[k] = keys.count }
        keys.append(key)
        values.append(value)
    }

    func value(_ key: String) -> PickleValue? {
        index["s:" + key].map { values[$0] }
    }

    func removeAll() {
        keys = []
        values = []
        index = [:]
    }

    /// Equal Python keys (str, int, bool, None) map to equal strings; other keys never merge.
    static func hashKey(_ key: PickleValue) -> String? {
        switch key {
        case .string(let s): return "s:" + s
        case .int(let i): return "i:\(i)"
        case .bool(let b): return "i:\(b ? 1 : 0)"
        case .none: return "n"
        default: return nil
        }
    }
}

/// One storage named by a persistent id: `('storage', type, key, location, numel[, view])`.
final class PickleStorage {
    /// The member key (`data/<key>` in a zip; a root key in the legacy format).
    let key: String
    /// Element type of the storage class (`UntypedStorage`: uint8).
    let dtype: DType
    /// The storage class as named in the file (`FloatStorage`).
    let typeName: String
    let location: String
    /// Declared number of elements (of `dtype`).
    let count: Int
    /// Legacy format only: a view of the root storage `key`: (view key, offset, size) in elements.
    let view: (key: String, offset: Int, count: Int)?

    init(key: String, dtype: DType, typeName: String, location: String, count: Int,
         view: (key: String, offset: Int, count: Int)?) {
        self.key = key
        self.dtype = dtype
        self.typeName = typeName
        self.location = location
        self.count = count
        self.view = view
    }
}

/// A tensor: a strided view of a storage, reinterpreted as `dtype` (equal to the storage's
/// dtype except for `_rebuild_tensor_v3` over an untyped storage).
final class PickleTensor {
    let storage: PickleStorage
    let dtype: DType
    /// In elements of `dtype`.
    let offset: Int
    let shape: [Int]
    let strides: [Int]

    init(storage: PickleStorage, dtype: DType, offset: Int, shape: [Int], strides: [Int]) {
        self.storage = storage
        self.dtype = dtype
        self.offset = offset
        self.shape = shape
        self.strides = strides
    }

    /// Row-major strides of `shape`.
    static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for k in stride(from: shape.count - 1, through: 0, by: -1) {
            s[k] = acc
            acc = acc &* Swift.max(shape[k], 1)
        }
        return s
    }

    /// True when the elements are consecutive in C order (dimensions of size 1 may have any stride).
    var isContiguous: Bool {
        let c = PickleTensor.contiguousStrides(shape)
        for k in shape.indices where shape[k] > 1 && strides[k] != c[k] { return false }
        return true
    }
}

/// A TorchScript module object.
final class PickleObject {
    let className: String
    var state: PickleValue = .none
    init(className: String) { self.className = className }
}
