/// PyTorch checkpoints, written down once (after `torch/serialization.py`, `torch/_utils.py`,
/// `torch/_weights_only_unpickler.py` and `caffe2/serialize/inline_container.cc` of torch 2.x;
/// checked against files torch 2.13 writes, see fixtures/generate_pytorch.py).
///
/// **Zip format** (`torch.save`, default since 1.6; also `torch.jit.save`): a zip whose members
/// all sit in one top folder `<prefix>/` (the file's stem when written):
/// ```
/// <prefix>/data.pkl            pickle (protocol 2) of the saved object; storages are persistent ids
///                              ('storage', <storage type GLOBAL>, key: str, location: str, numel: int)
/// <prefix>/data/<key>          the raw bytes of storage <key>: numel · element size bytes
/// <prefix>/byteorder           "little" or "big" (absent in files older than torch 1.10: little)
/// <prefix>/version, .format_version, .storage_alignment, .data/serialization_id   (not read)
/// ```
/// torch writes every member stored (method 0), aligned to 64 bytes, with data descriptors
/// (flag bit 3) and ZIP64 records once a member or the archive passes 4 GiB. A TorchScript
/// archive (`torch.jit.save`) adds `<prefix>/code/…` (TorchScript source, not read),
/// `<prefix>/constants.pkl` (a tuple of tensor constants whose storages are
/// `<prefix>/constants/<key>`) and its `data.pkl` holds the module as `__torch__.<Class>` objects
/// (NEWOBJ with no arguments, then BUILD with a dict of attributes).
///
/// **Legacy format** (`_use_new_zipfile_serialization=False`, torch < 1.6): five things back to
/// back, the first four pickles:
/// ```
/// magic number   LONG1 0x1950a86a20f9469cfc6c   (bytes 80 02 8a 0a 6c fc 9c 46 f9 20 6a a8 50 19 2e)
/// protocol       int 1001
/// sys info       {'protocol_version': 1001, 'little_endian': bool, 'type_sizes': {...}}
/// the object     storages are ('storage', <storage type>, root key, location, numel, view metadata)
///                view metadata: None, or (view key, offset, size) in elements of the root storage
/// storage keys   a list of the root keys, in the order their data follows
/// then, per key  numel: int64 little-endian, then numel · element size bytes, little-endian
/// ```
///
/// **Tensors** are `torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride,
/// requires_grad, backward_hooks[, metadata])` (v1 without the last three; v3 adds the dtype for
/// an untyped storage); a tensor views its storage at element `storage_offset` with `stride`,
/// so several tensors may share one storage (tied weights, views).
/// `torch._utils._rebuild_parameter(data, requires_grad, backward_hooks)` wraps a tensor.
///
/// **Sharded checkpoints** (Hugging Face transformers): `pytorch_model.bin.index.json`
/// `{"metadata": {...}, "weight_map": {"tensor": "pytorch_model-00001-of-00002.bin", …}}`, each
/// shard a `torch.save` of part of the state dict.
public enum PyTorchFormat {
    /// The legacy format's first 15 bytes: PROTO 2, LONG1 of 10 bytes holding the magic number
    /// 0x1950a86a20f9469cfc6c little-endian, STOP.
    public static let legacyMagicPrefix: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]
    /// The legacy format's protocol version (second pickle).
    public static let legacyProtocolVersion = 1001
    /// Conventional name of a transformers sharded index.
    public static let indexFileName = "pytorch_model.bin.index.json"

    /// Storage classes (`torch.FloatStorage` …, also under `torch.cuda.`) and their element types.
    /// `UntypedStorage` holds bytes (uint8) as torch reads it.
    static let storageTypes: [String: DType] = [
        "DoubleStorage": .float64, "FloatStorage": .float32, "HalfStorage": .float16, "BFloat16Storage": .bfloat16,
        "LongStorage": .int64, "IntStorage": .int32, "ShortStorage": .int16, "CharStorage": .int8,
        "ByteStorage": .uint8, "BoolStorage": .bool, "UntypedStorage": .uint8,
    ]
    /// Storage classes torch allows that hold element types spectral-audit does not read.
    static let unreadStorageTypes: Set<String> = [
        "ComplexDoubleStorage", "ComplexFloatStorage", "QUInt8Storage", "QInt8Storage", "QInt32Storage",
        "QUInt4x2Storage", "QUInt2x4Storage",
    ]
    /// `torch.<dtype>` globals (as `str(dtype)` spells them) read here.
    static let dtypes: [String: DType] = [
        "float64": .float64, "float32": .float32, "float16": .float16, "bfloat16": .bfloat16,
        "int64": .int64, "int32": .int32, "int16": .int16, "int8": .int8,
        "uint64": .uint64, "uint32": .uint32, "uint16": .uint16, "uint8": .uint8, "bool": .bool,
    ]
    /// `torch.<dtype>` globals torch allows whose element types are not read here (a tensor of
    /// one is refused as unsupported; naming one is not an error).
    static let unreadDTypes: Set<String> = [
        "complex32", "complex64", "complex128", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz",
        "float8_e5m2fnuz", "float8_e8m0fnu", "float4_e2m1fn_x2", "qint8", "quint8", "qint32", "quint4x2", "quint2x4",
        "bits1x8", "bits2x4", "bits4x2", "bits8", "bits16",
        "uint1", "uint2", "uint3", "uint4", "uint5", "uint6", "uint7",
        "int1", "int2", "int3", "int4", "int5", "int6", "int7",
    ]
}
