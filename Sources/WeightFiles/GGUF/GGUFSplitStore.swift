import Foundation

/// A GGUF model split into several files by llama.cpp's `gguf-split` or gguf-py
/// (`split_max_tensors` / `split_max_size`), format `.ggufSplit`:
///
/// ```
/// NAME-00001-of-0000N.gguf … NAME-0000N-of-0000N.gguf   (in one folder)
/// each a complete GGUF file with metadata  split.no (u16, 0-based), split.count (u16 = N),
///                                          split.tensors.count (i32, tensors in all shards)
/// the model's own metadata (general.*, the architecture's keys, tokenizer) is in the first shard
/// ```
/// The user gives the first shard; the others are found by name (a sibling name with the shard
/// number replaced, never a path read from the file). Each shard must say its number and the
/// same count, tensor names must be unique across shards, and their total must equal
/// `split.tensors.count`. Tensors are listed shard by shard, in file order; loads go to the
/// shard's own `GGUFTensorStore`. Immutable after `init`: thread-safe.
public final class GGUFSplitStore: TensorStore, ModelMetadataProviding {
    public let path: String
    public var format: ModelFormat { .ggufSplit }
    public let tensors: [TensorInfo]
    public var architectureJSON: String? { nil }
    /// The first shard's metadata (the model's), in its file order.
    public let metadata: [String: MetadataValue]
    public let metadataKeys: [String]
    /// Shard paths, in order.
    public let shardPaths: [String]
    private let shards: [GGUFTensorStore]
    private let location: [String: Int]

    public static let splitNumberKey = "split.no"
    public static let splitCountKey = "split.count"
    public static let splitTensorsKey = "split.tensors.count"

    /// `first`: the file the user gave, already opened; it declares `split.count` > 1.
    public init(first: GGUFTensorStore, limits: ReaderLimits = ReaderLimits()) throws {
        let path = first.path
        self.path = path
        guard let count = first.metadata[Self.splitCountKey]?.intValue, count > 1, count <= 99_999 else {
            throw WeightFileError(.malformed, path: path, place: "metadata '\(Self.splitCountKey)'",
                                  expected: "a shard count from 2 to 99999", found: first.metadata[Self.splitCountKey]?.summary ?? "nothing")
        }
        let number = first.metadata[Self.splitNumberKey]?.intValue
        guard number == 0 else {
            throw WeightFileError(.malformed, path: path, place: "metadata '\(Self.splitNumberKey)'",
                                  expected: "0: give the first shard (NAME-00001-of-\(String(format: "%05d", count)).gguf)",
                                  found: number.map(String.init) ?? "nothing")
        }
        let name = (path as NSString).lastPathComponent
        let suffix = String(format: "-00001-of-%05d.gguf", count)
        guard name.hasSuffix(suffix), name.count > suffix.count else {
            throw WeightFileError(.malformed, path: path, place: "file name",
                                  expected: "a first shard named NAME\(suffix) (split.count is \(count))", found: "'\(name.prefix(120))'")
        }
        let stem = String(path.dropLast(suffix.count))
        var shards = [first]
        var paths = [path]
        for i in 1..<count {
            let shardPath = stem + String(format: "-%05d-of-%05d.gguf", i + 1, count)
            let shardName = (shardPath as NSString).lastPathComponent
            let shard: GGUFTensorStore
            do {
                shard = try GGUFTensorStore(path: shardPath, limits: limits)
            } catch let e as WeightFileError where e.path == shardPath && (e.kind == .missing || e.kind == .unreadable) {
                throw WeightFileError(e.kind, path: path, place: "shard '\(shardName)'", detail: e.detail ?? "cannot open")
            }
            guard shard.metadata[Self.splitNumberKey]?.intValue == i, shard.metadata[Self.splitCountKey]?.intValue == count else {
                throw WeightFileError(.malformed, path: shardPath, place: "metadata 'split.no' / 'split.count'",
                                      expected: "\(i) of \(count)",
                                      found: "\(shard.metadata[Self.splitNumberKey]?.summary ?? "nothing") of \(shard.metadata[Self.splitCountKey]?.summary ?? "nothing")")
            }
            shards.append(shard)
            paths.append(shardPath)
        }
        var infos: [TensorInfo] = []
        var location: [String: Int] = [:]
        for (k, shard) in shards.enumerated() {
            for t in shard.tensors {
                guard location[t.name] == nil else {
                    throw WeightFileError(.malformed, path: paths[k], place: "tensor '\(t.name.prefix(120))'",
                                          expected: "tensor names unique across the shards", found: "a second '\(t.name.prefix(120))'")
                }
                guard infos.count < limits.maxMembers else {
                    throw WeightFileError(.limitExceeded, path: path, place: "shards",
                                          expected: "at most \(limits.maxMembers) tensors (ReaderLimits.maxMembers)", found: "more")
                }
                location[t.name] = k
                infos.append(t)
            }
        }
        if let declared = first.metadata[Self.splitTensorsKey]?.intValue, declared != infos.count {
            throw WeightFileError(.malformed, path: path, place: "metadata '\(Self.splitTensorsKey)'",
                                  expected: "\(infos.count) (the tensors of the \(count) shards)", found: "\(declared)")
        }
        tensors = infos
        self.location = location
        self.shards = shards
        shardPaths = paths
        metadata = first.metadata
        metadataKeys = first.metadataKeys
    }

    private func shard(_ name: String) throws -> GGUFTensorStore {
        guard let k = location[name] else {
            throw WeightFileError(.missing, path: path, place: "tensor '\(name)'", detail: "no tensor of that name in the shards")
        }
        return shards[k]
    }

    public func loadFloat64(_ name: String) throws -> [Double] { try shard(name).loadFloat64(name) }
    public func loadFloat32(_ name: String) throws -> [Float] { try shard(name).loadFloat32(name) }
    public func loadNativeBytes(_ name: String) throws -> [UInt8] { try shard(name).loadNativeBytes(name) }
    /// The tensor's stored bytes (see `GGUFTensorStore.storedBlocks`).
    public func storedBlocks(_ name: String) throws -> [UInt8] { try shard(name).storedBlocks(name) }
}
