// Entry points of the single-format readers, kept apart from the detection logic.
extension ModelFile {
    static func openNPY(_ path: String, limits: ReaderLimits) throws -> any TensorStore {
        try NPYTensorStore(path: path, limits: limits)
    }

    static func openNPZ(_ path: String, limits: ReaderLimits) throws -> any TensorStore {
        try NPZTensorStore(path: path, limits: limits)
    }

    static func openSafetensors(_ path: String, limits: ReaderLimits) throws -> any TensorStore {
        try SafetensorsTensorStore(path: path, limits: limits)
    }

    static func openShardedSafetensors(_ path: String, limits: ReaderLimits) throws -> any TensorStore {
        try SafetensorsShardedStore(indexPath: path, limits: limits)
    }

    static func openONNX(_ path: String, limits: ReaderLimits) throws -> any TensorStore {
        try ONNXTensorStore(path: path, limits: limits)
    }
}
