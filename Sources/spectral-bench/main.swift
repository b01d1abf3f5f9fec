// spectral-bench: times the spectral paths of LinearAlgebra on a raw matrix file.
// Usage: spectral-bench FILE ROWS COLS f32|f64 [--repeat N] [--paths gram,gesdd,norm,topk] [--k K]
// Prints one JSON object per path on stdout (best wall time of N runs). Driven by
// bench/bench_spectra.py; never part of the test suite.
import Audit
import Foundation
import LinearAlgebra

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("spectral-bench: \(message)\n".utf8))
    exit(2)
}

var args = Array(CommandLine.arguments.dropFirst())
if args.first == "--transformer-slq" { runTransformerSLQ(Array(args.dropFirst())) }
guard args.count >= 4, let rows = Int(args[1]), let cols = Int(args[2]), ["f32", "f64"].contains(args[3]) else {
    fail("usage: spectral-bench FILE ROWS COLS f32|f64 [--repeat N] [--paths gram,gesdd,norm,topk] [--k K]")
}
let path = args[0], dtype = args[3]
var repeatCount = 3
var paths = ["gram", "gesdd", "norm", "topk"]
var k = 10
var i = 4
while i < args.count {
    switch args[i] {
    case "--repeat": repeatCount = Int(args[i + 1]) ?? 3; i += 2
    case "--paths": paths = args[i + 1].split(separator: ",").map(String.init); i += 2
    case "--k": k = Int(args[i + 1]) ?? 10; i += 2
    default: fail("unknown argument \(args[i])")
    }
}

guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
let count = rows * cols
let values: [Double] = data.withUnsafeBytes { raw in
    if dtype == "f32" {
        guard raw.count == count * 4 else { fail("\(path): \(raw.count) bytes for \(rows)×\(cols) f32") }
        return (0..<count).map { Double(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))) }
    } else {
        guard raw.count == count * 8 else { fail("\(path): \(raw.count) bytes for \(rows)×\(cols) f64") }
        return (0..<count).map { Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self))) }
    }
}
let a = Matrix(rows: rows, cols: cols, storage: values)
FileHandle.standardError.write(Data("spectral-bench: \(BLASRuntime.summary), \(BLASThreads.current) thread(s)\n".utf8))

func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + 1e-9 * Double(t.tv_nsec)
}

@MainActor func timed(_ body: () throws -> SingularValueResult) rethrows -> (Double, SingularValueResult) {
    var best = Double.infinity
    var last: SingularValueResult? = nil
    for _ in 0..<max(1, repeatCount) {
        let t0 = now()
        last = try body()
        best = min(best, now() - t0)
    }
    return (best, last!)
}

var full: [String: [Double]] = [:]
@MainActor func emit(_ name: String, _ t: Double, _ r: SingularValueResult, extra: [String: Any] = [:]) {
    var o: [String: Any] = ["path": name, "seconds": t, "method": r.method.rawValue, "count": r.values.count,
                            "sigma1": r.values.first ?? 0, "core": BLASRuntime.coreName]
    if let s = r.values.last { o["sigma_last"] = s }
    if let tol = r.tolerance { o["tolerance"] = tol }
    if let c = r.certificate { o["certificate"] = c }
    if let it = r.iterations { o["iterations"] = it }
    for (key, v) in extra { o[key] = v }
    let json = try! JSONSerialization.data(withJSONObject: o, options: [.sortedKeys])
    print(String(decoding: json, as: UTF8.self))
}

do {
    for p in paths {
        switch p {
        case "gram":
            let (t, r) = try timed { try SVD.singularValues(a) }
            full["gram"] = r.values
            let m = Double(rows), n = Double(cols), q = min(m, n), big = max(m, n)
            let flops = big * q * q + 4.0 / 3.0 * q * q * q
            let metrics = SpectrumMetrics.compute(singularValues: r.values, rows: rows, cols: cols)
            emit("gram", t, r, extra: ["gflops": flops / t / 1e9, "flop_count": flops,
                                        "condition": metrics.condition ?? -1, "entropy": metrics.spectralEntropy ?? -1])
        case "gesdd":
            let (t, r) = try timed { try SVD.singularValues(a, method: .gesdd) }
            full["gesdd"] = r.values
            var extra: [String: Any] = [:]
            if let g = full["gram"], g.count == r.values.count, let s1 = r.values.first, s1 > 0 {
                extra["max_abs_diff_vs_gram_over_sigma1"] = zip(g, r.values).map { abs($0 - $1) }.max()! / s1
                extra["rel_diff_sigma_min_vs_gram"] = abs(g.last! - r.values.last!) / r.values.last!
            }
            emit("gesdd", t, r, extra: extra)
        case "norm":
            let (t, r) = try timed { try SVD.spectralNorm(a) }
            var extra: [String: Any] = [:]
            if let ref = full["gesdd"]?.first ?? full["gram"]?.first { extra["rel_err_vs_full"] = abs(r.values[0] - ref) / ref }
            emit("norm", t, r, extra: extra)
        case "topk":
            let (t, r) = try timed { try SVD.topK(a, k: k) }
            var extra: [String: Any] = ["k": k]
            if let ref = full["gesdd"] ?? full["gram"] {
                extra["max_rel_err_vs_full"] = zip(r.values, ref).map { abs($0 - $1) }.max()! / ref[0]
            }
            emit("topk", t, r, extra: extra)
        default:
            fail("unknown path \(p)")
        }
    }
} catch {
    fail("\(error)")
}
