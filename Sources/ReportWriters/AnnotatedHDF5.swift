import AuditReport
import Foundation
import HDF5Kit
import WeightFiles

/// The annotated HDF5 output (`--output PATH.h5`), laid out as `schemas/annotated-hdf5.md`
/// specifies (convention `spectral-audit-1`):
///
/// - the model's tensors: HDF5 input is copied object by object with `H5Ocopy` (data, filters,
///   attributes bit for bit, so a Keras `.h5` stays loadable); other formats get one dataset per
///   tensor under its original name, in its original dtype (GGUF block-quantized tensors: their
///   dequantized float32 values; types the reader does not decode are left out);
/// - on each analysed layer's weight dataset: the layer's SPEC §2 metrics as attributes
///   (`spectral_norm`, …), plus `status` and `audit_layer`;
/// - `/spectral_audit`: attributes `Conventions`, `tool_version`, `definitions`, `source_path`,
///   `source_sha256`, `created` (unless `--no-timestamps`), `history`, `gmsi`, `gmsi_mode`,
///   `verdict`, `threshold`; one group per layer under `/spectral_audit/layers/` (name with `/`
///   and `%` percent-encoded; attribute `name` holds the original) with `singular_values` and
///   `operator_singular_values` datasets and the metrics as attributes; `report_json`, the full
///   JSON report as a UTF-8 string dataset.
///
/// The input is only ever opened read-only; the output is written to a temporary file in the
/// destination folder, flushed and renamed (`AtomicOutput`).
public enum AnnotatedHDF5 {
    public static let conventions = "spectral-audit-1"
    public static let groupName = "spectral_audit"
    public static let reportDataset = "report_json"

    public static func write(report: AuditReportV1, modelPath: String, to path: String, force: Bool,
                             commandLine: [String]) throws {
        try AtomicOutput.checkDestination(path, force: force, protected: [modelPath])
        let json = String(decoding: try report.jsonData(), as: UTF8.self)
        try AtomicOutput.write(to: path) { tmp in
            do {
                let out: HDF5File
                if HDF5File.hasSignature(try ModelFile.readPrefix(modelPath, count: 8)),
                   let copied = try? byteCopyForUpdate(from: modelPath, to: tmp) {
                    // HDF5 input: a byte-for-byte copy (as fast as cp), then annotations added.
                    out = copied
                } else {
                    unlink(tmp)
                    out = try HDF5File.create(path: tmp)
                    try copyModel(from: modelPath, into: try out.root)
                }
                let root = try out.root
                try annotateWeights(report: report, root: root)
                try writeAuditGroup(report: report, json: json, root: root, commandLine: commandLine)
                try out.flush()
                try out.close()
            } catch let e as HDF5Error {
                throw AtomicOutput.Failure(path: path, reason: e.reason)
            }
        }
    }

    /// Copies an HDF5 input byte for byte to `tmp` (`sendfile`), opens the copy for update and
    /// removes any earlier `/spectral_audit` group. Nil if the copy cannot be updated by this
    /// libhdf5 (the caller then rebuilds the file object by object with `H5Ocopy`).
    private static func byteCopyForUpdate(from modelPath: String, to tmp: String) throws -> HDF5File? {
        try FileCopy.copy(from: modelPath, to: tmp)
        guard let file = try? HDF5File.openForUpdate(ownCopy: tmp) else { return nil }
        let root = try file.root
        if try root.exists(groupName) { try root.removeLink(groupName) }
        return file
    }

    /// Copies the model into `root`.
    private static func copyModel(from modelPath: String, into root: HDF5Group) throws {
        let prefix = try ModelFile.readPrefix(modelPath, count: 8)
        if HDF5File.hasSignature(prefix) {
            let src = try HDF5File.openReadOnly(path: modelPath)
            let srcRoot = try src.root
            // libhdf5 reads the source while copying: under a deadline like every read (the
            // readers' base time plus 1 s per 50 MB of file).
            let bytes = (try? FileManager.default.attributesOfItem(atPath: modelPath)[.size] as? NSNumber)??.doubleValue ?? 0
            let deadline = ReaderLimits().maxHDF5Seconds + bytes / 50e6
            try HDF5Watchdog.guarded(seconds: deadline, file: modelPath, activity: "copying objects") {
                for link in try srcRoot.links() where link.name != groupName {
                    switch link.kind {
                    case .group, .dataset, .namedDatatype:
                        try root.copyObject(from: srcRoot, name: link.name, to: link.name)
                    default:
                        continue // soft and external links are not followed
                    }
                }
            }
            try root.copyAttributes(from: srcRoot)
            return
        }
        let store = try ModelFile.open(modelPath)
        for t in store.tensors where t.quantization?.unsupportedReason == nil {
            let bytes = try store.loadNativeBytes(t.name)
            try bytes.withUnsafeBytes { raw in
                _ = try root.createDataset(t.name, type: t.dtype.hdf5Type, shape: t.shape, bytes: raw)
            }
        }
    }

    /// The metrics on each analysed layer's weight dataset (the layer's first tensor), wherever
    /// the copy holds it.
    private static func annotateWeights(report: AuditReportV1, root: HDF5Group) throws {
        for layer in report.layers where layer.status == .analyzed || layer.status == .nonFinite {
            guard let first = layer.tensors.first, try root.exists(first) else { continue }
            let d = try root.openDataset(first)
            try d.setAttribute("audit_layer", string: layer.name)
            try d.setAttribute("status", string: layer.status.rawValue)
            if let m = layer.metrics { try setMetrics(m, on: d) }
            if let op = layer.operatorNorm { try d.setAttribute("operator_norm", double: op) }
        }
    }

    private static func setMetrics(_ m: SpectrumMetricsV1, on object: HDF5Object) throws {
        for name in SpectrumMetricsV1.names {
            if let v = m.value(named: name), v.isFinite { try object.setAttribute(name, double: v) }
        }
    }

    private static func writeAuditGroup(report: AuditReportV1, json: String, root: HDF5Group, commandLine: [String]) throws {
        let g = try root.createGroup(groupName)
        try g.setAttribute("Conventions", string: conventions)
        try g.setAttribute("tool_version", string: report.tool.version)
        try g.setAttribute("definitions", string: report.definitions)
        try g.setAttribute("source_path", string: report.input.path)
        try g.setAttribute("source_sha256", string: report.input.sha256)
        if let created = report.created { try g.setAttribute("created", string: created) }
        try g.setAttribute("history", string: commandLine.map(shellQuote).joined(separator: " "))
        if let gmsi = report.gmsi, gmsi.isFinite { try g.setAttribute("gmsi", double: gmsi) }
        if let reason = report.gmsiReason { try g.setAttribute("gmsi_reason", string: reason) }
        try g.setAttribute("gmsi_mode", string: report.gmsiMode)
        try g.setAttribute("verdict", string: report.verdict.rawValue)
        if let t = report.settings.threshold { try g.setAttribute("threshold", double: t) }
        if let l = report.network.log10LipschitzBound, l.isFinite { try g.setAttribute("log10_lipschitz_bound", double: l) }
        let layers = try g.createGroup("layers")
        for layer in report.layers where layer.status != .skipped || layer.metrics != nil {
            let lg = try layers.createGroup(escape(layer.name))
            try lg.setAttribute("name", string: layer.name)
            try lg.setAttribute("kind", string: layer.kind)
            try lg.setAttribute("status", string: layer.status.rawValue)
            if let r = layer.reason { try lg.setAttribute("reason", string: r) }
            try lg.setAttribute("tensors", strings: layer.tensors)
            if let m = layer.metrics { try setMetrics(m, on: lg) }
            if let method = layer.method { try lg.setAttribute("method", string: method) }
            if let op = layer.operatorNorm { try lg.setAttribute("operator_norm", double: op) }
            if let m = layer.operatorNormMethod { try lg.setAttribute("operator_norm_method", string: m) }
            if let s = layer.singularValues {
                try s.withUnsafeBytes { _ = try lg.createDataset("singular_values", type: .float64, shape: [s.count], bytes: $0) }
            }
            if let s = layer.operatorSingularValues {
                try s.withUnsafeBytes { _ = try lg.createDataset("operator_singular_values", type: .float64, shape: [s.count], bytes: $0) }
            }
            if let f = layer.folded { try writeFolded(f, in: lg) }
        }
        try g.createStringDataset(reportDataset, value: json)
    }

    /// Issue 16: the folded view (`diag(s)·A`) of a layer, in a `folded` subgroup of its group,
    /// laid out like the layer's own members (the layer's attributes are the stored tensor's).
    private static func writeFolded(_ f: FoldedViewV1, in lg: HDF5Group) throws {
        let fg = try lg.createGroup("folded")
        try fg.setAttribute("batch_norm", string: f.batchNorm)
        if let m = f.metrics { try setMetrics(m, on: fg) }
        if let method = f.method { try fg.setAttribute("method", string: method) }
        if let op = f.operatorNorm { try fg.setAttribute("operator_norm", double: op) }
        if let m = f.operatorNormMethod { try fg.setAttribute("operator_norm_method", string: m) }
        if let s = f.singularValues {
            try s.withUnsafeBytes { _ = try fg.createDataset("singular_values", type: .float64, shape: [s.count], bytes: $0) }
        }
        if let s = f.operatorSingularValues {
            try s.withUnsafeBytes { _ = try fg.createDataset("operator_singular_values", type: .float64, shape: [s.count], bytes: $0) }
        }
    }

    /// The report stored in an annotated file, or nil when the file has none. libhdf5 runs under
    /// `HDF5Watchdog` (a corrupt global heap can make it spin); callers that must survive a
    /// crashing libhdf5 read the file in a `Preflight` child first.
    public static func readReport(path: String) throws -> AuditReportV1? {
        guard HDF5File.hasSignature(try ModelFile.readPrefix(path, count: 8)) else { return nil }
        let text: String? = try HDF5Watchdog.guarded(seconds: ReaderLimits().maxHDF5Seconds, file: path,
                                                     activity: "reading its stored audit") {
            let f = try HDF5File.openReadOnly(path: path)
            let root = try f.root
            guard try root.exists(groupName + "/" + reportDataset) else { return nil }
            return try root.openDataset(groupName + "/" + reportDataset).readStrings().first ?? ""
        }
        guard let text else { return nil }
        return try AuditReportV1.decode(Data(text.utf8))
    }

    /// Layer names become group names: `/` and `%` are percent-encoded; `.` alone is `%2E`.
    static func escape(_ name: String) -> String {
        if name == "." || name == ".." { return name.replacingOccurrences(of: ".", with: "%2E") }
        return name.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "/", with: "%2F")
    }

    static func shellQuote(_ s: String) -> String {
        if s.allSatisfy({ $0.isLetter || $0.isNumber || "-_./=:,+@".contains($0) }) && !s.isEmpty { return s }
        return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

extension DType {
    var hdf5Type: HDF5ScalarType {
        switch self {
        case .float16: return .float16
        case .bfloat16: return .bfloat16
        case .float32: return .float32
        case .float64: return .float64
        case .int8: return .int8
        case .uint8: return .uint8
        case .int16: return .int16
        case .uint16: return .uint16
        case .int32: return .int32
        case .uint32: return .uint32
        case .int64: return .int64
        case .uint64: return .uint64
        case .bool: return .bool
        }
    }
}
