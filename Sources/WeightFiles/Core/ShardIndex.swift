/// The index file of a sharded checkpoint (`model.safetensors.index.json`,
/// `pytorch_model.bin.index.json`): `{"metadata": {...}, "weight_map": {tensor: shard file}}`.
/// One reader for both formats: size cap, strict JSON, the weight map grouped by shard, and every
/// shard name confined to the index's folder (`SafetensorsShardedStore.checkShardName`).
enum ShardIndex {
    static func folder(of path: String) -> String {
        if let slash = path.lastIndex(of: "/") { return String(path[...slash]) }
        return ""
    }

    /// The index's weight_map grouped by shard, shard names checked.
    static func read(_ indexPath: String, limits: ReaderLimits) throws -> (metadata: JSONValue?, byShard: [String: [String]]) {
        let indexFile = try FileBytes(path: indexPath)
        guard indexFile.count <= limits.maxHeaderBytes else {
            throw WeightFileError(.limitExceeded, path: indexPath, place: "index",
                                  expected: "at most \(limits.maxHeaderBytes) bytes (ReaderLimits.maxHeaderBytes)", found: "\(indexFile.count)")
        }
        let root = try withExtendedLifetime(indexFile) {
            try SafetensorsHeader.parseJSON(indexFile.all, base: 0, path: indexPath, place: "index", limits: limits)
        }
        guard case .object(let top) = root else {
            throw WeightFileError(.malformed, path: indexPath, place: "index", expected: "a JSON object", found: root.typeName)
        }
        guard case .object(let weightMap)? = top[SafetensorsFormat.indexKeyWeightMap] else {
            throw WeightFileError(.malformed, path: indexPath, place: "index \(SafetensorsFormat.indexKeyWeightMap)",
                                  expected: "an object mapping tensor names to shard files",
                                  found: top[SafetensorsFormat.indexKeyWeightMap]?.typeName ?? "nothing")
        }
        guard weightMap.count <= limits.maxMembers else {
            throw WeightFileError(.limitExceeded, path: indexPath, place: "index weight_map",
                                  expected: "at most \(limits.maxMembers) tensors (ReaderLimits.maxMembers)", found: "\(weightMap.count)")
        }
        var byShard: [String: [String]] = [:]
        for tensor in weightMap.keys {
            guard let shard = weightMap[tensor]?.stringValue else {
                throw WeightFileError(.malformed, path: indexPath, place: "index weight_map '\(tensor)'",
                                      expected: "a shard file name", found: weightMap[tensor]?.typeName ?? "nothing")
            }
            try SafetensorsShardedStore.checkShardName(shard, tensor: tensor, indexPath: indexPath)
            byShard[shard, default: []].append(tensor)
        }
        return (top[SafetensorsFormat.indexKeyMetadata], byShard)
    }
}
