import Foundation
import XCTest
@testable import WeightFiles

/// fixtures/pytorch/: files written by torch 2.13 (fixtures/generate_pytorch.py) and, in
/// reference.json, what `torch.load(weights_only=True)` returns for each: every tensor's name (in
/// order), shape, dtype and exact little-endian bytes. Bit-exact comparison.
final class PyTorchReaderTests: XCTestCase {
    struct Reference: Decodable {
        struct Tensor: Decodable {
            var shape: [Int]
            var dtype: String
            var hex: String
            var aliases: [String]
        }
        struct File: Decodable {
            var tensors: [String: Tensor]
            var order: [String]
        }
        var files: [String: File]
    }

    static let expectedFormats: [String: ModelFormat] = [
        "mlp.pt": .pytorch, "cnn_bn.pth": .pytorch, "mlp_legacy.pt": .pytorchLegacy, "cnn_bn_legacy.pth": .pytorchLegacy,
        "nested.pt": .pytorch, "tied.pt": .pytorch, "strided.pt": .pytorch, "strided_legacy.pt": .pytorchLegacy,
        "dtypes.pt": .pytorch, "parameters.pt": .pytorch, "cnn_scripted.pt": .torchscript, "traced_constant.pt": .torchscript,
        "sharded/pytorch_model.bin.index.json": .pytorchSharded, "mlp_bigendian.pt": .pytorch, "mlp_zip64_deflated.pt": .pytorch,
    ]

    func reference() throws -> Reference {
        try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("pytorch/reference.json"))))
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// Native bytes are little-endian on every machine this runs on; the reference is little-endian.
    func testEveryTensorEqualsWhatTorchLoads() throws {
        XCTAssertEqual(ByteOrder.native, .little)
        let ref = try reference()
        XCTAssertEqual(Set(ref.files.keys), Set(Self.expectedFormats.keys))
        var checked = 0
        for (file, expected) in ref.files.sorted(by: { $0.key < $1.key }) {
            let store = try ModelFile.open(Fixtures.path("pytorch/" + file))
            XCTAssertEqual(store.format, Self.expectedFormats[file], file)
            XCTAssertEqual(store.tensors.map(\.name), expected.order, "\(file): names in order")
            for t in store.tensors {
                guard let r = expected.tensors[t.name] else { XCTFail("\(file): unexpected \(t.name)"); continue }
                XCTAssertEqual(t.shape, r.shape, "\(file) \(t.name)")
                XCTAssertEqual(t.dtype.rawValue, r.dtype, "\(file) \(t.name)")
                XCTAssertEqual(Self.hex(try store.loadNativeBytes(t.name)), r.hex, "\(file) \(t.name): bytes")
                if let pt = store as? PyTorchTensorStore {
                    XCTAssertEqual(pt.aliases[t.name] ?? [], r.aliases, "\(file) \(t.name): aliases")
                    for a in r.aliases { XCTAssertEqual(Self.hex(try store.loadNativeBytes(a)), r.hex, "\(file) alias \(a)") }
                }
                // The Float64 path agrees with the bytes for floating tensors.
                if t.dtype == .float32 {
                    let f = try store.loadFloat32(t.name), d = try store.loadFloat64(t.name)
                    let bits = f.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
                    XCTAssertEqual(Self.hex(bits), r.hex, "\(file) \(t.name): float32")
                    XCTAssertEqual(d, f.map(Double.init), "\(file) \(t.name): float64")
                }
                checked += 1
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 90)
    }

    func testRolesAndOrientationLikeSafetensorsFromPyTorch() throws {
        let pt = try ModelFile.open(Fixtures.path("pytorch/cnn_bn.pth"))
        let st = try ModelFile.open(Fixtures.path("models/cnn_torch.safetensors"))
        let byName = Dictionary(uniqueKeysWithValues: st.tensors.map { ($0.name, $0) })
        for t in pt.tensors {
            let s = try XCTUnwrap(byName[t.name], t.name)
            XCTAssertEqual(t.orientation, s.orientation, t.name)
            XCTAssertEqual(t.role, s.role, t.name)
            XCTAssertEqual(t.layer, s.layer, t.name)
            XCTAssertEqual(t.variable, s.variable, t.name)
            XCTAssertEqual(try pt.loadFloat64(t.name), try st.loadFloat64(t.name), t.name)
        }
        XCTAssertEqual(pt.tensors.count, st.tensors.count)
    }

    func testViewsAndTiesAreDescribedInTheLayout() throws {
        let store = try ModelFile.open(Fixtures.path("pytorch/strided.pt"))
        XCTAssertEqual(try store.info("transposed").layout, "zip+view(offset 0, strides [1, 10])")
        XCTAssertEqual(try store.info("base").layout, "zip")
        let tied = try ModelFile.open(Fixtures.path("pytorch/tied.pt"))
        XCTAssertEqual(try tied.info("embed.weight").layout, "zip+tied(decoder.weight)")
        XCTAssertFalse(tied.tensors.contains { $0.name == "decoder.weight" })
    }

    func testShardedIndexIsAuthoritativeAndConfined() throws {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("pt-shards-\(getpid())")
        try? fm.removeItem(at: dir)
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: dir) }
        let shard = "pytorch_model-00001-of-00002.bin"
        try fm.copyItem(atPath: Fixtures.path("pytorch/sharded/" + shard), toPath: dir.appendingPathComponent(shard).path)
        func index(_ map: [String: String]) throws -> String {
            let path = dir.appendingPathComponent("pytorch_model.bin.index.json").path
            try JSONSerialization.data(withJSONObject: ["metadata": [:], "weight_map": map]).write(to: URL(fileURLWithPath: path))
            return path
        }
        // A subset of the shard's tensors: only those are listed.
        let store = try ModelFile.open(try index(["conv1.weight": shard, "bn1.bias": shard]))
        XCTAssertEqual(store.format, .pytorchSharded)
        XCTAssertEqual(store.tensors.map(\.name), ["conv1.weight", "bn1.bias"])
        XCTAssertThrowsError(try store.loadFloat64("conv2.weight"))
        // A tensor the shard does not hold.
        XCTAssertThrowsError(try ModelFile.open(try index(["conv1.weight": shard, "logits.weight": shard]))) { e in
            XCTAssertTrue("\(e)".contains("no such tensor in that shard"), "\(e)")
        }
        // Shards outside the folder are refused before anything is opened.
        for bad in ["../" + shard, "/etc/passwd", "sub/" + shard, ".."] {
            XCTAssertThrowsError(try PyTorchShardedStore(indexPath: try index(["conv1.weight": bad]))) { e in
                XCTAssertTrue("\(e)".contains("a plain file name in the index's folder"), "\(bad): \(e)")
            }
        }
    }

    func testLegacyFileMustEndAfterItsLastStorage() throws {
        let fm = FileManager.default
        let path = fm.temporaryDirectory.appendingPathComponent("pt-legacy-trailing-\(getpid()).pt").path
        defer { try? fm.removeItem(atPath: path) }
        var bytes = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("pytorch/mlp_legacy.pt")))
        bytes.append(contentsOf: [1, 2, 3])
        try bytes.write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try ModelFile.open(path)) { e in
            XCTAssertTrue("\(e)".contains("the end of the file after the last storage"), "\(e)")
        }
    }

    // MARK: The pickle machine on hand-made pickles

    /// Runs a pickle; `body` sees the value before the machine empties its containers.
    func run(_ bytes: [UInt8], limits: ReaderLimits = ReaderLimits(), body: (PickleValue) throws -> Void = { _ in }) throws {
        let m = PickleMachine(path: "t.pkl", place: "pickle", limits: limits, persistentIDs: .zip, torchScript: false)
        defer { m.teardown() }
        try body(try bytes.withUnsafeBytes { try m.run($0).value })
    }

    func global(_ module: String, _ name: String) -> [UInt8] { [0x63] + Array("\(module)\n\(name)\n".utf8) }

    func assertRefused(_ bytes: [UInt8], _ fragment: String, limits: ReaderLimits = ReaderLimits(), file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try run(bytes, limits: limits), file: file, line: line) { e in
            XCTAssertTrue("\(e)".contains(fragment), "\(e)", file: file, line: line)
            XCTAssertFalse("\(e)".contains("\n"), file: file, line: line)
        }
    }

    func testForbiddenCallablesAreRefusedByName() {
        let call: [UInt8] = [0x55, 2] + Array("id".utf8) + [0x85, 0x52, 0x2E]  // ('id',) REDUCE STOP
        assertRefused([0x80, 2] + global("os", "system") + call, "GLOBAL os.system is not allowed")
        assertRefused([0x80, 2] + global("builtins", "eval") + call, "GLOBAL builtins.eval is not allowed")
        assertRefused([0x80, 2] + global("subprocess", "Popen") + call, "GLOBAL subprocess.Popen is not allowed")
        assertRefused([0x80, 2] + global("__builtin__", "getattr") + call, "GLOBAL builtins.getattr is not allowed")
        // STACK_GLOBAL (protocol 4) and INST name the callable although the opcodes are refused.
        let stackGlobal: [UInt8] = [0x80, 4, 0x8C, 2] + Array("os".utf8) + [0x8C, 6] + Array("system".utf8) + [0x93]
        assertRefused(stackGlobal, "opcode SHORT_BINUNICODE")
        let stackGlobal2: [UInt8] = [0x80, 2, 0x58, 2, 0, 0, 0] + Array("os".utf8) + [0x58, 6, 0, 0, 0] + Array("system".utf8) + [0x93]
        assertRefused(stackGlobal2, "STACK_GLOBAL os.system is not allowed")
        assertRefused([0x80, 2, 0x28] + [0x69] + Array("os\nsystem\n".utf8), "INST os.system is not allowed")
        // REDUCE of an allowed non-callable, BUILD on a plain dict, SETITEM on a list.
        assertRefused([0x80, 2, 0x4E, 0x29, 0x52, 0x2E], "REDUCE of None is not allowed")
        assertRefused([0x80, 2, 0x7D, 0x7D, 0x62, 0x2E], "BUILD on dict (only")
        assertRefused([0x80, 2, 0x5D, 0x4B, 1, 0x4B, 2, 0x73, 0x2E], "SETITEM on list (only")
        assertRefused([0x80, 2, 0x7D, 0x4B, 1, 0x61, 0x2E], "APPEND to dict (only")
        // Persistent ids other than storages.
        assertRefused([0x80, 2, 0x58, 6, 0, 0, 0] + Array("module".utf8) + [0x85, 0x51, 0x2E], "persistent id 'module'")
        // Allowed by torch, not read here.
        assertRefused([0x80, 2] + global("torch._utils", "_rebuild_qtensor") + [0x29, 0x52, 0x2E], "quantized tensors")
    }

    func testAllowedValuesBuild() throws {
        // OrderedDict() with two items, a float, a LONG1 and a torch.Size.
        var b: [UInt8] = [0x80, 2] + global("collections", "OrderedDict") + [0x29, 0x52, 0x28]
        b += [0x58, 1, 0, 0, 0, 0x61, 0x47] + withUnsafeBytes(of: (2.5).bitPattern.bigEndian, Array.init)
        b += [0x58, 1, 0, 0, 0, 0x62, 0x8A, 2, 0xFF, 0x7F]
        b += [0x58, 1, 0, 0, 0, 0x63] + global("torch", "Size") + [0x4B, 3, 0x4B, 4, 0x86, 0x85, 0x52]
        b += [0x75, 0x2E]
        try run(b) { v in
            guard case .dict(let d) = v else { return XCTFail("not a dict") }
            XCTAssertTrue(d.ordered)
            guard case .float(let a)? = d.value("a"), case .int(let l)? = d.value("b"), let size = d.value("c")?.sequence else {
                return XCTFail("values \(d.keys) \(d.values)")
            }
            XCTAssertEqual(a, 2.5)
            XCTAssertEqual(l, 32767)
            XCTAssertEqual(size.compactMap(\.intValue), [3, 4])
        }
        // LONG1 sign extension and 9-byte values.
        try run([0x80, 2, 0x8A, 1, 0xFF, 0x2E]) { v in
            guard case .int(let neg) = v else { return XCTFail("\(v)") }
            XCTAssertEqual(neg, -1)
        }
        try run([0x80, 2, 0x8A, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x2E]) { v in
            guard case .bigInt = v else { return XCTFail("\(v)") }
        }
    }

    func testCapsAndTruncation() {
        var small = ReaderLimits()
        small.maxPickleMemo = 4
        small.maxPickleStack = 50
        small.maxPickleStringBytes = 10
        var memo: [UInt8] = [0x80, 2, 0x4E]
        for i in 0..<10 { memo += [0x71, UInt8(i)] }
        assertRefused(memo + [0x2E], "ReaderLimits.maxPickleMemo", limits: small)
        assertRefused([0x80, 2] + [UInt8](repeating: 0x28, count: 100) + [0x2E], "ReaderLimits.maxPickleStack", limits: small)
        assertRefused([0x80, 2] + [UInt8](repeating: 0x4E, count: 100) + [0x2E], "ReaderLimits.maxPickleStack", limits: small)
        assertRefused([0x80, 2, 0x58, 0xFF, 0xFF, 0xFF, 0x7F], "ReaderLimits.maxPickleStringBytes", limits: small)
        assertRefused([0x80, 2, 0x58, 5, 0, 0, 0, 0x61], "truncated")
        assertRefused([0x80, 2, 0x4E], "truncated pickle")
        assertRefused([0x80, 2, 0x68, 9, 0x2E], "memo entry 9")
        assertRefused([0x80, 2, 0x74, 0x2E], "a MARK before TUPLE")
    }

    func testCyclesAndDeepNestingEndCleanly() throws {
        // L = []; L.append(L): a cycle, walked without looping.
        let cyclic: [UInt8] = [0x80, 2, 0x5D, 0x71, 0, 0x68, 0, 0x61, 0x2E]
        let m = PickleMachine(path: "t", place: "p", limits: ReaderLimits(), persistentIDs: .none, torchScript: false)
        let v = try cyclic.withUnsafeBytes { try m.run($0).value }
        XCTAssertEqual(try PyTorchCheckpoint.entries(v, limits: ReaderLimits(), path: "t", place: "p").count, 0)
        m.teardown()
        // 100,000 nested lists: the machine builds them (stack of 1), the walk refuses them.
        var deep: [UInt8] = [0x80, 2]
        for _ in 0..<100_000 { deep += [0x5D, 0x71, 0] }  // [] memo0 — each new list on the stack
        deep += [UInt8](repeating: 0x61, count: 99_999) + [0x2E]
        let m2 = PickleMachine(path: "t", place: "p", limits: ReaderLimits(), persistentIDs: .none, torchScript: false)
        defer { m2.teardown() }
        let nested = try deep.withUnsafeBytes { try m2.run($0).value }
        XCTAssertThrowsError(try PyTorchCheckpoint.entries(nested, limits: ReaderLimits(), path: "t", place: "p")) { e in
            XCTAssertTrue("\(e)".contains("ReaderLimits.maxPickleNesting"), "\(e)")
        }
    }
}
