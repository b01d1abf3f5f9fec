/// The safetensors format, written down once (after huggingface/safetensors
/// `safetensors/src/tensor.rs`, whose `read_metadata` / `Metadata::validate` the reader follows):
///
/// ```
/// offset 0        8 bytes   N, little-endian u64: size of the header
/// offset 8        N bytes   UTF-8 JSON object, starting with '{', possibly padded with spaces:
///                             {"__metadata__": {"format": "pt"},          (optional, string→string)
///                              "w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, …}
/// offset 8 + N    the data buffer; offsets are relative to its start. Sorted by
///                 (begin, end), the tensors tile it exactly: the first begins at 0, each begins
///                 where the previous ends, `end − begin = product(shape) · dtype size`, and the
///                 last ends at the end of the file. Elements are little-endian, C order.
/// ```
/// A sharded checkpoint is `model.safetensors.index.json`:
/// `{"metadata": {…}, "weight_map": {"tensor": "model-00001-of-00002.safetensors", …}}`.
public enum SafetensorsFormat {
    public static let headerSizeFieldBytes = 8
    /// The reference implementation's `MAX_HEADER_SIZE` (ours is `ReaderLimits.maxHeaderBytes`).
    public static let referenceMaxHeaderBytes = 100_000_000
    public static let metadataKey = "__metadata__"
    public static let keyDType = "dtype"
    public static let keyShape = "shape"
    public static let keyDataOffsets = "data_offsets"
    public static let indexKeyWeightMap = "weight_map"
    public static let indexKeyMetadata = "metadata"
    /// Conventional name of the index of a sharded checkpoint.
    public static let indexFileName = "model.safetensors.index.json"

    /// Element types spectral-audit reads, by their safetensors names.
    public static let dtypes: [String: DType] = [
        "F64": .float64, "F32": .float32, "F16": .float16, "BF16": .bfloat16,
        "I64": .int64, "I32": .int32, "I16": .int16, "I8": .int8,
        "U64": .uint64, "U32": .uint32, "U16": .uint16, "U8": .uint8, "BOOL": .bool,
    ]
    /// Valid safetensors dtypes that have no `DType` (a file holding one is refused as
    /// `.unsupported`, not `.malformed`).
    public static let knownUnsupportedDTypes: Set<String> = [
        "F8_E5M2", "F8_E4M3", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64",
    ]

    /// GPT-2-style `Conv1D` layers store their weight `[in, out]` although the file is PyTorch.
    /// Heuristic (the file does not say which class wrote a tensor): a 2-D tensor whose name
    /// ends in one of these suffixes, in a file whose `__metadata__` has `"format": "pt"`,
    /// is taken as `Conv1D` (`.inOut`). HF GPT-2 (`transformer.h.N.attn.c_attn.weight`…) matches.
    public static let conv1DWeightSuffixes = [".c_attn.weight", ".c_proj.weight", ".c_fc.weight"]
    public static let conv1DBareNames: Set<String> = ["c_attn.weight", "c_proj.weight", "c_fc.weight"]
}
