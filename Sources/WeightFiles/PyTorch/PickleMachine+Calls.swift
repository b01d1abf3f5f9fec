/// What REDUCE, NEWOBJ, BUILD and BINPERSID do with the allowed GLOBALs: each builds a record
/// (`PickleValue`); nothing is looked up or run by name.
extension PickleMachine {
    /// REDUCE `g(*args)`.
    func call(_ g: PickleGlobal, _ args: [PickleValue]) throws -> PickleValue {
        switch g {
        case .orderedDict, .counter:
            let d = try dict(ordered: true)
            if let first = args.first {
                // OrderedDict(iterable of pairs)
                guard args.count == 1, let pairs = first.sequence else { throw error(expected: "no argument or a list of pairs for \(g.name)", found: "\(args.count) arguments") }
                for pair in pairs {
                    guard let kv = pair.sequence, kv.count == 2 else { throw error(expected: "(key, value) pairs for \(g.name)", found: pair.typeName) }
                    d.set(kv[0], kv[1])
                }
            }
            return .dict(d)
        case .rebuildTensor(let version):
            return .tensor(try rebuildTensor(version, args))
        case .rebuildParameter(let withState):
            guard args.count == (withState ? 4 : 3), case .tensor(let t) = args[0] else {
                throw error(expected: "(tensor, requires_grad, backward_hooks\(withState ? ", state" : "")) for \(g.name)",
                            found: "\(args.count) arguments" + (args.first.map { " starting with \($0.typeName)" } ?? ""))
            }
            return .tensor(t)
        case .parameter:
            return try newObject(g, args)
        case .rebuildFromType:
            // (func, new_type, args, state): the tensor func builds, when new_type is a plain tensor type.
            guard args.count == 4, case .global(let f) = args[0], case .global(let type) = args[1], let inner = args[2].sequence else {
                throw error(expected: "(function, type, arguments, state) for \(g.name)", found: "\(args.count) arguments")
            }
            switch type {
            case .tensorClass, .parameter: break
            default: throw error(.unsupported, detail: "\(g.name) with type \(type.name) (a tensor subclass) is not read")
            }
            if case .rebuildFromType = f { throw error(expected: "a tensor rebuild function inside \(g.name)", found: f.name) }
            return try call(f, inner)
        case .size:
            guard args.count == 1, let dims = args[0].sequence else { throw error(expected: "one tuple of dimensions for torch.Size", found: "\(args.count) arguments") }
            return .tuple(try box(dims))
        case .device:
            guard (1...2).contains(args.count), args[0].stringValue != nil else { throw error(expected: "a device name for torch.device", found: "\(args.count) arguments") }
            return .opaque("torch.device")
        case .codecsEncode:
            guard args.count == 2, case .string(let s) = args[0] else { throw error(expected: "(str, encoding) for _codecs.encode", found: "\(args.count) arguments") }
            var out: [UInt8] = []
            for u in s.unicodeScalars {
                guard u.value < 256 else { throw error(expected: "latin-1 text for _codecs.encode", found: "U+\(String(u.value, radix: 16))") }
                out.append(UInt8(u.value))
            }
            return .bytes(out)
        case .bytearray:
            if args.isEmpty { return .bytes([]) }
            guard args.count == 1, case .bytes(let b) = args[0] else { throw error(expected: "bytes for builtins.bytearray", found: args.first?.typeName ?? "nothing") }
            return .bytes(b)
        case .set:
            if args.isEmpty { return .set(try box([])) }
            guard args.count == 1, let items = args[0].sequence else { throw error(expected: "a list for builtins.set", found: args.first?.typeName ?? "nothing") }
            return .set(try box(items))
        case .complex:
            return .opaque("complex")
        case .scriptHelper(let name):
            switch name {
            case "restore_type_tag":
                guard args.count == 2 else { throw error(expected: "(value, type) for \(g.name)", found: "\(args.count) arguments") }
                return args[0]
            default:
                guard args.count == 1, case .list = args[0] else { throw error(expected: "a list for \(g.name)", found: args.first?.typeName ?? "nothing") }
                return args[0]
            }
        case .notRead(let name, let why):
            throw error(.unsupported, detail: "\(name) (\(why)) is not read by spectral-audit")
        case .tensorClass, .dtype, .storageType, .scriptClass:
            throw error(.unsupported, detail: "calling \(g.name) is not read by spectral-audit")
        }
    }

    /// NEWOBJ `cls.__new__(cls, *args)`.
    func newObject(_ g: PickleGlobal, _ args: [PickleValue]) throws -> PickleValue {
        switch g {
        case .parameter:
            guard (1...2).contains(args.count), case .tensor(let t) = args[0] else {
                throw error(expected: "(tensor[, requires_grad]) for torch.nn.parameter.Parameter", found: args.first?.typeName ?? "no arguments")
            }
            return .tensor(t)
        case .scriptClass(let name):
            guard args.isEmpty else { throw error(expected: "no arguments for NEWOBJ of \(name)", found: "\(args.count)") }
            return .object(try object(name))
        case .orderedDict, .counter:
            return .dict(try dict(ordered: true))
        case .set:
            return .set(try box([]))
        case .notRead(let name, let why):
            throw error(.unsupported, detail: "\(name) (\(why)) is not read by spectral-audit")
        default:
            throw error(.unsupported, detail: "NEWOBJ of \(g.name) is not read by spectral-audit")
        }
    }

    /// BUILD: state for a tensor/Parameter (ignored: hooks, requires_grad), an OrderedDict's
    /// attributes (ignored: `_metadata`), or a TorchScript object's attributes (kept).
    func build(_ inst: PickleValue, _ state: PickleValue) throws {
        switch inst {
        case .tensor:
            return
        case .dict(let d) where d.ordered:
            return
        case .object(let o):
            o.state = state
        default:
            throw refuse("BUILD on \(inst.typeName) (only tensors, collections.OrderedDict and TorchScript objects)")
        }
    }

    /// BINPERSID: a storage, `('storage', type, key, location, numel[, view])`.
    func persistentStorage(_ pid: PickleValue) throws -> PickleStorage {
        guard persistentIDs != .none else { throw refuse("a persistent id here") }
        guard case .tuple(let t) = pid, let tag = t.items.first?.stringValue, tag == "storage" else {
            throw refuse("persistent id \(pid.sequence?.first?.stringValue.map { "'\(PickleMachine.shown($0))'" } ?? pid.typeName) (only storages)")
        }
        let items = t.items
        let arity = persistentIDs == .zip ? 5 : 6
        guard items.count == arity else {
            throw error(expected: "a storage persistent id of \(arity) items", found: "\(items.count) items")
        }
        guard case .global(let type) = items[1], case .storageType(let typeName, let dtypeOrNil) = type else {
            throw error(expected: "a storage class in the persistent id", found: items[1].typeName)
        }
        guard let dtype = dtypeOrNil else {
            throw error(.unsupported, detail: "storage class \(typeName) is not read by spectral-audit")
        }
        guard let key = items[2].stringValue, PickleMachine.isPlainKey(key) else {
            throw error(expected: "a storage key of letters, digits, '_', '-' or '.' (at most 64)", found: items[2].stringValue.map { "'\(PickleMachine.shown($0))'" } ?? items[2].typeName)
        }
        guard let location = items[3].stringValue else { throw error(expected: "a location string in the persistent id", found: items[3].typeName) }
        guard let count = items[4].intValue, count >= 0 else {
            throw error(expected: "a non-negative element count in the persistent id", found: items[4].typeName)
        }
        var view: (key: String, offset: Int, count: Int)?
        if arity == 6, case .tuple(let v) = items[5] {
            guard v.items.count == 3, let vk = v.items[0].stringValue, PickleMachine.isPlainKey(vk),
                  let off = v.items[1].intValue, let len = v.items[2].intValue, off >= 0, len >= 0, off <= count, len <= count - off else {
                throw error(expected: "view metadata (key, offset, size) inside the \(count)-element root storage", found: "\(v.items.count) items")
            }
            view = (vk, off, len)
        } else if arity == 6, case .none = items[5] {
        } else if arity == 6 {
            throw error(expected: "None or view metadata in the persistent id", found: items[5].typeName)
        }
        let id = view?.key ?? key
        if let known = storages[id] {
            // Byte sizes compared without trapping on counts near 2^63 (a fuzz finding).
            let before = known.count.multipliedReportingOverflow(by: known.dtype.byteSize)
            let now = count.multipliedReportingOverflow(by: dtype.byteSize)
            let sameSize = (before.overflow || now.overflow) ? (known.count == count && known.dtype == dtype) : before.partialValue == now.partialValue
            guard known.key == key, sameSize, known.view?.offset == view?.offset,
                  known.view?.count == view?.count else {
                throw error(expected: "storage '\(id)' described as before (\(known.typeName), \(known.count) elements)",
                            found: "\(typeName), \(count) elements")
            }
            return known
        }
        guard storages.count < limits.maxMembers else { throw error(.limitExceeded, expected: "at most \(limits.maxMembers) storages (ReaderLimits.maxMembers)", found: "more") }
        try tally()
        let s = PickleStorage(key: key, dtype: dtype, typeName: typeName, location: location, count: count, view: view)
        storages[id] = s
        return s
    }

    static func isPlainKey(_ key: String) -> Bool {
        !key.isEmpty && key.utf8.count <= 64 && key != "." && key != ".."
            && key.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F || $0 == 0x2D || $0 == 0x2E }
    }

    /// `_rebuild_tensor(storage, offset, size, stride)`, `_v2(…, requires_grad, hooks[, metadata])`,
    /// `_v3(…, requires_grad, hooks, dtype[, metadata])`: checks the view lies inside its storage.
    func rebuildTensor(_ version: Int, _ args: [PickleValue]) throws -> PickleTensor {
        let name = PickleGlobal.rebuildTensor(version).name
        let arities: ClosedRange<Int> = version == 1 ? 4...4 : (version == 2 ? 6...7 : 7...8)
        guard arities.contains(args.count) else {
            throw error(expected: "\(arities.lowerBound == arities.upperBound ? "\(arities.lowerBound)" : "\(arities.lowerBound) or \(arities.upperBound)") arguments for \(name)", found: "\(args.count)")
        }
        guard case .storage(let storage) = args[0] else { throw error(expected: "a storage as the first argument of \(name)", found: args[0].typeName) }
        guard let offset = args[1].intValue, offset >= 0 else { throw error(expected: "a non-negative storage offset for \(name)", found: args[1].typeName) }
        let shape = try ints(args[2], what: "size", of: name)
        let strides = try ints(args[3], what: "stride", of: name)
        guard shape.count == strides.count else { throw error(expected: "as many strides as dimensions for \(name)", found: "size \(shape), stride \(strides)") }
        guard shape.count <= limits.maxRank else {
            throw error(.limitExceeded, expected: "at most \(limits.maxRank) dimensions (ReaderLimits.maxRank)", found: "\(shape.count)")
        }
        var dtype = storage.dtype
        if version == 3 {
            guard case .global(.dtype(let dname, let d)) = args[6] else { throw error(expected: "a dtype as the 7th argument of \(name)", found: args[6].typeName) }
            guard let d else { throw error(.unsupported, detail: "tensors of dtype torch.\(dname) are not read by spectral-audit") }
            guard storage.typeName.hasSuffix("UntypedStorage") || d == storage.dtype else {
                throw error(expected: "an untyped storage or one of dtype \(d.rawValue) for \(name)", found: storage.typeName)
            }
            dtype = d
        }
        guard CheckedSize.product(shape).flatMap({ CheckedSize.bytes(count: $0, elementSize: dtype.byteSize) }) != nil else {
            throw error(expected: "a tensor size that fits in 64 bits", found: "\(shape)")
        }
        // Elements of `dtype` the storage (or its legacy view) holds.
        let (storageBytes, tooLarge) = (storage.view?.count ?? storage.count).multipliedReportingOverflow(by: storage.dtype.byteSize)
        let capacity = tooLarge ? Int.max : storageBytes / dtype.byteSize
        if !shape.contains(0) {
            var last = offset
            for k in shape.indices {
                let (span, o1) = (shape[k] - 1).multipliedReportingOverflow(by: strides[k])
                let (sum, o2) = last.addingReportingOverflow(span)
                guard !o1, !o2 else { throw error(expected: "a view inside its storage", found: "size \(shape), stride \(strides) overflowing 64 bits") }
                last = sum
            }
            guard last < capacity else {
                throw error(expected: "a view inside storage '\(storage.view?.key ?? storage.key)' of \(capacity) elements",
                            found: "offset \(offset), size \(shape), stride \(strides) reaching element \(last)")
            }
        } else {
            guard offset <= capacity else { throw error(expected: "an offset inside storage '\(storage.key)' (\(capacity) elements)", found: "\(offset)") }
        }
        try tally()
        return PickleTensor(storage: storage, dtype: dtype, offset: offset, shape: shape, strides: strides)
    }

    private func ints(_ v: PickleValue, what: String, of name: String) throws -> [Int] {
        guard let items = v.sequence else { throw error(expected: "a tuple as the \(what) of \(name)", found: v.typeName) }
        var out: [Int] = []
        out.reserveCapacity(items.count)
        for x in items {
            guard let i = x.intValue, i >= 0, !(x.isBool) else { throw error(expected: "non-negative integers in the \(what) of \(name)", found: x.typeName) }
            out.append(i)
        }
        return out
    }
}

extension PickleValue {
    var isBool: Bool { if case .bool = self { return true }; return false }
}
