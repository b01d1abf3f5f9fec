/// Opening `torch.save` and `torch.jit.save` zip archives (layout: `PyTorchFormat`).
extension PyTorchTensorStore {
    /// Opens a zip archive holding `<folder>/data.pkl`. A TorchScript archive (it has
    /// `constants.pkl` or `code/`) is read for its weights: `data.pkl`'s module attributes and the
    /// tensors of `constants.pkl` (`constants.c<i>`); its code is never read.
    public static func openZip(path: String, limits: ReaderLimits = ReaderLimits()) throws -> PyTorchTensorStore {
        let archive = try PyTorchZipArchive(path: path, limits: limits)
        let torchScript = archive.entry("constants.pkl") != nil || archive.hasMember(startingWith: "code/")
        var byteOrder = ByteOrder.little
        if archive.entry("byteorder") != nil {
            let raw = try archive.read("byteorder", maxBytes: 16, what: "the byte order")
            switch String(decoding: raw, as: UTF8.self) {
            case "little": byteOrder = .little
            case "big": byteOrder = .big
            default:
                throw WeightFileError(.malformed, path: path, place: "member '\(archive.prefix)/byteorder'",
                                      expected: "'little' or 'big'", found: "'\(PickleMachine.shown(String(decoding: raw, as: UTF8.self)))'")
            }
        }
        var all: [(entry: PyTorchTensorEntry, info: TensorInfo, member: String, offset: Int, byteCount: Int)] = []
        var pickles = [("data.pkl", "data/")]
        if torchScript, archive.entry("constants.pkl") != nil { pickles.append(("constants.pkl", "constants/")) }
        var names = Set<String>()
        for (pickle, folder) in pickles {
            let bytes = try archive.read(pickle, maxBytes: limits.maxHeaderBytes, what: "the pickle")
            let place = "member '\(archive.prefix)/\(pickle)'"
            let machine = PickleMachine(path: path, place: place, limits: limits, persistentIDs: .zip, torchScript: torchScript)
            defer { machine.teardown() }
            let root = try bytes.withUnsafeBytes { try machine.run($0).value }
            var entries: [PyTorchTensorEntry] = []
            if pickle == "constants.pkl" {
                guard let items = root.sequence else {
                    throw WeightFileError(.malformed, path: path, place: place, expected: "a tuple of constants", found: root.typeName)
                }
                for (i, item) in items.enumerated() {
                    entries += try PyTorchCheckpoint.entries(item, prefix: "constants.c\(i)", limits: limits, path: path, place: place)
                }
            } else {
                entries = try PyTorchCheckpoint.entries(root, limits: limits, path: path, place: place)
            }
            // Every storage used must be a member of exactly its declared size.
            for e in entries {
                let s = e.tensor.storage
                let member = folder + s.key
                guard let size = archive.size(member) else {
                    throw WeightFileError(.malformed, path: path, place: "tensor '\(e.name)'",
                                          expected: "member '\(archive.prefix)/\(member)' holding storage '\(s.key)'", found: "no such member")
                }
                let (declared, overflow) = s.count.multipliedReportingOverflow(by: s.dtype.byteSize)
                guard !overflow, declared == size else {
                    throw WeightFileError(.malformed, path: path, place: "member '\(archive.prefix)/\(member)'",
                                          expected: overflow ? "a storage size that fits in 64 bits" : "\(declared) bytes (\(s.count) × \(s.dtype.rawValue), as the pickle declares)",
                                          found: "\(size) bytes")
                }
                for n in [e.name] + e.aliases where !names.insert(n).inserted {
                    throw WeightFileError(.malformed, path: path, place: place, expected: "one tensor per name", found: "two tensors named '\(n)'")
                }
                let base = (torchScript ? "torchscript" : "zip") + (archive.isCompressed(member) ? "+deflated" : "")
                let info = PyTorchNames.info(name: e.name, shape: e.tensor.shape, dtype: e.tensor.dtype, byteOrder: byteOrder,
                                             layout: layout(base, e), optimizer: e.optimizer)
                all.append((e, info, member, 0, size))
            }
        }
        return PyTorchTensorStore(path: path, format: torchScript ? .torchscript : .pytorch, limits: limits, source: .zip(archive), entries: all)
    }
}
