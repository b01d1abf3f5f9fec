import Foundation
import XCTest

/// Output faults: a run that cannot write its outputs exits 73 with one stderr line, and an
/// interrupted or failing run never leaves a partial file under a final name nor a temporary
/// file in the output folder.
final class HostileFaultTests: XCTestCase {
    static let model = Binary.repoRoot.appendingPathComponent("fixtures/models/mlp.h5").path

    /// A safetensors MLP of `layers` dense layers `width`×`width` (weights and biases).
    static func writeModel(to path: String, layers: Int, width: Int) throws {
        var header = "{"
        var offset = 0
        var names: [(String, [Int])] = []
        for i in 0..<layers {
            names.append(("l\(i).weight", [width, width]))
            names.append(("l\(i).bias", [width]))
        }
        for (k, (name, shape)) in names.enumerated() {
            let bytes = shape.reduce(1, *) * 4
            header += "\"\(name)\":{\"dtype\":\"F32\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}"
            header += k == names.count - 1 ? "}" : ","
            offset += bytes
        }
        while (8 + header.utf8.count) % 8 != 0 { header += " " }
        var data = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: Array(header.utf8))
        var rng = SplitMix(seed: 7)
        for (_, shape) in names {
            let n = shape.reduce(1, *)
            var values = [Float](repeating: 0, count: n)
            let scale = Float(1.0 / Double(shape[0]).squareRoot())
            for j in 0..<n { values[j] = (Float(rng.next() % 2001) / 1000 - 1) * scale }
            values.withUnsafeBytes { data.append(contentsOf: $0) }
        }
        try data.write(to: URL(fileURLWithPath: path))
    }

    struct SplitMix {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    func assertOneLine73(_ r: ChildResult, naming path: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, 73, r.summary, file: file, line: line)
        XCTAssertEqual(r.stderrLines.count, 1, "one stderr line expected: \(r.summary)", file: file, line: line)
        XCTAssertTrue(r.stderr.contains(path), "stderr must name \(path): \(r.summary)", file: file, line: line)
    }

    func testMissingOutputFolderIs73() throws {
        let scratch = try ScratchFolder("nofolder")
        let out = scratch.path + "/does/not/exist/annotated.h5"
        let r = try Child.run([Binary.path, Self.model, "--output", out, "--quiet", "--no-progress"])
        assertOneLine73(r, naming: out)
        XCTAssertEqual(scratch.contents(), [])
        let json = scratch.path + "/missing/report.json"
        let j = try Child.run([Binary.path, Self.model, "--json", json, "--quiet", "--no-progress"])
        assertOneLine73(j, naming: json)
    }

    func testReadOnlyOutputFolderIs73() throws {
        let scratch = try ScratchFolder("readonly")
        let ro = scratch.url.appendingPathComponent("ro")
        try FileManager.default.createDirectory(at: ro, withIntermediateDirectories: true)
        let out = ro.path + "/annotated.h5"
        XCTAssertEqual(chmod(ro.path, 0o555), 0)
        defer { chmod(ro.path, 0o755) }
        var argv = [Binary.path, Self.model, "--output", out, "--quiet", "--no-progress"]
        if geteuid() == 0 {
            // root ignores permission bits: run the binary as `nobody`, which needs to read the
            // binary (and its folder chain) and the model; skip if this checkout denies that.
            guard FileManager.default.fileExists(atPath: "/usr/bin/setpriv") else {
                throw XCTSkip("running as root without setpriv(1): cannot make a folder read-only")
            }
            let probe = try Child.run(["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--",
                                       Binary.path, "--version"])
            guard probe.status == 0 else {
                throw XCTSkip("nobody cannot run \(Binary.path) here: \(probe.summary)")
            }
            let modelCopy = scratch.path + "/mlp.h5"
            try FileManager.default.copyItem(atPath: Self.model, toPath: modelCopy)
            chmod(modelCopy, 0o644)
            chmod(scratch.path, 0o755)
            argv = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--",
                    Binary.path, modelCopy, "--output", out, "--quiet", "--no-progress"]
        }
        let r = try Child.run(argv)
        assertOneLine73(r, naming: out)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: ro.path), [], "nothing may appear in the folder")
    }

    /// Disk full while writing the annotated HDF5 copy: RLIMIT_FSIZE makes writes past 32 KiB
    /// fail with EFBIG (SIGXFSZ ignored), as a full disk fails them with ENOSPC.
    func testDiskFullDuringAnnotatedHDF5WriteIs73AndLeavesNothing() throws {
        let scratch = try ScratchFolder("diskfull")
        let model = scratch.path + "/model.safetensors"
        try Self.writeModel(to: model, layers: 3, width: 128)  // ~200 KB of weights
        let outDir = scratch.url.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)
        let out = outDir.path + "/annotated.h5"
        let r = try Child.run(["/bin/sh", "-c", "ulimit -f 64; trap '' XFSZ; exec \"$@\"", "sh",
                               Binary.path, model, "--output", out, "--quiet", "--no-progress"], timeout: 60)
        assertOneLine73(r, naming: out)
        XCTAssertFalse(r.signaled, r.summary)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outDir.path), [],
                       "no final file and no temporary may remain: \(r.summary)")
        // Same limit, JSON report next to the annotated copy: neither may be left half-written.
        let json = outDir.path + "/report.json"
        let r2 = try Child.run(["/bin/sh", "-c", "ulimit -f 64; trap '' XFSZ; exec \"$@\"", "sh",
                                Binary.path, model, "--output", out, "--json", json, "--quiet", "--no-progress"], timeout: 60)
        XCTAssertEqual(r2.status, 73, r2.summary)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "partial annotated copy left: \(r2.summary)")
        for f in try FileManager.default.contentsOfDirectory(atPath: outDir.path) {
            XCTAssertFalse(f.contains(".tmp-"), "temporary file \(f) left: \(r2.summary)")
        }
    }

    /// SIGINT / SIGTERM during a run that writes outputs: exit 130 / 143, no partial output, no
    /// temporary file. Several delays, so that the signal lands in the analysis and (for the
    /// later ones) around the output write.
    func testInterruptedRunLeavesNoOutput() throws {
        let scratch = try ScratchFolder("signal")
        let model = scratch.path + "/model.safetensors"
        try Self.writeModel(to: model, layers: 8, width: 512)  // ~8 MB
        // How long a whole run takes here (debug vs release, ASan): signals are spread over it.
        let outDir = scratch.url.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)
        // The shorter of two runs, so that a loaded machine's one slow run does not place every
        // signal after the end of the (faster) runs that follow.
        var duration = Double.infinity
        for _ in 0..<2 {
            let full = try Child.run([Binary.path, model, "--output", outDir.path + "/full.h5", "--json", outDir.path + "/full.json",
                                      "--quiet", "--no-progress", "--force"], timeout: 120)
            XCTAssertTrue([0, 1].contains(full.status), full.summary)
            duration = min(duration, full.seconds)
        }
        try FileManager.default.removeItem(at: outDir)

        var landed = 0, completeOutputsAfterSignal = 0
        for (i, fraction) in [0.15, 0.5, 0.8, 0.95].enumerated() {
            for (sig, code) in [(SIGINT, Int32(130)), (SIGTERM, Int32(143))] {
                let dir = scratch.url.appendingPathComponent("run-\(i)-\(sig)")
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                let out = dir.path + "/annotated.h5", json = dir.path + "/report.json"
                let delay = duration * fraction
                let r = try Child.run([Binary.path, model, "--output", out, "--json", json, "--quiet", "--no-progress"],
                                      timeout: 120, signal: (sig, delay))
                let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
                // Whatever exists under a final name must be complete (outputs are renamed into
                // place only when fully written); nothing else may exist.
                for f in left {
                    XCTAssertTrue(["annotated.h5", "report.json"].contains(f), "stray file \(f) after signal \(sig) at \(delay) s: \(r.summary)")
                }
                if left.contains("report.json") {
                    let data = try Data(contentsOf: URL(fileURLWithPath: json))
                    XCTAssertNoThrow(try JSONSerialization.jsonObject(with: data), "report.json is not complete JSON")
                }
                if left.contains("annotated.h5") {
                    let check = try Child.run([Binary.path, "inspect", out], timeout: 60)
                    XCTAssertEqual(check.status, 0, "annotated.h5 is not a complete HDF5 file: \(check.summary)")
                }
                if r.status == code {
                    landed += 1
                    XCTAssertFalse(r.signaled, "must exit through the handler, not die: \(r.summary)")
                    if !left.isEmpty { completeOutputsAfterSignal += 1 }
                } else {
                    // The run finished before the signal: then both outputs are complete.
                    XCTAssertTrue([0, 1].contains(r.status), "signal \(sig) after \(delay) s: \(r.summary)")
                    XCTAssertEqual(left, ["annotated.h5", "report.json"], r.summary)
                }
            }
        }
        print("signals: \(landed) of 8 landed during a \(String(format: "%.2f", duration)) s run; "
              + "\(completeOutputsAfterSignal) of those found outputs already renamed into place (complete)")
        XCTAssertGreaterThanOrEqual(landed, 4, "too few signals landed during a run of \(duration) s")
    }
}
