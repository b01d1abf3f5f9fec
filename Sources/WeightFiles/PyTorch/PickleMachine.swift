/// A data-only pickle machine: interprets the opcodes torch's `weights_only` unpickler accepts
/// (protocol 2: PROTO, GLOBAL, REDUCE, NEWOBJ, BUILD, MARK, STOP, the tuple/list/dict/set builders,
/// APPEND(S), SETITEM(S), BININT/BININT1/BININT2, LONG1, BINFLOAT, BINUNICODE, SHORT_BINSTRING,
/// NONE/NEWTRUE/NEWFALSE, BINPUT/LONG_BINPUT, BINGET/LONG_BINGET, BINPERSID) and nothing else:
/// STACK_GLOBAL, INST, OBJ, EXT*, protocol 4 framing and every other opcode are refused, naming
/// the opcode (and the callable, for STACK_GLOBAL/INST). GLOBALs resolve through the fixed
/// allow-list of `PickleGlobal`; "calling" one (REDUCE, NEWOBJ) builds a record, never runs
/// anything. Persistent ids must be storages.
///
/// Caps (`ReaderLimits`): memo entries, stack plus mark-stack depth, values created, string and
/// bytes lengths; the pickle's own size is capped by the caller. Refusals are one-line
/// `WeightFileError`s placed at `<place> byte <offset>`.
final class PickleMachine {
    /// How persistent ids look: zip archives `('storage', type, key, location, numel)`, the
    /// legacy format adds view metadata; `.none` refuses any persistent id.
    enum PersistentIDs { case zip, legacy, none }

    let path: String
    let place: String
    let limits: ReaderLimits
    let persistentIDs: PersistentIDs
    let torchScript: Bool
    /// Storages by key, shared by every reference to the same key.
    var storages: [String: PickleStorage] = [:]
    /// Every container made, emptied by `teardown()`.
    private var boxes: [PickleBox] = []
    private var dicts: [PickleDict] = []
    private var objects: [PickleObject] = []
    private var created = 0

    private var stack: [PickleValue] = []
    private var marks: [[PickleValue]] = []
    private var markedCount = 0
    private var memo: [UInt32: PickleValue] = [:]
    private var opcodeOffset = 0

    init(path: String, place: String, limits: ReaderLimits, persistentIDs: PersistentIDs, torchScript: Bool) {
        self.path = path
        self.place = place
        self.limits = limits
        self.persistentIDs = persistentIDs
        self.torchScript = torchScript
    }

    deinit { teardown() }

    /// Empties every container (breaks cycles; keeps freeing flat).
    func teardown() {
        for b in boxes { b.items = [] }
        for d in dicts { d.removeAll() }
        for o in objects { o.state = .none }
        stack = []
        marks = []
        memo = [:]
    }

    // MARK: Errors

    func error(_ kind: WeightFileError.Kind = .malformed, expected: String? = nil, found: String? = nil,
               detail: String? = nil) -> WeightFileError {
        WeightFileError(kind, path: path, place: "\(place) byte \(opcodeOffset)", expected: expected, found: found, detail: detail)
    }

    func refuse(_ what: String) -> WeightFileError {
        error(detail: "\(what) is not allowed (spectral-audit reads pickles data-only: torch's weights_only names, no code)")
    }

    // MARK: Containers

    func tally() throws {
        created += 1
        guard created <= limits.maxPickleValues else {
            throw error(.limitExceeded, expected: "at most \(limits.maxPickleValues) pickle operations (ReaderLimits.maxPickleValues)", found: "more")
        }
    }

    func box(_ items: [PickleValue]) throws -> PickleBox {
        let b = PickleBox(items)
        boxes.append(b)
        return b
    }

    func dict(ordered: Bool) throws -> PickleDict {
        let d = PickleDict(ordered: ordered)
        dicts.append(d)
        return d
    }

    func object(_ className: String) throws -> PickleObject {
        let o = PickleObject(className: className)
        objects.append(o)
        return o
    }

    // MARK: Stack

    private func push(_ v: PickleValue) throws {
        guard stack.count + markedCount < limits.maxPickleStack else {
            throw error(.limitExceeded, expected: "a stack at most \(limits.maxPickleStack) deep (ReaderLimits.maxPickleStack)", found: "deeper")
        }
        stack.append(v)
    }

    private func pop(_ op: String) throws -> PickleValue {
        guard let v = stack.popLast() else { throw error(expected: "a value on the stack for \(op)", found: "an empty stack") }
        return v
    }

    private func popMark(_ op: String) throws -> [PickleValue] {
        guard let outer = marks.popLast() else { throw error(expected: "a MARK before \(op)", found: "none") }
        let items = stack
        markedCount -= outer.count
        stack = outer
        return items
    }

    // MARK: Running

    /// Runs the pickle starting at `start` of `bytes` up to its STOP; returns the value and the
    /// offset just past STOP. The machine can run several pickles in a row (the legacy format);
    /// memo and stack start empty each time, storages are shared.
    func run(_ bytes: UnsafeRawBufferPointer, start: Int = 0) throws -> (value: PickleValue, end: Int) {
        stack = []
        marks = []
        markedCount = 0
        memo = [:]
        var p = start
        let n = bytes.count
        func need(_ k: Int, _ op: PickleOpcode) throws {
            guard k <= n - p else {
                throw error(expected: "\(k) more bytes for \(op.name)", found: "the end of the pickle (truncated)")
            }
        }
        func u32() -> UInt32 { bytes.le(UInt32.self, at: p) }
        while true {
            opcodeOffset = p
            try tally()
            guard p < n else { throw error(expected: "a STOP opcode", found: "the end of the data (truncated pickle)") }
            let code = bytes[p]
            p += 1
            guard let op = PickleOpcode(rawValue: code), op.isAllowed else {
                throw try refusedOpcode(code, bytes: bytes, at: p)
            }
            switch op {
            case .proto:
                try need(1, op)
                guard bytes[p] <= 5 else { throw error(expected: "pickle protocol 0 to 5", found: "\(bytes[p])") }
                p += 1
            case .stop:
                let v = try pop("STOP")
                return (v, p)
            case .global:
                let module = try line(bytes, &p, op)
                let name = try line(bytes, &p, op)
                guard let g = PickleGlobal.resolve(module: module, name: name, torchScript: torchScript) else {
                    throw refuse("GLOBAL \(PickleMachine.shown(PickleGlobal.moduleRenames[module] ?? module)).\(PickleMachine.shown(name))")
                }
                try push(.global(g))
            case .mark:
                guard marks.count < limits.maxPickleStack, stack.count + markedCount < limits.maxPickleStack else {
                    throw error(.limitExceeded, expected: "a stack at most \(limits.maxPickleStack) deep (ReaderLimits.maxPickleStack)", found: "deeper")
                }
                marks.append(stack)
                markedCount += stack.count
                stack = []
            case .none: try push(.none)
            case .newTrue: try push(.bool(true))
            case .newFalse: try push(.bool(false))
            case .binInt:
                try need(4, op)
                try push(.int(Int(Int32(bitPattern: u32()))))
                p += 4
            case .binInt1:
                try need(1, op)
                try push(.int(Int(bytes[p])))
                p += 1
            case .binInt2:
                try need(2, op)
                try push(.int(Int(bytes.le(UInt16.self, at: p))))
                p += 2
            case .long1:
                try need(1, op)
                let k = Int(bytes[p])
                p += 1
                try need(k, op)
                try push(PickleMachine.long(bytes, at: p, count: k))
                p += k
            case .binFloat:
                try need(8, op)
                try push(.float(Double(bitPattern: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: p, as: UInt64.self)))))
                p += 8
            case .binUnicode:
                try need(4, op)
                let k = Int(u32())
                p += 4
                try checkLength(k, op)
                try need(k, op)
                guard let s = String(validating: UnsafeRawBufferPointer(rebasing: bytes[p..<(p + k)]), as: UTF8.self) else {
                    throw error(expected: "UTF-8 text in BINUNICODE", found: "invalid UTF-8")
                }
                try push(.string(s))
                p += k
            case .shortBinString:
                try need(1, op)
                let k = Int(bytes[p])
                p += 1
                try need(k, op)
                // Python 3 reads it as text in the pickle's encoding (torch: ASCII); latin-1 here.
                try push(.string(String(String.UnicodeScalarView(bytes[p..<(p + k)].map { Unicode.Scalar($0) }))))
                p += k
            case .emptyTuple: try push(.tuple(box([])))
            case .emptyList: try push(.list(box([])))
            case .emptyDict: try push(.dict(dict(ordered: false)))
            case .emptySet: try push(.set(box([])))
            case .tuple: try push(.tuple(box(popMark("TUPLE"))))
            case .tuple1:
                let a = try pop("TUPLE1")
                try push(.tuple(box([a])))
            case .tuple2:
                let b = try pop("TUPLE2"), a = try pop("TUPLE2")
                try push(.tuple(box([a, b])))
            case .tuple3:
                let c = try pop("TUPLE3"), b = try pop("TUPLE3"), a = try pop("TUPLE3")
                try push(.tuple(box([a, b, c])))
            case .append:
                let v = try pop("APPEND")
                try list(for: "APPEND").items.append(v)
            case .appends:
                let items = try popMark("APPENDS")
                let l = try list(for: "APPENDS")
                guard l.items.count + items.count <= limits.maxPickleValues else { throw error(.limitExceeded, expected: "at most \(limits.maxPickleValues) elements", found: "more") }
                l.items.append(contentsOf: items)
            case .setItem:
                let v = try pop("SETITEM"), k = try pop("SETITEM")
                try dictTarget("SETITEM").set(k, v)
            case .setItems:
                let items = try popMark("SETITEMS")
                guard items.count % 2 == 0 else { throw error(expected: "key/value pairs after MARK for SETITEMS", found: "\(items.count) values") }
                let d = try dictTarget("SETITEMS")
                for i in stride(from: 0, to: items.count, by: 2) { d.set(items[i], items[i + 1]) }
            case .binPut, .longBinPut:
                let k: UInt32
                if op == .binPut { try need(1, op); k = UInt32(bytes[p]); p += 1 } else { try need(4, op); k = u32(); p += 4 }
                guard let top = stack.last else { throw error(expected: "a value on the stack for \(op.name)", found: "an empty stack") }
                guard memo[k] != nil || memo.count < limits.maxPickleMemo else {
                    throw error(.limitExceeded, expected: "at most \(limits.maxPickleMemo) memo entries (ReaderLimits.maxPickleMemo)", found: "more")
                }
                memo[k] = top
            case .binGet, .longBinGet:
                let k: UInt32
                if op == .binGet { try need(1, op); k = UInt32(bytes[p]); p += 1 } else { try need(4, op); k = u32(); p += 4 }
                guard let v = memo[k] else { throw error(expected: "memo entry \(k) for \(op.name)", found: "none (never stored)") }
                try push(v)
            case .binPersID:
                let pid = try pop("BINPERSID")
                try push(.storage(persistentStorage(pid)))
            case .reduce:
                let args = try pop("REDUCE")
                let f = try pop("REDUCE")
                guard case .global(let g) = f else { throw refuse("REDUCE of \(f.typeName)") }
                guard case .tuple(let a) = args else { throw error(expected: "an argument tuple for REDUCE of \(g.name)", found: args.typeName) }
                try push(call(g, a.items))
            case .newObj:
                let args = try pop("NEWOBJ")
                let cls = try pop("NEWOBJ")
                guard case .global(let g) = cls else { throw refuse("NEWOBJ of \(cls.typeName)") }
                guard case .tuple(let a) = args else { throw error(expected: "an argument tuple for NEWOBJ of \(g.name)", found: args.typeName) }
                try push(newObject(g, a.items))
            case .build:
                let state = try pop("BUILD")
                guard let inst = stack.last else { throw error(expected: "an object under the state for BUILD", found: "an empty stack") }
                try build(inst, state)
            default:
                throw try refusedOpcode(code, bytes: bytes, at: p)
            }
        }
    }

    /// A text line of GLOBAL (module or name): up to 256 bytes of UTF-8 before `\n`.
    private func line(_ bytes: UnsafeRawBufferPointer, _ p: inout Int, _ op: PickleOpcode) throws -> String {
        let start = p
        let limit = min(bytes.count, start + 256)
        while p < limit, bytes[p] != 0x0A { p += 1 }
        guard p < limit else {
            throw error(expected: "a newline-terminated name of at most 256 bytes for \(op.name)", found: p >= bytes.count ? "the end of the pickle" : "a longer line")
        }
        let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<p])
        p += 1
        guard let s = String(validating: raw, as: UTF8.self) else { throw error(expected: "UTF-8 text in \(op.name)", found: "invalid UTF-8") }
        return s
    }

    private func checkLength(_ k: Int, _ op: PickleOpcode) throws {
        guard k <= limits.maxPickleStringBytes else {
            throw error(.limitExceeded, expected: "a \(op.name) of at most \(limits.maxPickleStringBytes) bytes (ReaderLimits.maxPickleStringBytes)", found: "\(k) bytes")
        }
    }

    /// LONG1: little-endian two's complement of `count` bytes.
    static func long(_ bytes: UnsafeRawBufferPointer, at p: Int, count k: Int) -> PickleValue {
        if k == 0 { return .int(0) }
        if k > 8 {
            // Fits in 64 bits only if the extra bytes are sign extension.
            let sign: UInt8 = bytes[p + k - 1] & 0x80 != 0 ? 0xFF : 0
            let top = bytes[p + 7] & 0x80 != 0 ? UInt8(0xFF) : 0
            guard (8..<k).allSatisfy({ bytes[p + $0] == sign }), sign == top else { return .bigInt(bytes: k) }
        }
        var u: UInt64 = 0
        for i in 0..<min(k, 8) { u |= UInt64(bytes[p + i]) << (8 * UInt64(i)) }
        if k < 8, bytes[p + k - 1] & 0x80 != 0 { u |= ~UInt64(0) << (8 * UInt64(k)) }
        return .int(Int(Int64(bitPattern: u)))
    }

    static func shown(_ s: String) -> String {
        String(s.prefix(80).map { $0.isASCII && ($0.isLetter || $0.isNumber || "._-<>/".contains($0)) ? $0 : "?" })
    }

    private func list(for op: String) throws -> PickleBox {
        guard let top = stack.last else { throw error(expected: "a list under the items for \(op)", found: "an empty stack") }
        guard case .list(let l) = top else { throw refuse("\(op) to \(top.typeName) (only lists)") }
        return l
    }

    private func dictTarget(_ op: String) throws -> PickleDict {
        guard let top = stack.last else { throw error(expected: "a dict under the items for \(op)", found: "an empty stack") }
        guard case .dict(let d) = top else { throw refuse("\(op) on \(top.typeName) (only dict, collections.OrderedDict, collections.Counter)") }
        guard d.count < limits.maxPickleValues else { throw error(.limitExceeded, expected: "at most \(limits.maxPickleValues) entries", found: "more") }
        return d
    }

    /// The error for an opcode outside the allow-list; for STACK_GLOBAL and INST it names the
    /// callable when the pickle spells it out.
    private func refusedOpcode(_ code: UInt8, bytes: UnsafeRawBufferPointer, at p: Int) throws -> WeightFileError {
        let op = PickleOpcode(rawValue: code)
        let label = op.map { "opcode \($0.name) (0x\(String(code, radix: 16)))" } ?? "unknown opcode 0x\(String(code, radix: 16))"
        switch op {
        case .stackGlobal?:
            if stack.count >= 2, case .string(let m) = stack[stack.count - 2], case .string(let n) = stack[stack.count - 1] {
                return refuse("STACK_GLOBAL \(PickleMachine.shown(m)).\(PickleMachine.shown(n))")
            }
        case .inst?:
            var q = p
            if let m = try? line(bytes, &q, .inst), let n = try? line(bytes, &q, .inst) {
                opcodeOffset = p - 1
                return refuse("INST \(PickleMachine.shown(m)).\(PickleMachine.shown(n))")
            }
        case .obj?:
            if let first = stack.first, case .global(let g) = first { return refuse("OBJ \(g.name)") }
        default:
            break
        }
        return refuse(label)
    }
}
