import Foundation
import AuditReport
import WeightFiles

/// A policy file (`--policy FILE`, schema `schemas/policy.schema.json`): limits on GMSI, on
/// network bounds, and on per-layer metrics for layers selected by glob.
///
/// ```json
/// {"schema": "spectral-audit-policy/1",
///  "gmsi_max": 50,
///  "network": {"log10_lipschitz_bound_max": 3},
///  "rules": [{"layers": "conv*", "metric": "spectral_norm", "max": 5},
///            {"layers": "*", "metric": "normalized_entropy", "min": 0.2}]}
/// ```
public struct Policy: Sendable, Equatable {
    public static let schemaName = "spectral-audit-policy/1"

    public struct Rule: Sendable, Equatable {
        /// fnmatch-style glob over layer names (`*`, `?`, `[…]`).
        public var layers: String
        /// A SPEC §2 metric name, or `operator_norm`.
        public var metric: String
        public var max: Double?
        public var min: Double?
        /// `"optional": true`: matching no layer is allowed (otherwise a usage error, exit 2).
        public var optional: Bool = false
    }

    public var gmsiMax: Double?
    /// Network metric name (`lipschitz_bound`, `log10_lipschitz_bound`, `typical_bound`,
    /// `typical_bound_stable_rank`) → maximum.
    public var networkMax: [String: Double]
    public var rules: [Rule]
    public var allowUnavailable: Bool?

    public static let layerMetrics = SpectrumMetricsV1.names + ["operator_norm"]
    public static let networkMetrics = ["lipschitz_bound", "log10_lipschitz_bound", "typical_bound", "typical_bound_stable_rank"]

    public struct ParseError: Error, CustomStringConvertible {
        public var path: String
        public var message: String
        public var description: String { "\(path): \(message)" }
    }

    /// Parses a policy document strictly: unknown keys, unknown metrics and rules without a
    /// limit are errors.
    public static func parse(_ data: Data, path: String) throws -> Policy {
        let root: JSONValue
        do {
            root = try JSONValue.parse(data, maxDepth: 32)
        } catch {
            throw ParseError(path: path, message: "\(error)")
        }
        func fail(_ place: String, _ msg: String) -> ParseError { ParseError(path: path, message: "\(place): \(msg)") }
        guard root.isObject else { throw fail("top level", "expected a JSON object") }
        let allowed: Set<String> = ["schema", "gmsi_max", "network", "rules", "allow_unavailable", "description"]
        for k in root.keys where !allowed.contains(k) {
            throw fail("key '\(k)'", "unknown (expected one of \(allowed.sorted().joined(separator: ", ")))")
        }
        if let s = root["schema"], s.string != schemaName {
            throw fail("schema", "expected \"\(schemaName)\"")
        }
        if let d = root["description"], d.string == nil { throw fail("description", "expected a string") }
        var policy = Policy(gmsiMax: nil, networkMax: [:], rules: [], allowUnavailable: nil)
        if let g = root["gmsi_max"] {
            guard let v = g.number, v.isFinite else { throw fail("gmsi_max", "expected a number") }
            policy.gmsiMax = v
        }
        if let a = root["allow_unavailable"] {
            guard let b = a.bool else { throw fail("allow_unavailable", "expected true or false") }
            policy.allowUnavailable = b
        }
        if let n = root["network"] {
            guard n.isObject else { throw fail("network", "expected an object") }
            for k in n.keys {
                let known = networkMetrics + DeltaReport.networkMetricNames + TransformerChecks.metrics
                guard k.hasSuffix("_max"), known.contains(String(k.dropLast(4))) else {
                    throw fail("network.\(k)", "unknown (expected one of \(known.map { $0 + "_max" }.joined(separator: ", ")))")
                }
                guard let v = n[k]?.number, v.isFinite else { throw fail("network.\(k)", "expected a number") }
                policy.networkMax[String(k.dropLast(4))] = v
            }
        }
        if let rules = root["rules"] {
            guard let list = rules.array else { throw fail("rules", "expected an array") }
            for (i, r) in list.enumerated() {
                let place = "rules[\(i)]"
                guard r.isObject else { throw fail(place, "expected an object") }
                for k in r.keys where !["layers", "metric", "max", "min", "optional"].contains(k) {
                    throw fail("\(place).\(k)", "unknown key")
                }
                guard let metric = r["metric"]?.string else { throw fail("\(place).metric", "expected a metric name") }
                guard layerMetrics.contains(metric) || DeltaReport.metricNames.contains(metric) else {
                    throw fail("\(place).metric", "unknown metric '\(metric)' (expected one of \((layerMetrics + DeltaReport.metricNames).joined(separator: ", ")))")
                }
                let maxV = r["max"]?.number
                let minV = r["min"]?.number
                if r["max"] != nil && !(maxV?.isFinite ?? false) { throw fail("\(place).max", "expected a finite number") }
                if r["min"] != nil && !(minV?.isFinite ?? false) { throw fail("\(place).min", "expected a finite number") }
                guard maxV != nil || minV != nil else { throw fail(place, "expected \"max\" or \"min\"") }
                if let l = r["layers"], l.string == nil { throw fail("\(place).layers", "expected a glob string") }
                var optional = false
                if let o = r["optional"] {
                    guard let b = o.bool else { throw fail("\(place).optional", "expected true or false") }
                    optional = b
                }
                policy.rules.append(Rule(layers: r["layers"]?.string ?? "*", metric: metric, max: maxV, min: minV, optional: optional))
            }
        }
        return policy
    }

    /// fnmatch(3) glob match.
    public static func matches(_ glob: String, _ name: String) -> Bool {
        fnmatch(glob, name, 0) == 0
    }
}
