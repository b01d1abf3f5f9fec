import Foundation
import XCTest
@testable import WeightFiles

final class FileDigestTests: XCTestCase {
    /// Expected values from Python's hashlib.sha256.
    func testFixtureDigests() throws {
        XCTAssertEqual(try FileDigest.sha256(path: Fixtures.path("npy/f32_2x3_v1.npy")),
                       "4e82637681c04da419c6342100cfaf2f6e18bf3a68337eec9c435f65954bb619")
        XCTAssertEqual(try FileDigest.sha256(path: Fixtures.path("safetensors/mlp_f32.safetensors")),
                       "9ed24afb3077b2f0d582e4bea346c798530de21a280901ee4c02a59f3b51dc49")
    }

    func testEmptyAndMultiChunkFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("digest-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let empty = dir.appendingPathComponent("empty.bin")
        try Data().write(to: empty)
        XCTAssertEqual(try FileDigest.sha256(path: empty.path),
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        // 5 MiB + 3 bytes, i mod 251: spans several read chunks and ends mid-chunk.
        let big = dir.appendingPathComponent("big.bin")
        try Data((0..<(5 * 1024 * 1024 + 3)).map { UInt8($0 % 251) }).write(to: big)
        XCTAssertEqual(try FileDigest.sha256(path: big.path),
                       "8c777ac1fb03e07e1bb1f050cbf6dc4d752063e272c95e76fca894c76a671b9a")
    }

    func testErrors() {
        ReaderReference.assertThrows(.missing, naming: "nothing-here.bin") {
            _ = try FileDigest.sha256(path: Fixtures.path("nothing-here.bin"))
        }
        ReaderReference.assertThrows(.unreadable, naming: "fixtures") { _ = try FileDigest.sha256(path: Fixtures.path("")) }
    }
}
