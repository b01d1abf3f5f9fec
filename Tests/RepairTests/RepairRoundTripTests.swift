import Audit
import AuditReport
import Foundation
import HDF5Kit
import ReportWriters
import WeightFiles
import XCTest
import ZIPFoundation

/// `repair` writes every format it reads: the bound on the written file meets the target, the
/// replaced tensors hold exactly the repaired values, every other tensor and attribute is bit for
/// bit the input's, and the input is never modified.
final class RepairRoundTripTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func fixture(_ name: String) -> String {
        root.appendingPathComponent(name.contains("/") ? "fixtures/" + name : "fixtures/repair/" + name).path
    }

    func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("repair-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    /// Repairs `input` to `fraction` of its GMSI, writes OUT, and checks OUT.
    @discardableResult
    func roundTrip(_ name: String, arch: String? = nil, fraction: Double = 0.6, file: StaticString = #filePath,
                   line: UInt = #line) throws -> (outcome: RepairOutcome, out: String) {
        let input = Self.fixture(name)
        let original = try Data(contentsOf: URL(fileURLWithPath: input))
        var options = RepairOptions()
        options.audit.manifestPath = arch.map(Self.fixture)
        options.audit.jobs = 1
        let store = try ModelFile.open(input)
        let before = try Auditor.run(store: store, configuration: options.audit)
        let gmsi0 = try XCTUnwrap(before.gmsi, file: file, line: line)
        let target = fraction * gmsi0
        options.targetGMSI = target
        let outcome = try Repairer.run(store: store, options: options)
        XCTAssertLessThanOrEqual(outcome.report.gmsiAfter, target, file: file, line: line)
        XCTAssertEqual(outcome.report.gmsiBefore, gmsi0, accuracy: 1e-12 * gmsi0, file: file, line: line)
        XCTAssertFalse(outcome.replacements.isEmpty, file: file, line: line)

        let dir = try temporaryDirectory()
        // Same file name as the input: an .npy tensor is named after its file.
        let out = dir.appendingPathComponent(URL(fileURLWithPath: name).lastPathComponent).path
        try RepairedModelWriter.write(input: input, format: store.format, tensors: store.tensors,
                                      replacements: outcome.replacements, to: out, force: false)
        // The input is untouched.
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: input)), original, file: file, line: line)
        // OUT's own audit, from disk.
        var check = options.audit
        check.includeSpectra = false
        let audited = try Auditor.run(path: out, configuration: check)
        XCTAssertLessThanOrEqual(try XCTUnwrap(audited.gmsi), target, "\(name): OUT's audit", file: file, line: line)
        XCTAssertEqual(audited.input.format, store.format.rawValue, file: file, line: line)
        // Tensors: same list; unchanged ones bit-identical; replaced ones exactly the new values.
        let written = try ModelFile.open(out)
        XCTAssertEqual(written.tensors, store.tensors, file: file, line: line)
        XCTAssertEqual(written.architectureJSON, store.architectureJSON, file: file, line: line)
        for t in store.tensors {
            if let values = outcome.replacements[t.name] {
                XCTAssertEqual(try written.loadFloat64(t.name), values, "\(name): \(t.name)", file: file, line: line)
                XCTAssertNotEqual(try written.loadNativeBytes(t.name), try store.loadNativeBytes(t.name), file: file, line: line)
            } else {
                XCTAssertEqual(try written.loadNativeBytes(t.name), try store.loadNativeBytes(t.name),
                               "\(name): unchanged tensor \(t.name) differs", file: file, line: line)
            }
        }
        // An existing OUT is not replaced without force.
        XCTAssertThrowsError(try RepairedModelWriter.write(input: input, format: store.format, tensors: store.tensors,
                                                           replacements: outcome.replacements, to: out, force: false),
                             file: file, line: line) { XCTAssertTrue($0 is AtomicOutput.Failure) }
        return (outcome, out)
    }

    /// HDF5 attributes of every group and dataset, as strings (names and values).
    func attributes(_ path: String) throws -> [String: String] {
        let f = try HDF5File.openReadOnly(path: path)
        var out: [String: String] = [:]
        func visit(_ g: HDF5Group, _ prefix: String) throws {
            for name in try g.attributeNames() { out[prefix + "@" + name] = try describe(g, name) }
            for link in try g.links() {
                switch link.kind {
                case .group: try visit(try g.openGroup(link.name), prefix + "/" + link.name)
                case .dataset:
                    let d = try g.openDataset(link.name)
                    for name in try d.attributeNames() { out[prefix + "/" + link.name + "@" + name] = try describe(d, name) }
                default: continue
                }
            }
        }
        func describe(_ o: some HDF5Object, _ name: String) throws -> String {
            let (type, shape) = try o.attributeInfo(name)
            switch type.typeClass {
            case .string: return "\(shape) " + (try o.readStringsAttribute(name)).joined(separator: "\u{1}")
            case .integer, .float: return "\(type) \(shape) \(try o.readDoublesAttribute(name).map { $0.bitPattern })"
            default: return "\(type) \(shape)"
            }
        }
        try visit(try f.root, "")
        return out
    }

    func testKerasLegacyH5() throws {
        let (_, out) = try roundTrip("digits_cnn.h5")
        XCTAssertEqual(try attributes(out), try attributes(Self.fixture("digits_cnn.h5")))
    }

    func testKerasWeightsH5() throws {
        let (_, out) = try roundTrip("digits_cnn.weights.h5")
        XCTAssertEqual(try attributes(out), try attributes(Self.fixture("digits_cnn.weights.h5")))
    }

    func testKerasZip() throws {
        let (_, out) = try roundTrip("digits_cnn.keras")
        let a = try Archive(url: URL(fileURLWithPath: Self.fixture("digits_cnn.keras")), accessMode: .read)
        let b = try Archive(url: URL(fileURLWithPath: out), accessMode: .read)
        XCTAssertEqual(Array(a).map(\.path), Array(b).map(\.path))
        for (x, y) in zip(a, b) {
            XCTAssertEqual(x.isCompressed, y.isCompressed, x.path)
            if x.path != KerasZip.weightsMember {
                var dx = Data(), dy = Data()
                _ = try a.extract(x) { dx.append($0) }
                _ = try b.extract(y) { dy.append($0) }
                XCTAssertEqual(dx, dy, "member \(x.path) changed")
            }
        }
    }

    func testSafetensorsF32F16BF16() throws {
        for name in ["mlp_f32.safetensors", "mlp_f16.safetensors", "mlp_bf16.safetensors"] {
            let (_, out) = try roundTrip(name, arch: "mlp.arch.json")
            let a = try Data(contentsOf: URL(fileURLWithPath: Self.fixture(name)))
            let b = try Data(contentsOf: URL(fileURLWithPath: out))
            // Header (length field + JSON) byte-identical.
            let headerLength = Int(a.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
            XCTAssertEqual(a.prefix(8 + headerLength), b.prefix(8 + headerLength), name)
            XCTAssertEqual(a.count, b.count, name)
        }
    }

    func testNPZStoredAndDeflated() throws {
        for name in ["mlp_stored.npz", "mlp_deflated.npz"] {
            let (_, out) = try roundTrip(name, arch: "mlp.arch.json")
            let a = try Archive(url: URL(fileURLWithPath: Self.fixture(name)), accessMode: .read)
            let b = try Archive(url: URL(fileURLWithPath: out), accessMode: .read)
            XCTAssertEqual(Array(a).map(\.path), Array(b).map(\.path))
            XCTAssertEqual(Array(a).map(\.isCompressed), Array(b).map(\.isCompressed), name)
            XCTAssertEqual(Array(b).map(\.isCompressed).contains(true), name == "mlp_deflated.npz")
        }
    }

    func testNPYOrdersAndByteOrders() throws {
        for stem in ["dense_f32", "dense_f64_fortran", "dense_f32_be"] {
            let (_, out) = try roundTrip(stem + ".npy", arch: stem + ".arch.json")
            let a = try NPYTensorStore(path: Self.fixture(stem + ".npy")), b = try NPYTensorStore(path: out)
            XCTAssertEqual(a.header, b.header, stem)
            let bytesA = try Data(contentsOf: URL(fileURLWithPath: Self.fixture(stem + ".npy")))
            let bytesB = try Data(contentsOf: URL(fileURLWithPath: out))
            XCTAssertEqual(bytesA.prefix(a.header.dataOffset), bytesB.prefix(b.header.dataOffset), stem)
        }
    }

    /// Graphs with merges (residual add, concatenation; the budget is tightened until the
    /// recomputed bound meets the target), depthwise and grouped convolutions.
    func testResidualBranchesAndDepthwise() throws {
        let (resnet, _) = try roundTrip("models/resnet.h5")
        XCTAssertFalse(resnet.report.notes.isEmpty)
        let (branches, _) = try roundTrip("models/branches.keras")
        XCTAssertGreaterThan(branches.report.rounds, 1)
        let (depthwise, _) = try roundTrip("models/depthwise.h5")
        XCTAssertTrue(depthwise.report.layers.contains { $0.layer == "gconv" && $0.method != "unchanged" })
    }

    /// A tensor large enough for the audit's streamed path (it reads safetensors data straight
    /// from the file): the repair must judge its candidates on the repaired values, and the
    /// written file's streamed audit must meet the target.
    func testLargeSafetensorsTensorTakesTheStreamedPathOnlyOnTheWrittenFile() throws {
        let dir = try temporaryDirectory()
        let n = 512
        var rng = RepairAllocationTests.Rng(s: 3)
        let values = (0..<(n * n)).map { _ in Float(rng.normal()) }
        var header = Array("{\"w\":{\"dtype\":\"F32\",\"shape\":[\(n),\(n)],\"data_offsets\":[0,\(n * n * 4)]}}".utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var bytes = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) } + header
        values.withUnsafeBytes { bytes += $0 }
        let input = dir.appendingPathComponent("big.safetensors").path
        try Data(bytes).write(to: URL(fileURLWithPath: input))
        let arch = dir.appendingPathComponent("big.arch.json").path
        try Data("""
        {"schema": "spectral-audit-arch/1", "input_shape": [\(n)],
         "layers": [{"name": "w", "type": "dense", "weight": "w", "orientation": "out_in"}], "outputs": ["w"]}
        """.utf8).write(to: URL(fileURLWithPath: arch))
        var options = RepairOptions()
        options.audit.manifestPath = arch
        let store = try ModelFile.open(input)
        let gmsi0 = try XCTUnwrap(try Auditor.run(store: store, configuration: options.audit).gmsi)
        options.targetGMSI = gmsi0 / 2
        let outcome = try Repairer.run(store: store, options: options)
        let out = dir.appendingPathComponent("out").appendingPathComponent("big.safetensors").path
        try FileManager.default.createDirectory(atPath: (out as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try RepairedModelWriter.write(input: input, format: store.format, tensors: store.tensors,
                                      replacements: outcome.replacements, to: out, force: false)
        let audited = try Auditor.run(path: out, configuration: options.audit)
        XCTAssertLessThanOrEqual(try XCTUnwrap(audited.gmsi), gmsi0 / 2)
        XCTAssertEqual(try XCTUnwrap(audited.gmsi), gmsi0 / 2, accuracy: 1e-6 * gmsi0)
    }

    /// The writers carry over zip members the readers skip: under the same bomb limits, refused as
    /// a malformed input (not inflated, and no output left behind).
    func testZipBombInASkippedMemberIsRefused() throws {
        let dir = try temporaryDirectory()
        // A .keras whose unread member is a zip bomb: every member of every zip is checked.
        let input = dir.appendingPathComponent("bomb.keras")
        let source = try Archive(url: URL(fileURLWithPath: Self.fixture("digits_cnn.keras")), accessMode: .read)
        let archive = try Archive(url: input, accessMode: .create)
        for entry in source {
            var d = Data()
            _ = try source.extract(entry) { d.append($0) }
            try archive.addEntry(with: entry.path, type: .file, uncompressedSize: Int64(d.count)) { p, n in d.subdata(in: Int(p)..<Int(p) + n) }
        }
        let zeros = Data(count: 32 << 20)
        try archive.addEntry(with: "junk.bin", type: .file, uncompressedSize: Int64(zeros.count), compressionMethod: .deflate) { p, n in
            zeros.subdata(in: Int(p)..<Int(p) + n)
        }
        let junk = try XCTUnwrap(Archive(url: input, accessMode: .read)["junk.bin"])
        XCTAssertGreaterThan(junk.uncompressedSize / junk.compressedSize, 1000)
        // Every zip's whole directory is read strictly before ZIPFoundation sees it
        // (ZIPDirectory+Gate), so the bomb is refused when the model is opened, before any repair.
        XCTAssertThrowsError(try ModelFile.open(input.path)) {
            XCTAssertEqual(($0 as? WeightFileError)?.kind, .limitExceeded, "\($0)")
        }
        let out = dir.appendingPathComponent("out.keras").path
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    /// `--max-sigma`: every layer's factor ends at most at its cap; layers below it are untouched.
    func testMaxSigmaCaps() throws {
        var options = RepairOptions()
        options.audit.manifestPath = Self.fixture("mlp.arch.json")
        options.maxSigma = 2.5
        options.layerMaxSigma = ["fc3": 1.5]
        let store = try ModelFile.open(Self.fixture("mlp_f32.safetensors"))
        let outcome = try Repairer.run(store: store, options: options)
        for l in outcome.report.layers {
            let cap = l.layer == "fc3" ? 1.5 : 2.5
            XCTAssertLessThanOrEqual(l.sigmaAfter, cap, l.layer)
            if l.sigmaBefore <= cap { XCTAssertEqual(l.method, "unchanged") } else { XCTAssertEqual(l.sigmaAfter, cap, accuracy: 1e-5 * cap) }
        }
    }
}
