import XCTest

/// Issue 19 through the CLI: `--rnn-nonlinearity` on a plain PyTorch RNN (fixtures/recurrent,
/// torch float64 references in fixtures/recurrent/data/reference.json): relu reproduces torch's
/// relu-RNN Jacobian to 1e-6, the default is tanh and says so, and the flag's usage errors are
/// exit 2 with one line.
final class RecurrentCLITests: XCTestCase {
    func testRNNNonlinearityFlag() throws {
        let file = "fixtures/recurrent/rnn_torch_relu.safetensors", probes = "fixtures/recurrent/data/rnn_torch_relu_probes.npy"
        let ref = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "fixtures/recurrent/data/reference.json"))) as! [String: Any]
        let want = ((ref["files"] as! [String: Any])["rnn_torch_relu"] as! [String: Any])["jacobian_norm"] as! [Double]
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rnn-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for (phi, matches) in [("relu", true), ("tanh", false)] {
            let out = dir.appendingPathComponent("\(phi).json").path
            let r = try CLI.run([file, "--probe", probes, "--rnn-nonlinearity", phi, "--horizon", "5", "--json", out, "--quiet", "--no-timestamps"])
            XCTAssertTrue([0, 1].contains(r.status), r.stderr)
            let rep = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as! [String: Any]
            let got = ((rep["data"] as! [String: Any])["per_sample"] as! [String: Any])["jacobian_norm"] as! [Double]
            XCTAssertEqual(got.count, want.count)
            for (a, b) in zip(got, want) { XCTAssertEqual(abs(a - b) <= 1e-6 * b, matches, "\(phi): \(a) vs torch relu \(b)") }
            XCTAssertTrue((rep["assumptions"] as! [String]).contains { $0.contains("\(phi) as given by --rnn-nonlinearity") })
        }
        let text = try CLI.run([file, "--probe", probes, "--no-timestamps"])
        XCTAssertTrue([0, 1].contains(text.status), text.stderr)
        XCTAssertTrue(text.stdout.contains("tanh assumed"), text.stdout)
        for (args, words) in [([file, "--rnn-nonlinearity", "relu"], "--rnn-nonlinearity needs --probe"),
                              ([file, "--probe", probes, "--rnn-nonlinearity", "sigmoid"], "--rnn-nonlinearity must be tanh or relu")] {
            let r = try CLI.run(args)
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertTrue(r.stderr.contains(words), r.stderr)
        }
    }
}
