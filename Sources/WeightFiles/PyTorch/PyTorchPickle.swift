/// The data-only pickle machine on its own: what a `data.pkl` describes (tensor names, shapes,
/// dtypes, storage keys), without any storage data. Used by the `pytorch-pickle` fuzz target and
/// by tools that want to look at a pickle without opening an archive.
public enum PyTorchPickle {
    /// The tensors a `torch.save` pickle (zip-format persistent ids; `legacy` for the legacy
    /// format's object pickle) holds, named as the stores name them (`layout` is the storage key).
    /// Throws the store's one-line errors for anything refused.
    public static func tensors(in bytes: UnsafeRawBufferPointer, path: String = "data.pkl", legacy: Bool = false,
                               torchScript: Bool = false, limits: ReaderLimits = ReaderLimits()) throws -> [TensorInfo] {
        let machine = PickleMachine(path: path, place: "pickle", limits: limits, persistentIDs: legacy ? .legacy : .zip,
                                    torchScript: torchScript)
        defer { machine.teardown() }
        let root = try machine.run(bytes).value
        return try PyTorchCheckpoint.entries(root, limits: limits, path: path, place: "pickle").map { e in
            PyTorchNames.info(name: e.name, shape: e.tensor.shape, dtype: e.tensor.dtype, byteOrder: .little,
                              layout: "storage " + e.tensor.storage.key, optimizer: e.optimizer)
        }
    }
}
