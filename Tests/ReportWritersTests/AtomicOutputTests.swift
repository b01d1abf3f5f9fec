import Foundation
import XCTest
@testable import ReportWriters

/// `AtomicOutput`: the final name only ever holds a complete file, and the private temporary
/// folder (`.NAME.tmp-PID-RANDOM`) never outlives a write, whether it succeeds or fails.
final class AtomicOutputTests: XCTestCase {
    private var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "atomic-output-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    private func leftovers() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") }
    }

    func testSuccessRenamesAndRemovesTheFolder() throws {
        let out = dir + "/report.json"
        var seen = ""
        try AtomicOutput.write(to: out) { tmp in
            seen = tmp
            // The writer works inside a private folder, under the output's own file name.
            XCTAssertEqual(URL(fileURLWithPath: tmp).lastPathComponent, "report.json")
            let folder = URL(fileURLWithPath: tmp).deletingLastPathComponent().path
            XCTAssertTrue(URL(fileURLWithPath: folder).lastPathComponent.hasPrefix(".report.json.tmp-"))
            XCTAssertTrue(AtomicOutput.inFlight.contains(folder))
            // A scratch file beside it (as the .keras repair writer makes) goes with the folder.
            try Data("scratch".utf8).write(to: URL(fileURLWithPath: tmp + ".scratch"))
            try Data("complete".utf8).write(to: URL(fileURLWithPath: tmp))
        }
        XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8), "complete")
        XCTAssertFalse(FileManager.default.fileExists(atPath: seen))
        XCTAssertEqual(try leftovers(), [])
        XCTAssertTrue(AtomicOutput.inFlight.isEmpty)
    }

    func testFailureLeavesNeitherOutputNorTemporary() throws {
        let out = dir + "/annotated.h5"
        struct Boom: Error {}
        XCTAssertThrowsError(try AtomicOutput.write(to: out) { tmp in
            try Data("partial".utf8).write(to: URL(fileURLWithPath: tmp))
            throw Boom()
        }) { XCTAssertTrue($0 is AtomicOutput.Failure) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        XCTAssertEqual(try leftovers(), [])
        XCTAssertTrue(AtomicOutput.inFlight.isEmpty)
    }

    func testExistingOutputSurvivesAFailedReplacement() throws {
        let out = dir + "/report.md"
        try Data("old".utf8).write(to: URL(fileURLWithPath: out))
        XCTAssertThrowsError(try AtomicOutput.write(to: out) { _ in throw AtomicOutput.Failure(path: out, reason: "x") })
        XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8), "old")
        XCTAssertEqual(try leftovers(), [])
    }

    func testUnwritableFolderIsOneClearFailure() throws {
        let out = dir + "/missing/report.json"
        XCTAssertThrowsError(try AtomicOutput.write(Data("x".utf8), to: out)) { error in
            XCTAssertTrue("\(error)".contains("cannot create temporary folder"), "\(error)")
        }
    }
}
