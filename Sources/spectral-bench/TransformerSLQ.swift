// spectral-bench --transformer-slq: the transformer data mode's cost with and without the SLQ
// stopping rule, on one model folder and token probes, in one process per configuration.
// Usage: spectral-bench --transformer-slq MODEL_FOLDER TOKENS.npy MASK.npy CAP STOP|none
// (CAP = DataAuditOptions.transformerSLQSteps, STOP = transformerSLQStopFraction). Prints one JSON
// object: the whole data-mode audit's CPU seconds (getrusage, this process), wall seconds, the SLQ
// steps per probe and their sum (each step one batched JVP + VJP of the 8 SLQ vectors), the
// entropies and their errors. Driven by bench/slq_stopping_minilm.sh; never part of the test suite.
import Audit
import Foundation

func cpuSeconds() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_utime.tv_sec) + Double(u.ru_stime.tv_sec) + 1e-6 * Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec)
}

func runTransformerSLQ(_ args: [String]) -> Never {
    guard args.count == 5, let cap = Int(args[3]) else {
        fail("usage: spectral-bench --transformer-slq MODEL_FOLDER TOKENS.npy MASK.npy CAP STOP|none")
    }
    var configuration = AuditConfiguration()
    configuration.jobs = 1
    configuration.timestamps = false
    configuration.attentionMaskPath = args[2]
    var options = DataAuditOptions(probePath: args[1], jobs: 1)
    options.transformerSLQSteps = cap
    options.transformerSLQStopFraction = args[4] == "none" ? nil : Double(args[4])
    configuration.data = options
    let c0 = cpuSeconds(), t0 = Date()
    do {
        let report = try Auditor.run(path: args[0], configuration: configuration)
        let cpu = cpuSeconds() - c0, wall = Date().timeIntervalSince(t0)
        guard let t = report.transformer?.data, let d = report.data else { fail("no transformer data section") }
        let steps = t.jacobianSLQSteps ?? []
        let o: [String: Any] = [
            "cap": cap, "stop": args[4], "cpu_seconds": cpu, "wall_seconds": wall,
            "slq_steps": steps, "slq_block_products": steps.reduce(0, +),
            "entropy": d.perSample.jacobianEntropy, "entropy_errors": t.jacobianEntropyErrors ?? [],
            "quadrature_half_widths": t.jacobianEntropyQuadratureErrors ?? [], "method": t.jacobianSpectrumMethod ?? "",
        ]
        let json = try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys])
        print(String(decoding: json, as: UTF8.self))
        exit(0)
    } catch {
        fail("\(error)")
    }
}
