/// A Hugging Face sharded PyTorch checkpoint: `pytorch_model.bin.index.json` plus the shards it
/// names (each a zip or legacy `torch.save` file), with the rules of `SafetensorsShardedStore`:
/// shard names must be plain file names in the index's folder (no `/`, `\`, `..`, absolute paths
/// or NUL); every shard is opened and listed when the store is created; the index's `weight_map`
/// is authoritative (each tensor it lists must be in its shard, under its name or as an alias;
/// tensors a shard holds that the index does not list are ignored). Tensors are listed shard by
/// shard (shard names sorted), in pickle order inside each shard.
public final class PyTorchShardedStore: TensorStore, @unchecked Sendable {
    public let path: String
    public var format: ModelFormat { .pytorchSharded }
    public let tensors: [TensorInfo]
    public var architectureJSON: String? { nil }
    public let shardNames: [String]
    private let shards: [String: PyTorchTensorStore]
    private let locations: [String: String]

    /// True when `path` is a JSON index whose first shard (sorted) is a PyTorch file (zip with
    /// `data.pkl`, or the legacy magic). Never throws: "no" sends the file to the safetensors
    /// index reader, which reports what is wrong with it.
    public static func isPyTorchIndex(_ path: String, limits: ReaderLimits = ReaderLimits()) -> Bool {
        guard let (_, byShard) = try? ShardIndex.read(path, limits: limits), let first = byShard.keys.sorted().first else { return false }
        let shard = ShardIndex.folder(of: path) + first
        guard let prefix = try? ModelFile.readPrefix(shard, count: PyTorchFormat.legacyMagicPrefix.count) else { return false }
        if prefix.starts(with: PyTorchFormat.legacyMagicPrefix) { return true }
        return prefix.starts(with: [0x50, 0x4B]) && PyTorchZipArchive.isPyTorchArchive(shard)
    }

    public init(indexPath: String, limits: ReaderLimits = ReaderLimits()) throws {
        path = indexPath
        let (_, byShard) = try ShardIndex.read(indexPath, limits: limits)
        let folder = ShardIndex.folder(of: indexPath)
        var shards: [String: PyTorchTensorStore] = [:]
        var infos: [TensorInfo] = []
        var locations: [String: String] = [:]
        let names = byShard.keys.sorted()
        for shardName in names {
            let shardPath = folder + shardName
            let store: PyTorchTensorStore
            do {
                try PathCheck.requireReadableFile(shardPath)
                let prefix = try ModelFile.readPrefix(shardPath, count: PyTorchFormat.legacyMagicPrefix.count)
                if prefix.starts(with: PyTorchFormat.legacyMagicPrefix) {
                    store = try PyTorchTensorStore.openLegacy(path: shardPath, limits: limits)
                } else {
                    store = try PyTorchTensorStore.openZip(path: shardPath, limits: limits)
                }
            } catch let e as WeightFileError where e.kind == .missing || e.kind == .unreadable {
                throw WeightFileError(e.kind, path: indexPath, place: "shard '\(shardName)'", detail: e.detail ?? "cannot open")
            }
            guard store.format != .torchscript else {
                throw WeightFileError(.malformed, path: indexPath, place: "shard '\(shardName)'", expected: "a torch.save shard", found: "a TorchScript archive")
            }
            shards[shardName] = store
            let wanted = Set(byShard[shardName] ?? [])
            var found = Set<String>()
            for info in store.tensors {
                let all = [info.name] + (store.aliases[info.name] ?? [])
                for n in all where wanted.contains(n) {
                    found.insert(n)
                    locations[n] = shardName
                }
                if wanted.contains(info.name) { infos.append(info) }
                else if let alias = all.first(where: { wanted.contains($0) }) {
                    var renamed = info
                    renamed.name = alias
                    infos.append(renamed)
                }
            }
            if let absent = wanted.subtracting(found).sorted().first {
                throw WeightFileError(.malformed, path: indexPath, place: "index weight_map '\(absent)'",
                                      expected: "tensor '\(absent)' in shard '\(shardName)'", found: "no such tensor in that shard")
            }
        }
        shardNames = names
        self.shards = shards
        self.locations = locations
        tensors = infos
    }

    private func shard(_ name: String) throws -> PyTorchTensorStore {
        guard let s = locations[name], let store = shards[s] else {
            throw WeightFileError(.malformed, path: path, place: "tensor '\(name)'", detail: "no tensor of that name in the checkpoint")
        }
        return store
    }

    public func loadFloat64(_ name: String) throws -> [Double] { try shard(name).loadFloat64(name) }
    public func loadFloat32(_ name: String) throws -> [Float] { try shard(name).loadFloat32(name) }
    public func loadNativeBytes(_ name: String) throws -> [UInt8] { try shard(name).loadNativeBytes(name) }
}
