import ArgumentParser
import Audit
import AuditReport
import Foundation
import ReportWriters
import WeightFiles

/// `spectral-audit MODEL [options]`: the audit (the default subcommand).
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Audit a model file: per-layer spectra, network bounds, GMSI, verdict (the default command)."
    )

    @Argument(help: "The model file (.h5, .weights.h5, .keras, .npy, .npz, .safetensors, model.safetensors.index.json).")
    var model: String

    // Verdict
    @Option(help: "Fail the audit when gmsi exceeds T.")
    var threshold: Double?

    @Option(help: "Policy file (JSON) with per-metric and per-layer limits; see spectral-audit-formats(5).")
    var policy: String?

    @Option(help: "Earlier report (JSON, or an annotated HDF5 file) to compare against.")
    var baseline: String?

    @Option(name: .customLong("max-increase"), help: "With --baseline: fail when gmsi or a layer's spectral_norm grows by more than PCT percent.")
    var maxIncrease: Double?

    @Flag(help: "Pass checks whose value is unavailable (gmsi, network and layer policy limits, baseline); the reason is still reported.")
    var allowUnavailable = false

    // Structure and numerics
    @Option(name: .customLong("arch"), help: "Architecture manifest (JSON) stating the network structure.")
    var arch: String?

    @Option(help: "Singular values: gram (default), exact (LAPACK dgesdd), topk:K (K largest by Lanczos), fast (σ_max by Lanczos, entropies by stochastic Lanczos quadrature with error estimates).")
    var svd: String = "gram"

    @Option(help: "Audit only shard I of N of the operator layers (a partial report for 'spectral-audit merge'), e.g. 2/4.")
    var shard: String?

    @Option(help: "Layers analysed in parallel (default: the number of cores).")
    var jobs: Int?

    @Option(name: .customLong("input-shape"), help: "Spatial input size for exact convolution spectra, e.g. 32x32.")
    var inputShape: String?

    @Flag(name: .customLong("heavy-tail"), help: "Also compute WeightWatcher-compatible heavy-tail metrics (ww_alpha, …).")
    var heavyTail = false

    @Option(name: .customLong("max-tensor-bytes"), help: "Refuse tensors larger than this many bytes (default 17179869184).")
    var maxTensorBytes: Int?

    // Data audit (SPEC §5)
    @Option(help: "Probe inputs (.npy, [N, ...] in the model's input layout) for the data audit: input and parameter Jacobians, NTK, loss Hessian, attribution stability; gmsi then comes from them.")
    var probe: String?

    @Option(help: "Labels for --probe (.npy): class ids or one-hot rows (cross_entropy), or real targets (mse).")
    var labels: String?

    @Option(help: "Loss for the Hessian: cross_entropy or mse (default: from the labels).")
    var loss: String?

    @Option(name: .customLong("probe-limit"), help: "Use at most N probe inputs (the first N).")
    var probeLimit: Int?

    @Option(name: .customLong("ntk-min-budget"), help: "Matrix-free NTK: products spent on λ_min after λ_max has converged before it is reported unavailable (default 50).")
    var ntkMinBudget: Int?

    @Option(help: "Seed for the randomised parts (attribution perturbations, Lanczos start vectors); recorded in the report.")
    var seed: UInt64 = 0

    @Option(name: .customLong("gmsi-aggregate"), help: "How data-mode components combine into gmsi: max (default) or sum.")
    var gmsiAggregate: String = "max"

    // Outputs
    @OptionGroup var outputs: ReportOutputOptions

    @Flag(help: "Print GitHub Actions annotations (::error …) for failed checks.")
    var github = false

    @Option(help: "Write an annotated HDF5 copy of the model with the audit results.")
    var output: String?

    @Flag(name: .customLong("no-timestamps"), help: "Omit creation times, for byte-identical reports.")
    var noTimestamps = false

    @Flag(name: .customLong("omit-spectra"), help: "Leave full singular-value spectra out of the report.")
    var omitSpectra = false

    @Flag(name: .customLong("no-progress"), help: "Never draw a progress bar.")
    var noProgress = false

    func validate() throws {
        guard SVDChoice(argument: svd) != nil else {
            throw ValidationError("--svd must be gram, exact, topk:K (K ≥ 1) or fast, not '\(svd)'")
        }
        if let s = shard, ShardSpec(argument: s) == nil {
            throw ValidationError("--shard must be I/N with 1 ≤ I ≤ N, not '\(s)'")
        }
        if let j = jobs, j < 1 { throw ValidationError("--jobs must be at least 1") }
        if let t = threshold, !t.isFinite { throw ValidationError("--threshold must be a finite number") }
        if maxIncrease != nil && baseline == nil { throw ValidationError("--max-increase needs --baseline") }
        if let m = maxIncrease, !(m >= 0) { throw ValidationError("--max-increase must be ≥ 0") }
        if let b = maxTensorBytes, b < 1 { throw ValidationError("--max-tensor-bytes must be positive") }
        if probe == nil && (labels != nil || loss != nil || probeLimit != nil || ntkMinBudget != nil) {
            throw ValidationError("--labels, --loss, --probe-limit and --ntk-min-budget need --probe")
        }
        if let b = ntkMinBudget, b < 1 { throw ValidationError("--ntk-min-budget must be at least 1") }
        if let l = loss, LossKind(rawValue: l) == nil { throw ValidationError("--loss must be cross_entropy or mse, not '\(l)'") }
        if let n = probeLimit, n < 1 { throw ValidationError("--probe-limit must be at least 1") }
        guard GMSIAggregate(rawValue: gmsiAggregate) != nil else {
            throw ValidationError("--gmsi-aggregate must be max or sum, not '\(gmsiAggregate)'")
        }
        if inputShape != nil && parsedInputShape == nil {
            throw ValidationError("--input-shape must look like 32x32 or 32,32 (positive integers)")
        }
        try outputs.validate(extraStdoutUsers: github ? 1 : 0, protected: [model])
        if output == model { throw ValidationError("refusing to write an output over the input file '\(model)'") }
    }

    var parsedInputShape: [Int]? {
        guard let s = inputShape else { return nil }
        let parts = s.split(whereSeparator: { $0 == "x" || $0 == "," || $0 == "×" }).map { Int($0) }
        guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        return parts.map { $0! }
    }

    func run() throws {
        var configuration = AuditConfiguration()
        configuration.svd = SVDChoice(argument: svd)!
        configuration.jobs = jobs ?? ProcessInfo.processInfo.activeProcessorCount
        configuration.threshold = threshold
        configuration.allowUnavailable = allowUnavailable
        configuration.inputShape = parsedInputShape
        configuration.heavyTail = heavyTail
        configuration.includeSpectra = !omitSpectra
        configuration.manifestPath = arch
        configuration.timestamps = !noTimestamps
        configuration.seed = seed
        configuration.gmsiAggregate = GMSIAggregate(rawValue: gmsiAggregate)!
        if let probe {
            configuration.data = DataAuditOptions(probePath: probe, labelsPath: labels, loss: loss.flatMap(LossKind.init(rawValue:)),
                                                  probeLimit: probeLimit, seed: seed, jobs: configuration.jobs)
            if let b = ntkMinBudget { configuration.data!.ntkLambdaMinBudget = b }
        }
        configuration.shard = shard.flatMap(ShardSpec.init(argument:))
        if let b = maxTensorBytes { configuration.limits.maxTensorBytes = b }
        if let p = policy {
            configuration.policy = try Policy.parse(try readInput(p), path: p)
            configuration.policyPath = p
        }
        if let b = baseline {
            try Preflight.checkBaseline(b)
            configuration.baseline = try Baseline.load(b)
            configuration.baselinePath = b
            configuration.maxIncreasePercent = maxIncrease ?? 0
        }
        // Refuse unwritable destinations before spending time on the audit.
        for p in outputs.files + [output].compactMap({ $0 }) {
            try AtomicOutput.checkDestination(p, force: outputs.force, protected: [model])
        }
        try Preflight.checkModel(model, tensors: .float64)
        let bar = ProgressBar(enabled: Terminal.stderrIsTTY && !noProgress)
        configuration.progress = { done, total, name in bar.update(done: done, total: total, label: name) }
        let report = try Auditor.run(path: model, configuration: configuration)
        bar.finish()

        try Outputs(report: report, model: model, options: outputs).write(output: output, github: github)
        throw ExitCode(report.verdict == .pass ? ExitCodes.pass : ExitCodes.auditFailed)
    }
}

/// Reads an auxiliary input file (policy, baseline), naming it in errors.
func readInput(_ path: String) throws -> Data {
    do {
        try PathCheck.requireReadableFile(path)
    } catch let e as WeightFileError {
        throw InputFileError(path: path, missing: true, message: e.detail ?? "cannot read")
    }
    guard let data = FileManager.default.contents(atPath: path) else {
        throw InputFileError(path: path, missing: true, message: "cannot read")
    }
    return data
}
