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

    @Argument(help: "The model file (.h5, .weights.h5, .keras, .npy, .npz, .safetensors, model.safetensors.index.json, .gguf), a Hugging Face model folder, or a PEFT LoRA adapter folder.")
    var model: String

    // Delta audit (Sources/Audit/Delta)
    @Option(help: "Base model to compare MODEL with, tensor by tensor (a fine-tune, a lower-precision copy, or a LoRA adapter's base): the delta section. Not --baseline, which compares with an earlier report.")
    var base: String?

    // Verdict
    // `.unconditional`: a negative value (`--threshold -5`) reaches validate() and gets a clear
    // message instead of being taken for an option.
    @Option(parsing: .unconditional, help: "Fail the audit when gmsi (the weights-only Lipschitz bound, with or without --probe) exceeds T (T ≥ 0).")
    var threshold: Double?

    @Option(name: .customLong("data-threshold"), parsing: .unconditional,
            help: "With --probe: fail the audit when data_gmsi (the aggregate measured on the probe inputs) exceeds T (T ≥ 0).")
    var dataThreshold: Double?

    @Option(help: "Policy file (JSON) with per-metric and per-layer limits; see spectral-audit-formats(5).")
    var policy: String?

    @Option(help: "Earlier report (JSON, or an annotated HDF5 file) to compare against.")
    var baseline: String?

    @Option(name: .customLong("max-increase"), parsing: .unconditional, help: "With --baseline: fail when gmsi or a layer's spectral_norm grows by more than PCT percent.")
    var maxIncrease: Double?

    @Flag(help: "Pass checks whose value is unavailable (gmsi, network and layer policy limits, baseline); the reason is still reported.")
    var allowUnavailable = false

    // Structure and numerics
    @Option(name: .customLong("arch"), help: "Architecture manifest (JSON) stating the network structure.")
    var arch: String?

    @Option(name: .customLong("require-structure"), help: "Fail the audit (check structure.declared) unless the network structure is declared (Keras config or --arch manifest) rather than inferred from tensor names. Value: declared.")
    var requireStructure: String?

    @Option(help: "Singular values: gram (default), exact (LAPACK dgesdd), topk:K (K largest by Lanczos), fast (σ_max by Lanczos, entropies by stochastic Lanczos quadrature with error estimates).")
    var svd: String = "gram"

    @Option(help: "Audit only shard I of N of the operator layers (a partial report for 'spectral-audit merge'), e.g. 2/4.")
    var shard: String?

    @Option(help: "Layers analysed in parallel (default: the number of cores).")
    var jobs: Int?

    @Option(name: .customLong("input-shape"), parsing: .unconditional,
            help: "Spatial input size for convolution spectra, e.g. 32x32 (channels excluded; each at least the kernel size).")
    var inputShape: String?

    @Flag(name: .customLong("force-input-shape"), help: "Use --input-shape even when the model stores a different input shape.")
    var forceInputShape = false

    @Flag(name: .customLong("heavy-tail"), help: "Also compute WeightWatcher-compatible heavy-tail metrics (ww_alpha, …).")
    var heavyTail = false

    @Option(name: .customLong("max-tensor-bytes"), help: "Refuse tensors larger than this many bytes (default 17179869184).")
    var maxTensorBytes: Int?

    // Data audit (SPEC §5)
    @Option(help: "Probe inputs (.npy, [N, ...] in the model's input layout) for the data audit: input and parameter Jacobians, NTK, loss Hessian, attribution stability, reported as data_gmsi (gmsi stays the weights-only bound).")
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

    @Option(name: .customLong("gmsi-aggregate"), help: "How data-mode components combine into data_gmsi: max (default) or sum.")
    var gmsiAggregate: String = "max"

    // Outputs
    @OptionGroup var outputs: ReportOutputOptions

    @OptionGroup var transformer: TransformerOptions

    // Recurrent layers (issue 19)
    @Option(parsing: .unconditional, help: "LSTM/GRU/RNN: the longest input sequence (time steps) their horizon bounds, and the network bound through them, hold for (default 100).")
    var horizon: Int = RecurrentBounds.defaultHorizon

    @Option(name: .customLong("rnn-nonlinearity"), help: "With --probe: the nonlinearity of PyTorch nn.RNN / nn.RNNCell layers, which a state dict does not store: tanh (PyTorch's default, assumed when not given) or relu.")
    var rnnNonlinearity: String?

    @Flag(help: "Print GitHub Actions annotations (::error …) for failed checks.")
    var github = false

    @Option(help: "Write an annotated HDF5 copy of the model with the audit results.")
    var output: String?

    @Flag(name: .customLong("no-timestamps"), help: "Omit creation times, for byte-identical reports.")
    var noTimestamps = false

    @Flag(name: .customLong("omit-spectra"), help: "Leave full singular-value spectra out of the report.")
    var omitSpectra = false

    @Flag(name: .customLong("no-progress"), help: "Never draw a progress bar, nor print progress lines on a non-terminal stderr.")
    var noProgress = false

    func validate() throws {
        guard SVDChoice(argument: svd) != nil else {
            throw ValidationError("--svd must be gram, exact, topk:K (K ≥ 1) or fast, not '\(svd)'")
        }
        if let s = shard, ShardSpec(argument: s) == nil {
            throw ValidationError("--shard must be I/N with 1 ≤ I ≤ N, not '\(s)'")
        }
        if let j = jobs, j < 1 { throw ValidationError("--jobs must be at least 1") }
        if let r = rnnNonlinearity, RNNNonlinearity(rawValue: r) == nil { throw ValidationError("--rnn-nonlinearity must be tanh or relu, not '\(r)'") }
        if rnnNonlinearity != nil && probe == nil { throw ValidationError("--rnn-nonlinearity needs --probe (the weights-only horizon bound holds for tanh and relu alike)") }
        if horizon < 1 || horizon > 10_000 { throw ValidationError("--horizon must be a number of time steps from 1 to 10000, not \(horizon)") }
        if let t = threshold, !t.isFinite { throw ValidationError("--threshold must be a finite number") }
        if let t = threshold, t < 0 {
            throw ValidationError("--threshold must be ≥ 0, not \(ReportNumber.short(t)): gmsi is a gain (a product of norms), never negative, so a negative threshold fails every model")
        }
        if let t = dataThreshold, !(t.isFinite && t >= 0) {
            throw ValidationError("--data-threshold must be a finite number ≥ 0, not \(t): data_gmsi is a gain, never negative")
        }
        if dataThreshold != nil && probe == nil { throw ValidationError("--data-threshold needs --probe (it judges data_gmsi, measured on the probe inputs)") }
        if let m = maxIncrease, !(m >= 0) { throw ValidationError("--max-increase must be a percentage ≥ 0, not \(m)") }
        if maxIncrease != nil && baseline == nil { throw ValidationError("--max-increase needs --baseline") }
        if forceInputShape && inputShape == nil { throw ValidationError("--force-input-shape needs --input-shape") }
        if let b = maxTensorBytes, b < 1 { throw ValidationError("--max-tensor-bytes must be positive") }
        if probe == nil && (labels != nil || loss != nil || probeLimit != nil || ntkMinBudget != nil) {
            throw ValidationError("--labels, --loss, --probe-limit and --ntk-min-budget need --probe")
        }
        if let b = ntkMinBudget, b < 1 { throw ValidationError("--ntk-min-budget must be at least 1") }
        if let l = loss, LossKind(rawValue: l) == nil { throw ValidationError("--loss must be cross_entropy or mse, not '\(l)'") }
        if transformer.attentionMask != nil && probe == nil { throw ValidationError("--attention-mask needs --probe (it masks the probe tokens)") }
        if let n = probeLimit, n < 1 { throw ValidationError("--probe-limit must be at least 1") }
        guard GMSIAggregate(rawValue: gmsiAggregate) != nil else {
            throw ValidationError("--gmsi-aggregate must be max or sum, not '\(gmsiAggregate)'")
        }
        if let r = requireStructure, StructureRequirement(rawValue: r) == nil {
            throw ValidationError("--require-structure must be declared, not '\(r)'")
        }
        if let s = inputShape, parsedInputShape == nil {
            throw ValidationError("--input-shape must be positive integers separated by x, × or a comma, one per spatial dimension (e.g. 32x32), not '\(s)'")
        }
        if base != nil || PEFTAdapter.isAdapterFolder(model) {
            if shard != nil { throw ValidationError("--shard cannot be combined with --base or a LoRA adapter") }
            if base == model { throw ValidationError("--base must be another model than MODEL") }
        }
        if PEFTAdapter.isAdapterFolder(model) {
            if output != nil { throw ValidationError("--output copies a model file; MODEL is a LoRA adapter folder") }
            if probe != nil && base == nil { throw ValidationError("--probe needs a network: give the adapter's --base") }
        }
        try outputs.validate(extraStdoutUsers: github ? 1 : 0, protected: [model] + (base.map { [$0] } ?? []))
        if output == model { throw ValidationError("refusing to write an output over the input file '\(model)'") }
    }

    /// `32x32`, `32,32`, `32×32`: every part a positive decimal integer (no sign, no empty part).
    var parsedInputShape: [Int]? {
        guard let s = inputShape else { return nil }
        let parts = s.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "x" || $0 == "," || $0 == "×" })
        guard !parts.isEmpty, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }) else { return nil }
        let values = parts.compactMap { Int($0) }
        guard values.count == parts.count, values.allSatisfy({ $0 > 0 }) else { return nil }
        return values
    }

    func run() throws {
        // A Hugging Face model folder stands for the weights file inside it (config.json beside
        // it); a PEFT adapter folder is read as such.
        let model = PEFTAdapter.isAdapterFolder(self.model) ? self.model : try ModelFile.resolveFolder(self.model)
        let base = try self.base.map(ModelFile.resolveFolder)
        var configuration = AuditConfiguration()
        configuration.transformerDomain = transformer.domain
        configuration.horizon = horizon
        configuration.attentionMaskPath = transformer.attentionMask
        configuration.svd = SVDChoice(argument: svd)!
        configuration.jobs = jobs ?? ProcessInfo.processInfo.activeProcessorCount
        configuration.threshold = threshold
        configuration.dataThreshold = dataThreshold
        configuration.forceInputShape = forceInputShape
        configuration.allowUnavailable = allowUnavailable
        configuration.inputShape = parsedInputShape
        configuration.heavyTail = heavyTail
        configuration.includeSpectra = !omitSpectra
        configuration.manifestPath = arch
        configuration.requireStructure = requireStructure.flatMap(StructureRequirement.init(rawValue:))
        configuration.timestamps = !noTimestamps
        configuration.seed = seed
        configuration.gmsiAggregate = GMSIAggregate(rawValue: gmsiAggregate)!
        if let probe {
            configuration.data = DataAuditOptions(probePath: probe, labelsPath: labels, loss: loss.flatMap(LossKind.init(rawValue:)),
                                                  probeLimit: probeLimit, seed: seed, jobs: configuration.jobs)
            if let b = ntkMinBudget { configuration.data!.ntkLambdaMinBudget = b }
            configuration.data!.rnnNonlinearity = rnnNonlinearity.flatMap(RNNNonlinearity.init(rawValue:))
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
            try AtomicOutput.checkDestination(p, force: outputs.force || outputs.appends(to: p), protected: [model] + (base.map { [$0] } ?? []))
        }
        let adapter = PEFTAdapter.isAdapterFolder(model)
        if !adapter { try Preflight.checkModel(model, tensors: .float64) }
        if let base { try Preflight.checkModel(base, tensors: .float64) }
        let bar = ProgressBar(enabled: Terminal.stderrIsTTY && !noProgress)
        // CI logs (stderr not a terminal): one line every ~10 s of a long run, never on short ones.
        let log = ProgressLog(enabled: !Terminal.stderrIsTTY && !noProgress && !outputs.quiet)
        configuration.progress = { done, total, name in
            bar.update(done: done, total: total, label: name)
            log.update(done: done, total: total, label: name)
        }
        let report: AuditReportV1
        do {
            if adapter {
                report = try DeltaAuditor.runAdapter(folder: model, basePath: base, configuration: configuration)
            } else if let base {
                report = try DeltaAuditor.run(modelPath: model, basePath: base, configuration: configuration)
            } else {
                report = try Auditor.run(path: model, configuration: configuration)
            }
        } catch {
            log.stop()
            throw error
        }
        log.stop()
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
