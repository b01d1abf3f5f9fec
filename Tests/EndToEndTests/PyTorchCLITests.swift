import Foundation
import XCTest

/// `spectral-audit model.pt` audits like the same weights in safetensors: the CLI's JSON reports
/// of fixtures/pytorch/*.pt(h) (written by torch.save from the weights of
/// fixtures/models/*_torch.safetensors) agree with those of the safetensors files in every layer
/// metric and network figure to 1e-12 relative (the same float32 inputs through the same code:
/// only the reader differs).
final class PyTorchCLITests: XCTestCase {
    func report(_ args: [String]) throws -> [String: Any] {
        let r = try CLI.run(args + ["--no-progress", "--no-timestamps", "--json", "-"])
        XCTAssertEqual(r.status, 0, "\(args): \(r.stderr)")
        return try XCTUnwrap(JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any])
    }

    /// Every number under `a` equals the one under `b` (1e-12 relative); strings equal except
    /// the input's path, format, size and digest.
    func assertSameNumbers(_ a: Any?, _ b: Any?, _ at: String, count: inout Int) {
        switch (a, b) {
        case let (x as [String: Any], y as [String: Any]):
            XCTAssertEqual(Set(x.keys), Set(y.keys), at)
            for k in x.keys where !(at == "/input" && ["path", "format", "bytes", "sha256"].contains(k)) {
                assertSameNumbers(x[k], y[k], at + "/" + k, count: &count)
            }
        case let (x as [Any], y as [Any]):
            XCTAssertEqual(x.count, y.count, at)
            for (i, (u, v)) in zip(x, y).enumerated() { assertSameNumbers(u, v, "\(at)/\(i)", count: &count) }
        case let (x as NSNumber, y as NSNumber):
            if String(cString: x.objCType) == "c" || String(cString: y.objCType) == "c" {
                XCTAssertEqual(x.boolValue, y.boolValue, at)
                return
            }
            let u = x.doubleValue, v = y.doubleValue
            XCTAssertLessThanOrEqual(abs(u - v), 1e-12 * max(abs(u), abs(v)), "\(at): \(u) vs \(v)")
            count += 1
        default:
            XCTAssertEqual("\(String(describing: a))", "\(String(describing: b))", at)
        }
    }

    func testZipCheckpointAuditsLikeSafetensors() throws {
        let pairs: [([String], [String])] = [
            (["fixtures/pytorch/mlp.pt"], ["fixtures/models/mlp_torch.safetensors"]),
            (["fixtures/pytorch/mlp_legacy.pt"], ["fixtures/models/mlp_torch.safetensors"]),
            (["fixtures/pytorch/cnn_bn.pth", "--arch", "fixtures/examples/cnn_torch.arch.json"],
             ["fixtures/models/cnn_torch.safetensors", "--arch", "fixtures/examples/cnn_torch.arch.json"]),
            (["fixtures/pytorch/cnn_scripted.pt", "--arch", "fixtures/examples/cnn_torch.arch.json"],
             ["fixtures/models/cnn_torch.safetensors", "--arch", "fixtures/examples/cnn_torch.arch.json"]),
        ]
        for (pt, st) in pairs {
            let a = try report(pt), b = try report(st)
            var count = 0
            assertSameNumbers(a["layers"], b["layers"], "\(pt[0]) /layers", count: &count)
            assertSameNumbers(a["network"], b["network"], "\(pt[0]) /network", count: &count)
            assertSameNumbers(a["gmsi"], b["gmsi"], "\(pt[0]) /gmsi", count: &count)
            XCTAssertGreaterThan(count, 20, pt[0])
            XCTAssertNotNil(a["gmsi"] as? Double, pt[0])
        }
    }

    func testInspectListsTheCheckpoint() throws {
        let r = try CLI.run(["inspect", "fixtures/pytorch/tied.pt", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let listing = try XCTUnwrap(JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any])
        XCTAssertEqual(listing["format"] as? String, "pytorch")
        let tensors = try XCTUnwrap(listing["tensors"] as? [[String: Any]])
        XCTAssertEqual(tensors.map { $0["name"] as? String }, ["embed.weight", "hidden.weight", "hidden.bias"])
        XCTAssertEqual(tensors.first?["layout"] as? String, "zip+tied(decoder.weight)")
        for (file, format) in [("fixtures/pytorch/mlp_legacy.pt", "pytorch_legacy"), ("fixtures/pytorch/cnn_scripted.pt", "torchscript"),
                               ("fixtures/pytorch/sharded/pytorch_model.bin.index.json", "pytorch_sharded")] {
            let r = try CLI.run(["inspect", "--load-all", file, "--json"])
            XCTAssertEqual(r.status, 0, "\(file): \(r.stderr)")
            let l = try XCTUnwrap(JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any])
            XCTAssertEqual(l["format"] as? String, format, file)
        }
    }
}
