/// The GLOBALs the data-only pickle machine accepts: exactly the names torch's `weights_only`
/// unpickler allows by default (`torch/_weights_only_unpickler.py`, `_get_allowed_globals`,
/// torch 2.13), each reduced to a tag. Some of them are allowed by torch but build things
/// spectral-audit does not read (quantized, sparse, nested, meta tensors): naming them is fine,
/// calling them refuses the file as unsupported, naming the function.
///
/// TorchScript archives (`torch.jit.save`) also name their module classes `__torch__.<…>` and the
/// helpers `torch.jit._pickle.*`; those are accepted only while reading a TorchScript archive's
/// pickles, and only as plain records (an object is a class name plus the state BUILD gives it).
/// Anything else (`os.system`, `builtins.eval`, `subprocess.Popen`, `builtins.getattr`, …) is
/// refused at the GLOBAL opcode, before it could be used.
enum PickleGlobal {
    case orderedDict
    case counter
    /// `torch.nn.parameter.Parameter` (NEWOBJ/REDUCE with `(tensor[, requires_grad])`).
    case parameter
    case size
    case device
    /// `_codecs.encode(str, 'latin1')`: how protocol 2 spells bytes.
    case codecsEncode
    case bytearray
    case set
    case complex
    /// `torch.Tensor`, `torch.FloatTensor`, …: only used as a type tag.
    case tensorClass(String)
    case dtype(String, DType?)
    /// A storage class (`torch.FloatStorage`, `torch.storage.UntypedStorage`, …); nil dtype:
    /// allowed by torch, element type not read here.
    case storageType(String, DType?)
    /// `torch._utils._rebuild_tensor` (1), `_rebuild_tensor_v2` (2), `_rebuild_tensor_v3` (3).
    case rebuildTensor(Int)
    case rebuildParameter(withState: Bool)
    /// `torch._tensor._rebuild_from_type_v2(func, type, args, state)`.
    case rebuildFromType
    /// Allowed by torch, not read by spectral-audit: the full name and why.
    case notRead(String, String)
    /// TorchScript `__torch__.<module>.<Class>`.
    case scriptClass(String)
    /// TorchScript `torch.jit._pickle.<name>`.
    case scriptHelper(String)

    var name: String {
        switch self {
        case .orderedDict: return "collections.OrderedDict"
        case .counter: return "collections.Counter"
        case .parameter: return "torch.nn.parameter.Parameter"
        case .size: return "torch.Size"
        case .device: return "torch.device"
        case .codecsEncode: return "_codecs.encode"
        case .bytearray: return "builtins.bytearray"
        case .set: return "builtins.set"
        case .complex: return "builtins.complex"
        case .tensorClass(let n), .notRead(let n, _), .scriptClass(let n): return n
        case .dtype(let n, _): return "torch." + n
        case .storageType(let n, _): return n
        case .rebuildTensor(let v): return v == 1 ? "torch._utils._rebuild_tensor" : "torch._utils._rebuild_tensor_v\(v)"
        case .rebuildParameter(let s): return s ? "torch._utils._rebuild_parameter_with_state" : "torch._utils._rebuild_parameter"
        case .rebuildFromType: return "torch._tensor._rebuild_from_type_v2"
        case .scriptHelper(let n): return "torch.jit._pickle." + n
        }
    }

    /// Python 2 module names pickles written by Python 2 use (`torch._utils` `IMPORT_MAPPING`).
    static let moduleRenames = ["__builtin__": "builtins", "copy_reg": "copyreg"]

    static let fixed: [String: PickleGlobal] = [
        "collections.OrderedDict": .orderedDict,
        "collections.Counter": .counter,
        "torch.nn.parameter.Parameter": .parameter,
        "torch.Size": .size,
        "torch.device": .device,
        "_codecs.encode": .codecsEncode,
        "builtins.bytearray": .bytearray,
        "builtins.set": .set,
        "builtins.complex": .complex,
        "torch.Tensor": .tensorClass("torch.Tensor"),
        "torch.storage.TypedStorage": .notRead("torch.storage.TypedStorage", "a TypedStorage object outside a persistent id"),
        "torch._utils._rebuild_tensor": .rebuildTensor(1),
        "torch._utils._rebuild_tensor_v2": .rebuildTensor(2),
        "torch._utils._rebuild_tensor_v3": .rebuildTensor(3),
        "torch._utils._rebuild_parameter": .rebuildParameter(withState: false),
        "torch._utils._rebuild_parameter_with_state": .rebuildParameter(withState: true),
        "torch._tensor._rebuild_from_type_v2": .rebuildFromType,
        "torch.serialization._get_layout": .notRead("torch.serialization._get_layout", "sparse tensor layouts"),
        "torch._utils._rebuild_qtensor": .notRead("torch._utils._rebuild_qtensor", "quantized tensors"),
        "torch._utils._rebuild_sparse_tensor": .notRead("torch._utils._rebuild_sparse_tensor", "sparse tensors"),
        "torch._utils._rebuild_meta_tensor_no_storage": .notRead("torch._utils._rebuild_meta_tensor_no_storage", "meta tensors (no data)"),
        "torch._utils._rebuild_nested_tensor": .notRead("torch._utils._rebuild_nested_tensor", "nested tensors"),
        "torch._utils._rebuild_wrapper_subclass": .notRead("torch._utils._rebuild_wrapper_subclass", "tensor subclasses"),
        "torch._utils._rebuild_device_tensor_from_numpy": .notRead("torch._utils._rebuild_device_tensor_from_numpy", "tensors pickled as numpy arrays"),
        "torch._utils._rebuild_device_tensor_from_cpu_tensor": .notRead("torch._utils._rebuild_device_tensor_from_cpu_tensor", "device tensors"),
        "torch.per_tensor_affine": .notRead("torch.per_tensor_affine", "quantization schemes"),
        "torch.per_tensor_symmetric": .notRead("torch.per_tensor_symmetric", "quantization schemes"),
        "torch.per_channel_affine": .notRead("torch.per_channel_affine", "quantization schemes"),
        "torch.per_channel_symmetric": .notRead("torch.per_channel_symmetric", "quantization schemes"),
        "torch.per_channel_affine_float_qparams": .notRead("torch.per_channel_affine_float_qparams", "quantization schemes"),
    ]

    /// Tensor type classes torch allows (`torch._tensor_classes`).
    static let tensorClassNames: Set<String> = [
        "DoubleTensor", "FloatTensor", "HalfTensor", "BFloat16Tensor", "LongTensor", "IntTensor", "ShortTensor",
        "CharTensor", "ByteTensor", "BoolTensor",
    ]

    /// The tag for `module.name`, or nil when the name is not allowed.
    static func resolve(module rawModule: String, name: String, torchScript: Bool) -> PickleGlobal? {
        let module = moduleRenames[rawModule] ?? rawModule
        let full = module + "." + name
        if let g = fixed[full] { return g }
        if module == "torch" || module == "torch.cuda" || module == "torch.storage" {
            if let dtype = PyTorchFormat.storageTypes[name], module != "torch.storage" || name == "UntypedStorage" {
                return .storageType(full, dtype)
            }
            if PyTorchFormat.unreadStorageTypes.contains(name), module != "torch.storage" { return .storageType(full, nil) }
        }
        if module == "torch" || module == "torch.cuda" || module == "torch.sparse", tensorClassNames.contains(name) {
            return .tensorClass(full)
        }
        if module == "torch" {
            if let d = PyTorchFormat.dtypes[name] { return .dtype(name, d) }
            if PyTorchFormat.unreadDTypes.contains(name) { return .dtype(name, nil) }
        }
        if torchScript {
            if module == "__torch__" || module.hasPrefix("__torch__.") { return .scriptClass(full) }
            if module == "torch.jit._pickle", scriptHelpers.contains(name) { return .scriptHelper(name) }
        }
        return nil
    }

    static let scriptHelpers: Set<String> = ["restore_type_tag", "build_intlist", "build_doublelist", "build_boollist", "build_tensorlist"]
}
