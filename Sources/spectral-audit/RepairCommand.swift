import ArgumentParser
import Audit
import AuditReport
import Foundation
import ReportWriters
import WeightFiles

/// `spectral-audit repair MODEL --target-gmsi T -o OUT`: the smallest spectral change (clipped
/// singular values, levels allocated across layers) that brings the weights-only GMSI to T.
struct RepairCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Clip singular values so the weights-only GMSI meets a target; write the repaired model in the input's format."
    )

    @Argument(help: "The model file (.h5, .weights.h5, .keras, .npy, .npz, .safetensors).")
    var model: String

    @Option(name: .customLong("target-gmsi"), help: "Bring the weights-only GMSI (Lipschitz product bound) to at most T.")
    var targetGmsi: Double?

    @Option(name: .customLong("max-sigma"), help: "Cap a layer's factor in the bound: S (every layer) or LAYER=S; repeatable.")
    var maxSigma: [String] = []

    @Option(name: [.customShort("o"), .customLong("output")], help: "Where to write the repaired model (same format as MODEL).")
    var output: String

    @Option(name: .customLong("arch"), help: "Architecture manifest (JSON) stating the network structure.")
    var arch: String?

    @Option(help: "Singular values for the bound: gram (default), exact, topk:K or fast, as in the audit.")
    var svd: String = "gram"

    @Option(name: .customLong("input-shape"), help: "Spatial input size for exact convolution spectra, e.g. 32x32.")
    var inputShape: String?

    @Option(help: "Layers analysed in parallel (default: the number of cores).")
    var jobs: Int?

    @Option(help: "Probe inputs (.npy) on which to measure the output change, top-1 agreement and attribution stability before and after.")
    var probe: String?

    @Option(help: "Labels for --probe (.npy, class ids or one-hot rows): accuracy before and after.")
    var labels: String?

    @Option(help: "Seed of the attribution perturbations.")
    var seed: UInt64 = 0

    @Option(help: "Write the repair report as JSON to PATH ('-' for stdout).")
    var json: String?

    @Flag(help: "Replace existing output files.")
    var force = false

    @Flag(help: "Do not print the table on stdout.")
    var quiet = false

    func validate() throws {
        guard SVDChoice(argument: svd) != nil else {
            throw ValidationError("--svd must be gram, exact, topk:K (K ≥ 1) or fast, not '\(svd)'")
        }
        guard targetGmsi != nil || !maxSigma.isEmpty else { throw ValidationError("repair needs --target-gmsi and/or --max-sigma") }
        if let t = targetGmsi, !(t > 0 && t.isFinite) { throw ValidationError("--target-gmsi must be a positive finite number") }
        _ = try parsedLimits()
        if let j = jobs, j < 1 { throw ValidationError("--jobs must be at least 1") }
        if labels != nil && probe == nil { throw ValidationError("--labels needs --probe") }
        if inputShape != nil && parsedInputShape == nil {
            throw ValidationError("--input-shape must look like 32x32 or 32,32 (positive integers)")
        }
        for p in [output, json].compactMap({ $0 }) where p == model {
            throw ValidationError("refusing to write an output over the input file '\(model)'")
        }
        if json != nil && json == output { throw ValidationError("--json and --output name the same file") }
    }

    /// `--max-sigma S` (global) and `--max-sigma LAYER=S`.
    func parsedLimits() throws -> (global: Double?, layers: [String: Double]) {
        var global: Double?
        var layers: [String: Double] = [:]
        for item in maxSigma {
            if let eq = item.lastIndex(of: "=") {
                let name = String(item[..<eq])
                guard !name.isEmpty, let v = Double(item[item.index(after: eq)...]), v > 0, v.isFinite else {
                    throw ValidationError("--max-sigma must be S or LAYER=S with S > 0, not '\(item)'")
                }
                layers[name] = v
            } else {
                guard let v = Double(item), v > 0, v.isFinite else {
                    throw ValidationError("--max-sigma must be S or LAYER=S with S > 0, not '\(item)'")
                }
                global = min(global ?? v, v)
            }
        }
        return (global, layers)
    }

    var parsedInputShape: [Int]? {
        guard let s = inputShape else { return nil }
        let parts = s.split(whereSeparator: { $0 == "x" || $0 == "," || $0 == "×" }).map { Int($0) }
        guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        return parts.map { $0! }
    }

    func run() throws {
        var options = RepairOptions()
        options.targetGMSI = targetGmsi
        let limits = try parsedLimits()
        options.maxSigma = limits.global
        options.layerMaxSigma = limits.layers
        options.audit.svd = SVDChoice(argument: svd)!
        options.audit.jobs = jobs ?? ProcessInfo.processInfo.activeProcessorCount
        options.audit.inputShape = parsedInputShape
        options.audit.manifestPath = arch
        // Refuse unwritable destinations before any work.
        try AtomicOutput.checkDestination(output, force: force, protected: [model])
        if let j = json, j != "-" { try AtomicOutput.checkDestination(j, force: force, protected: [model]) }
        try Preflight.checkModel(model, tensors: .float64)
        let store = try ModelFile.open(model, limits: options.audit.limits)
        var outcome: RepairOutcome
        do {
            outcome = try Repairer.run(store: store, options: options)
        } catch let e as RepairError {
            if case .unreachable = e {
                FileHandle.standardError.write(Data(("spectral-audit: repair: " + e.description.oneLine + "\n").utf8))
                throw ExitCode(ExitCodes.auditFailed)
            }
            throw AuditError.input("repair: " + e.description)
        }
        try RepairedModelWriter.write(input: model, format: store.format, tensors: store.tensors,
                                      replacements: outcome.replacements, to: output, force: force)
        var report = outcome.report
        report.output = output
        // OUT's own audit: the written file, re-read from disk, as `spectral-audit OUT` reads it.
        var check = options.audit
        check.includeSpectra = false
        let audited = try Auditor.run(path: output, configuration: check)
        report.outputAuditGmsi = audited.gmsi
        let within = { (g: Double?) in targetGmsi.map { t in (g ?? .infinity) <= t } ?? true }
        report.met = within(report.gmsiAfter) && within(audited.gmsi)
        if let probe {
            report.probe = try RepairProbe.measure(graph: outcome.graph, before: store, replacements: outcome.replacements,
                                                   probePath: probe, labelsPath: labels, seed: seed)
        }
        if let j = json {
            let data = try report.jsonData()
            if j == "-" { FileHandle.standardOutput.write(data) } else { try AtomicOutput.write(data, to: j) }
        }
        if !quiet && json != "-" { Terminal.writeStdout(RepairTextRenderer.render(report)) }
        throw ExitCode(report.met ? ExitCodes.pass : ExitCodes.auditFailed)
    }
}
