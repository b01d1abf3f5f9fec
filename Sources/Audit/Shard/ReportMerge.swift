import Foundation
import AuditReport
import SpectralModel
import WeightFiles

/// Why partial reports cannot be merged (one line, for the CLI).
public struct ReportMergeError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Rows and bound inputs of partial reports, keyed by graph node index.
struct ShardReplay {
    var sha256: String
    var rows: [Int: LayerReport]
    var bounds: [Int: ShardBoundInput]

    /// The model being re-read must be the one the partial reports describe.
    func check(input: InputInfo, graph: NetworkGraph) throws {
        guard input.sha256 == sha256 else {
            throw ReportMergeError("the model file '\(input.path)' (sha256 \(input.sha256.prefix(12))…) is not the file the reports describe (sha256 \(sha256.prefix(12))…)")
        }
        for (i, b) in bounds where i >= graph.nodes.count || graph.nodes[i].name != b.layer {
            throw ReportMergeError("the reports do not match the structure of '\(input.path)' (node \(i) '\(b.layer)')")
        }
    }
}

/// `spectral-audit merge`: partial reports of `--shard I/N` audits → the whole report.
///
/// The model file is re-opened (only its headers and structure: no tensor is analysed again) to
/// rebuild the network graph; the rows of the analysed layers and their bound inputs come from
/// the partial reports; everything else — rows without analysis, unreferenced tensors, network
/// bounds, layer shares, GMSI, checks and verdict — is computed by the same code as a whole
/// audit, so the result is byte-identical to the unsharded report (with `--no-timestamps`).
public enum ReportMerge {
    /// The audit configuration the partial reports were made with (policy and baseline files are
    /// named in it but not loaded: the caller loads them, as the audit command does).
    public static func configuration(from report: AuditReportV1) throws -> AuditConfiguration {
        var c = AuditConfiguration()
        guard let svd = SVDChoice(argument: report.settings.svd) else {
            throw ReportMergeError("unknown --svd '\(report.settings.svd)' in the reports")
        }
        c.svd = svd
        c.threshold = report.settings.threshold
        c.policyPath = report.settings.policy
        c.baselinePath = report.settings.baseline
        c.maxIncreasePercent = report.settings.maxIncreasePercent
        c.inputShape = report.settings.inputShape
        // The partial audits validated the shape (and any --force-input-shape) already.
        c.forceInputShape = true
        c.dataThreshold = report.settings.dataThreshold
        c.heavyTail = report.settings.heavyTail
        c.seed = report.settings.seed
        c.manifestPath = report.shard?.arch
        c.allowUnavailable = report.shard?.allowUnavailable ?? false
        c.timestamps = report.created != nil
        return c
    }

    /// Checks that `reports` are the N distinct shards of one audit of one file.
    public static func validate(_ reports: [AuditReportV1], paths: [String]? = nil) throws {
        func label(_ k: Int) -> String { paths.map { "'\($0[k])'" } ?? "report \(k + 1)" }
        guard let first = reports.first else { throw ReportMergeError("no reports to merge") }
        var seen: [Int: Int] = [:]
        for (k, r) in reports.enumerated() {
            guard let shard = r.shard else { throw ReportMergeError("\(label(k)) is not a partial report (no shard; audit with --shard I/N)") }
            guard shard.count == first.shard!.count else {
                throw ReportMergeError("\(label(k)) is shard \(shard.index)/\(shard.count), \(label(0)) is shard \(first.shard!.index)/\(first.shard!.count): different shard counts")
            }
            guard r.input.sha256 == first.input.sha256 else {
                throw ReportMergeError("\(label(k)) and \(label(0)) are reports of different files (sha256 \(r.input.sha256.prefix(12))… vs \(first.input.sha256.prefix(12))…)")
            }
            guard r.settings == first.settings, r.shard?.arch == first.shard?.arch,
                  r.shard?.allowUnavailable == first.shard?.allowUnavailable, r.input.format == first.input.format else {
                throw ReportMergeError("\(label(k)) and \(label(0)) were audited with different settings")
            }
            if let other = seen[shard.index] {
                throw ReportMergeError("shard \(shard.index)/\(shard.count) is given twice (\(label(other)) and \(label(k)))")
            }
            seen[shard.index] = k
        }
        let n = first.shard!.count
        let missing = (1...n).filter { seen[$0] == nil }
        if !missing.isEmpty {
            throw ReportMergeError("missing shard\(missing.count == 1 ? "" : "s") \(missing.map { "\($0)/\(n)" }.joined(separator: ", "))")
        }
    }

    /// Merges the partial reports. `modelPath` overrides the path recorded in the reports;
    /// `configuration` defaults to `configuration(from:)` of the first report.
    public static func merge(_ reports: [AuditReportV1], modelPath: String? = nil,
                             configuration: AuditConfiguration? = nil, paths: [String]? = nil) throws -> AuditReportV1 {
        try validate(reports, paths: paths)
        var config = try configuration ?? Self.configuration(from: reports[0])
        config.shard = nil
        let path = modelPath ?? reports[0].input.path
        let store = try ModelFile.open(path, limits: config.limits)
        let graph = try Auditor.buildGraph(store: store, configuration: config)
        var index: [String: Int] = [:]
        for (i, node) in graph.nodes.enumerated() { index[node.name] = i }
        var rows: [Int: LayerReport] = [:]
        var bounds: [Int: ShardBoundInput] = [:]
        for (k, r) in reports.enumerated() {
            for row in r.layers {
                guard let i = index[row.name] else { continue }
                if rows[i] != nil {
                    throw ReportMergeError("layer '\(row.name)' is in more than one report (overlapping shards)")
                }
                rows[i] = row
            }
            for b in r.shard?.bounds ?? [] {
                if bounds[b.node] != nil {
                    throw ReportMergeError("layer '\(b.layer)' was analysed in more than one report (overlapping shards, report \(k + 1))")
                }
                bounds[b.node] = b
            }
        }
        let replay = ShardReplay(sha256: reports[0].input.sha256, rows: rows, bounds: bounds)
        return try Auditor.run(store: store, configuration: config, replay: replay)
    }
}
