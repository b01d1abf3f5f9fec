/// Opening legacy (non-zip) `torch.save` files (layout: `PyTorchFormat`). The file is
/// memory-mapped; storages are located by walking their size prefixes after the pickles, and a
/// tensor's load slices its storage from the map.
extension PyTorchTensorStore {
    public static func openLegacy(path: String, limits: ReaderLimits = ReaderLimits()) throws -> PyTorchTensorStore {
        let file = try FileBytes(path: path)
        let all = file.all
        return try withExtendedLifetime(file) {
            let magic = PyTorchFormat.legacyMagicPrefix
            guard all.count >= magic.count, magic.indices.allSatisfy({ all[$0] == magic[$0] }) else {
                throw WeightFileError(.malformed, path: path, place: "byte 0", expected: "the legacy torch.save magic number pickle",
                                      found: all.prefix(magic.count).map { String(format: "%02x", $0) }.joined(separator: " "))
            }
            let plain = PickleMachine(path: path, place: "protocol version pickle", limits: limits, persistentIDs: .none, torchScript: false)
            defer { plain.teardown() }
            let (version, afterVersion) = try plain.run(all, start: magic.count)
            guard version.intValue == PyTorchFormat.legacyProtocolVersion else {
                throw WeightFileError(.malformed, path: path, place: "protocol version pickle at byte \(magic.count)",
                                      expected: "\(PyTorchFormat.legacyProtocolVersion)", found: version.intValue.map(String.init) ?? version.typeName)
            }
            let sysInfoMachine = PickleMachine(path: path, place: "sys info pickle", limits: limits, persistentIDs: .none, torchScript: false)
            defer { sysInfoMachine.teardown() }
            let (sysInfo, afterSysInfo) = try sysInfoMachine.run(all, start: afterVersion)
            guard case .dict(let info) = sysInfo else {
                throw WeightFileError(.malformed, path: path, place: "sys info pickle at byte \(afterVersion)", expected: "a dict", found: sysInfo.typeName)
            }
            if case .bool(false)? = info.value("little_endian") {
                // Storages are written little-endian whatever the writer (THPStorage_writeFileRaw);
                // only the pickle's integer sizes would differ, and those are not used.
            }
            let machine = PickleMachine(path: path, place: "object pickle", limits: limits, persistentIDs: .legacy, torchScript: false)
            defer { machine.teardown() }
            let (root, afterObject) = try machine.run(all, start: afterSysInfo)
            let keysMachine = PickleMachine(path: path, place: "storage key pickle", limits: limits, persistentIDs: .none, torchScript: false)
            defer { keysMachine.teardown() }
            let (keysValue, afterKeys) = try keysMachine.run(all, start: afterObject)
            guard let keyItems = keysValue.sequence else {
                throw WeightFileError(.malformed, path: path, place: "storage key pickle at byte \(afterObject)", expected: "a list of storage keys", found: keysValue.typeName)
            }
            // Root storages by key (views share their root's key).
            var roots: [String: PickleStorage] = [:]
            for s in machine.storages.values.sorted(by: { $0.key < $1.key }) {
                if let other = roots[s.key], other.count != s.count || other.dtype.byteSize != s.dtype.byteSize {
                    throw WeightFileError(.malformed, path: path, place: "object pickle",
                                          expected: "one size for root storage '\(s.key)'",
                                          found: "\(other.count) × \(other.dtype.rawValue) and \(s.count) × \(s.dtype.rawValue)")
                }
                roots[s.key] = s
            }
            var offsets: [String: Int] = [:]
            var p = afterKeys
            for item in keyItems {
                guard let key = item.stringValue, let s = roots[key] else {
                    throw WeightFileError(.malformed, path: path, place: "storage key pickle at byte \(afterObject)",
                                          expected: "keys of storages the object uses", found: item.stringValue.map { "'\(PickleMachine.shown($0))'" } ?? item.typeName)
                }
                guard offsets[key] == nil else {
                    throw WeightFileError(.malformed, path: path, place: "storage key pickle at byte \(afterObject)", expected: "each key once", found: "'\(key)' twice")
                }
                let place = "storage '\(key)' at byte \(p)"
                guard all.count - p >= 8 else {
                    throw WeightFileError(.malformed, path: path, place: place, expected: "an 8-byte element count", found: "the end of the file (truncated)")
                }
                let count = Int64(littleEndian: all.loadUnaligned(fromByteOffset: p, as: Int64.self))
                guard count == Int64(s.count) else {
                    throw WeightFileError(.malformed, path: path, place: place, expected: "\(s.count) elements (as the pickle declares)", found: "\(count)")
                }
                let (bytes, overflow) = s.count.multipliedReportingOverflow(by: s.dtype.byteSize)
                guard !overflow, bytes <= all.count - p - 8 else {
                    throw WeightFileError(.malformed, path: path, place: place, expected: "\(s.count) × \(s.dtype.rawValue) bytes of data", found: "\(all.count - p - 8) to the end of the file (truncated)")
                }
                offsets[key] = p + 8
                p += 8 + bytes
            }
            if let missing = roots.keys.sorted().first(where: { offsets[$0] == nil }) {
                throw WeightFileError(.malformed, path: path, place: "storage key pickle at byte \(afterObject)",
                                      expected: "storage '\(missing)' (used by a tensor) in the list", found: "it missing")
            }
            guard p == all.count else {
                throw WeightFileError(.malformed, path: path, place: "byte \(p)", expected: "the end of the file after the last storage",
                                      found: "\(all.count - p) more bytes")
            }
            let entries = try PyTorchCheckpoint.entries(root, limits: limits, path: path, place: "object pickle")
            var located: [(entry: PyTorchTensorEntry, info: TensorInfo, member: String, offset: Int, byteCount: Int)] = []
            for e in entries {
                let s = e.tensor.storage
                guard let base = offsets[s.key] else { continue }  // every root key was checked above
                let es = s.dtype.byteSize
                let start = base + (s.view?.offset ?? 0) * es
                let bytes = (s.view?.count ?? s.count) * es
                let info = PyTorchNames.info(name: e.name, shape: e.tensor.shape, dtype: e.tensor.dtype, byteOrder: .little,
                                             layout: layout("legacy", e), optimizer: e.optimizer)
                located.append((e, info, "", start, bytes))
            }
            return PyTorchTensorStore(path: path, format: .pytorchLegacy, limits: limits, source: .file(file), entries: located)
        }
    }
}
