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

    /// One GGUF file, or the first shard of a split model (`split.count` > 1).
    static func openGGUF(_ path: String, limits: ReaderLimits) throws -> any TensorStore {
        let store = try GGUFTensorStore(path: path, limits: limits)
        if let count = store.metadata[GGUFSplitStore.splitCountKey]?.intValue, count > 1 {
            return try GGUFSplitStore(first: store, limits: limits)
        }
        return store
    }
}
