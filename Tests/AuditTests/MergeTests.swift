import Foundation
import XCTest
@testable import Audit
import AuditReport

/// `--shard I/N` + `ReportMerge`: merging the partial reports of every shard gives the unsharded
/// report byte for byte; bad inputs are one-line errors.
final class MergeTests: XCTestCase {
    static let models = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/models")

    func audit(_ file: String, shard: ShardSpec? = nil) throws -> AuditReportV1 {
        var c = AuditConfiguration()
        c.timestamps = false
        c.jobs = 2
        c.shard = shard
        return try Auditor.run(path: Self.models.appendingPathComponent(file).path, configuration: c)
    }

    /// Partial reports as a file would hold them (encoded, decoded).
    func partials(_ file: String, count: Int) throws -> [AuditReportV1] {
        try (1...count).map { i in
            try AuditReportV1.decode(try audit(file, shard: ShardSpec(index: i, count: count)!).jsonData())
        }
    }

    func testMergedReportIsByteIdenticalToUnsharded() throws {
        for file in ["mlp.h5", "cnn.h5", "resnet.h5"] {
            let whole = try audit(file).jsonData()
            for n in [2, 3] {
                var parts = try partials(file, count: n)
                parts.reverse()  // order of the arguments does not matter
                let merged = try ReportMerge.merge(parts).jsonData()
                XCTAssertEqual(String(decoding: merged, as: UTF8.self), String(decoding: whole, as: UTF8.self), "\(file) N=\(n)")
            }
        }
    }

    func testEveryAnalysedLayerIsInExactlyOneShard() throws {
        let whole = try audit("resnet.h5")
        let parts = try partials("resnet.h5", count: 3)
        let analysed = whole.layers.filter { $0.status == .analyzed }.map(\.name)
        for name in analysed {
            let holders = parts.filter { $0.layers.contains { $0.name == name && $0.status == .analyzed } }
            XCTAssertEqual(holders.count, 1, name)
        }
        // Rows without analysis only in shard 1.
        let passive = Set(whole.layers.filter { $0.status == .skipped && $0.activation != nil && $0.metrics == nil }.map(\.name))
        for p in parts.dropFirst() { XCTAssertTrue(p.layers.allSatisfy { !passive.contains($0.name) }) }
        XCTAssertEqual(parts.map { $0.shard?.index }, [1, 2, 3])
        XCTAssertTrue(parts.allSatisfy { $0.checks.allSatisfy { $0.layer != nil } })
    }

    func testBadMergesAreOneLineErrors() throws {
        let cnn = try partials("cnn.h5", count: 3)
        let mlp = try partials("mlp.h5", count: 3)
        func message(_ reports: [AuditReportV1]) -> String? {
            do { _ = try ReportMerge.merge(reports); return nil } catch let e as ReportMergeError { return e.message } catch {
                return "unexpected \(error)"
            }
        }
        XCTAssertEqual(message([cnn[0], cnn[1]]), "missing shard 3/3")
        XCTAssertEqual(message([cnn[0], cnn[1], cnn[1], cnn[2]]), "shard 2/3 is given twice (report 2 and report 3)")
        XCTAssertTrue(message([cnn[0], mlp[1], cnn[2]])?.contains("different files") ?? false)
        XCTAssertTrue(message([try audit("cnn.h5")])?.contains("not a partial report") ?? false)
        let two = try partials("cnn.h5", count: 2)
        XCTAssertTrue(message([two[0], cnn[1]])?.contains("different shard counts") ?? false)
        for m in [message([cnn[0], cnn[1]]), message([cnn[0], mlp[1], cnn[2]])] { XCTAssertFalse(m?.contains("\n") ?? true) }
    }

    func testShardSpecParsing() {
        XCTAssertEqual(ShardSpec(argument: "2/3"), ShardSpec(index: 2, count: 3))
        for bad in ["0/3", "4/3", "1/0", "a/b", "1", "1/2/3", ""] { XCTAssertNil(ShardSpec(argument: bad), bad) }
        let names = (0..<10).map { "layer\($0)" }
        let owned = (1...3).map { ShardSpec(index: $0, count: 3)!.owned(names) }
        XCTAssertEqual(owned.reduce(0) { $0 + $1.count }, 10)
        XCTAssertEqual(owned.reduce(Set<String>()) { $0.union($1) }, Set(names))
    }
}
