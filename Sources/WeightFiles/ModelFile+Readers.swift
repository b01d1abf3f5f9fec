// Entry points of the single-format readers, kept apart from the detection logic.
extension ModelFile {
    static func openNPY(_ path: String, limits: ReaderLimits) throws -> any TensorStore {
        throw WeightFileError(.unsupported, path: path, place: "format", detail: "NPY reader not merged yet")
    }
    static func openNPZ(_ path: String, limits: ReaderLimits) throws -> any TensorStore {
        throw WeightFileError(.unsupported, path: path, place: "format", detail: "NPZ reader not merged yet")
    }
    static func openSafetensors(_ path: String, limits: ReaderLimits) throws -> any TensorStore {
        throw WeightFileError(.unsupported, path: path, place: "format", detail: "safetensors reader not merged yet")
    }
    static func openShardedSafetensors(_ path: String, limits: ReaderLimits) throws -> any TensorStore {
        throw WeightFileError(.unsupported, path: path, place: "format", detail: "safetensors reader not merged yet")
    }
}
