import Foundation
import XCTest

/// fixtures/hostile/: every file built to make a reader crash, hang, allocate without bound, run
/// code or touch other files (see fixtures/README-hostile.md and generate_hostile.py). Each case
/// must end with its expected exit code within 10 s and 1 GiB peak RSS; a refusal must be one
/// stderr line naming the file.
final class HostileCorpusTests: XCTestCase {
    static let folder = Binary.repoRoot.appendingPathComponent("fixtures/hostile")
    static let timeLimit = 10.0
    static let rssLimit = 1 << 30

    struct Expectation: Decodable {
        var exit: Int32
        var message: String
        var note: String?
        var args: [String]?
        /// An open, understood crash in a third-party library: the test accepts a signal (and
        /// says so); any other outcome must match `exit` as usual.
        var known: String?
        /// Why the case does not apply to an AddressSanitizer build (`make asan-hostile` sets
        /// SPECTRAL_AUDIT_ASAN=1); nil when it does.
        var notUnderASan: String?
    }

    static let binaryIsASan = ProcessInfo.processInfo.environment["SPECTRAL_AUDIT_ASAN"] == "1"

    func loadExpectations() throws -> [String: Expectation] {
        let data = try Data(contentsOf: Self.folder.appendingPathComponent("expected.json"))
        return try JSONDecoder().decode([String: Expectation].self, from: data)
    }

    /// Fixture paths in `args` (`{file}`, `fixtures/...`) made absolute: the child runs elsewhere.
    /// An audit gets `--no-progress`; `inspect` has no progress bar.
    func arguments(for name: String, _ e: Expectation) -> [String] {
        let file = Self.folder.appendingPathComponent(name).path
        let args = (e.args ?? ["{file}"]).map { a in
            if a == "{file}" { return file }
            if a.hasPrefix("fixtures/") { return Binary.repoRoot.appendingPathComponent(a).path }
            return a
        }
        return args.first == "inspect" ? args : args + ["--no-progress"]
    }

    func testEveryHostileFileIsHandled() throws {
        let cases = try loadExpectations()
        XCTAssertGreaterThanOrEqual(cases.count, 30, "expected.json lost cases")
        let scratch = try ScratchFolder("hostile")
        // The child runs four folders deep so that `../../../..` member names would land inside
        // the scratch folder if anything were ever extracted.
        let cwd = scratch.url.appendingPathComponent("a/b/c/d")
        try FileManager.default.createDirectory(at: cwd, withIntermediateDirectories: true)
        var slowest = (name: "", seconds: 0.0), largest = (name: "", rss: 0)
        for (name, e) in cases.sorted(by: { $0.key < $1.key }) {
            if Self.binaryIsASan, let why = e.notUnderASan {
                print("SKIPPED under AddressSanitizer: \(name): \(why)")
                continue
            }
            let r = try Child.run([Binary.path] + arguments(for: name, e), cwd: cwd.path, timeout: Self.timeLimit)
            let tag = "\(name) (\(e.note ?? "")): \(r.summary)"
            if let known = e.known, r.signaled || r.stderr.contains("ERROR: AddressSanitizer"), !r.timedOut, r.seconds < Self.timeLimit, r.peakRSS < Self.rssLimit {
                print("KNOWN OPEN CRASH (\(known)): \(tag)")
                continue
            }
            XCTAssertFalse(r.timedOut, "timed out: \(tag)")
            XCTAssertFalse(r.signaled, "killed by a signal: \(tag)")
            XCTAssertEqual(r.status, e.exit, "exit code: \(tag)")
            XCTAssertLessThan(r.seconds, Self.timeLimit, "time: \(tag)")
            XCTAssertLessThan(r.peakRSS, Self.rssLimit, "peak RSS: \(tag)")
            if e.exit >= 2 {
                let shown = e.args == nil ? name : URL(fileURLWithPath: name).lastPathComponent
                XCTAssertEqual(r.stderrLines.count, 1, "one stderr line expected: \(tag)")
                XCTAssertTrue(r.stderr.contains(URL(fileURLWithPath: shown).lastPathComponent), "stderr must name the file: \(tag)")
                XCTAssertTrue(r.stderr.contains(e.message), "stderr must contain '\(e.message)': \(tag)")
            } else {
                XCTAssertTrue(r.stdout.contains(e.message), "stdout must contain '\(e.message)': \(tag)\nstdout: \(r.stdout.prefix(800))")
                XCTAssertTrue(r.stderr.isEmpty, "nothing on stderr expected: \(tag)")
            }
            if r.seconds > slowest.seconds { slowest = (name, r.seconds) }
            if r.peakRSS > largest.rss { largest = (name, r.peakRSS) }
        }
        // Nothing escaped from keras-path-traversal.keras (members named ../../.., /tmp/...).
        for leaked in ["/tmp/spectral-audit-traversal-marker", "/tmp/spectral-audit-traversal-marker-abs",
                       scratch.path + "/spectral-audit-traversal-marker-rel", scratch.path + "/a/b/spectral-audit-traversal-marker-rel",
                       "/tmp/spectral-audit-pwned"] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: leaked), "a zip member was written to \(leaked)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cwd.path), [], "the run left files in its folder")
        print("hostile corpus: \(cases.count) cases; slowest \(slowest.name) \(String(format: "%.2f", slowest.seconds)) s; "
              + "largest \(largest.name) \(largest.rss >> 20) MiB (binary \(Binary.path))")
    }

    /// Crash reproducers found by fuzzing (fixtures/hostile/fuzz/<target>/), fed to the CLI the
    /// way a user would hand them over. Each must end normally (never a signal) within bounds.
    func testFuzzReproducersThroughTheCLI() throws {
        let root = Self.folder.appendingPathComponent("fuzz")
        let fm = FileManager.default
        let scratch = try ScratchFolder("repro")
        let model = Binary.repoRoot.appendingPathComponent("fixtures/models/mlp.h5").path
        let torch = Binary.repoRoot.appendingPathComponent("fixtures/models/mlp_torch.safetensors").path
        let listed = Set(try loadExpectations().keys)  // checked more strictly by the corpus test
        var count = 0
        for target in ((try? fm.contentsOfDirectory(atPath: root.path)) ?? []).sorted() {
            let dir = root.appendingPathComponent(target)
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else { continue }
            for file in try fm.contentsOfDirectory(atPath: dir.path).sorted() {
                let input = dir.appendingPathComponent(file).path
                if listed.contains("fuzz/\(target)/\(file)") { continue }
                var argv: [String]
                switch target {
                case "npy", "npz", "safetensors", "hdf5", "pytorch", "onnx":
                    argv = [input]
                case "safetensors-index":
                    let d = scratch.url.appendingPathComponent("idx-\(count)")
                    try fm.createDirectory(at: d, withIntermediateDirectories: true)
                    try fm.copyItem(atPath: input, toPath: d.appendingPathComponent("model.safetensors.index.json").path)
                    argv = [d.appendingPathComponent("model.safetensors.index.json").path]
                case "policy":
                    argv = [model, "--policy", input]
                case "manifest":
                    argv = [torch, "--arch", input]
                default:
                    continue  // keras-config: replayed by `make fuzz-replay` (needs a zip around it)
                }
                count += 1
                let r = try Child.run([Binary.path] + argv + ["--no-progress", "--quiet"], cwd: scratch.path, timeout: Self.timeLimit)
                let tag = "\(target)/\(file): \(r.summary)"
                XCTAssertFalse(r.timedOut, "timed out: \(tag)")
                XCTAssertFalse(r.signaled, "killed by a signal: \(tag)")
                XCTAssertTrue([0, 1, 65, 66].contains(r.status), "exit code: \(tag)")
                XCTAssertLessThan(r.peakRSS, Self.rssLimit, "peak RSS: \(tag)")
                XCTAssertLessThanOrEqual(r.stderrLines.count, 1, "at most one stderr line: \(tag)")
            }
        }
        print("fuzz reproducers replayed through the CLI: \(count)")
    }
}
