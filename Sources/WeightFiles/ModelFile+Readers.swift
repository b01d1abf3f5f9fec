import Foundation

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

    static func openPyTorchZip(_ path: String, limits: ReaderLimits) throws -> any TensorStore {
        try PyTorchTensorStore.openZip(path: path, limits: limits)
    }

    static func openPyTorchLegacy(_ path: String, limits: ReaderLimits) throws -> any TensorStore {
        try PyTorchTensorStore.openLegacy(path: path, limits: limits)
    }

    static func openShardedPyTorch(_ path: String, limits: ReaderLimits) throws -> any TensorStore {
        try PyTorchShardedStore(indexPath: path, limits: limits)
    }

    static func openONNX(_ path: String, limits: ReaderLimits) throws -> any TensorStore {
        try ONNXTensorStore(path: path, limits: limits)
    }
}

// A Hugging Face model folder (`save_pretrained`): the weights file inside it.
extension ModelFile {
    /// The weight files a model folder may hold, in the order they are preferred.
    public static let folderWeightNames = ["model.safetensors.index.json", "model.safetensors",
                                                 "pytorch_model.bin.index.json", "pytorch_model.bin"]

    /// `path` itself when it is not a directory; for a directory (a Hugging Face model folder),
    /// the first of `folderWeightNames` it holds. A folder with none is `missing` (exit 66),
    /// naming what was looked for.
    public static func resolveFolder(_ path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return path
        }
        let base = path.hasSuffix("/") ? String(path.dropLast()) : path
        for name in folderWeightNames where FileManager.default.fileExists(atPath: base + "/" + name) {
            return base + "/" + name
        }
        throw WeightFileError(.missing, path: path, place: "folder",
                              expected: "a model folder holding " + folderWeightNames.joined(separator: " or "),
                              found: "none of them")
    }
}
