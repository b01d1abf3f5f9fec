import AuditReport
import Foundation
import WeightFiles

/// The `inspect` output: the file's tensors as the readers see them.
struct InspectListing: Encodable {
    static let schemaVersion = "1.0.0"

    struct Tensor: Encodable {
        var name: String
        var role: String
        var layer: String?
        var variable: String?
        var shape: [Int]
        var dtype: String
        var byteOrder: String
        var layout: String
        var orientation: String

        enum CodingKeys: String, CodingKey {
            case name, role, layer, variable, shape, dtype, layout, orientation, byteOrder = "byte_order"
        }
    }

    struct StoredAudit: Encodable {
        var verdict: String
        var gmsi: Double?
        var gmsiMode: String
        var definitions: String
        var layers: Int

        enum CodingKeys: String, CodingKey {
            case verdict, gmsi, definitions, layers, gmsiMode = "gmsi_mode"
        }
    }

    var schemaVersion = InspectListing.schemaVersion
    var path: String
    var format: String
    var hasArchitecture: Bool
    var tensors: [Tensor]
    var storedAudit: StoredAudit?
    /// The file's computation graph (ONNX), summarised.
    var graph: InspectGraph?

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version", path, format, tensors
        case hasArchitecture = "has_architecture", storedAudit = "stored_audit"
        case graph
    }

    init(store: any TensorStore, storedAudit: AuditReportV1?) {
        path = store.path
        format = store.format.rawValue
        hasArchitecture = store.architectureJSON != nil || store.onnxGraph != nil
        graph = store.onnxGraph.map(InspectGraph.init)
        tensors = store.tensors.map {
            Tensor(name: $0.name, role: $0.role.rawValue, layer: $0.layer, variable: $0.variable, shape: $0.shape,
                   dtype: $0.dtype.rawValue, byteOrder: $0.byteOrder.rawValue, layout: $0.layout,
                   orientation: $0.orientation.rawValue)
        }
        self.storedAudit = storedAudit.map {
            StoredAudit(verdict: $0.verdict.rawValue, gmsi: $0.gmsi, gmsiMode: $0.gmsiMode, definitions: $0.definitions,
                        layers: $0.layers.count)
        }
    }

    func jsonData() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        var d = try e.encode(self)
        d.append(0x0A)
        return d
    }

    func table() -> String {
        var out = "\(path)\nformat: \(format)\(hasArchitecture ? "  (architecture stored in the file)" : "")\n"
        if let a = storedAudit {
            out += "stored audit: verdict \(a.verdict), gmsi \(a.gmsi.map { String(format: "%.6g", $0) } ?? "unavailable") (\(a.gmsiMode)), \(a.layers) layers, definitions \(a.definitions)\n"
        }
        if let graph { out += graph.text() }
        out += "\(tensors.count) tensors\n\n"
        let header = ["name", "role", "layer", "shape", "dtype", "order", "layout", "orientation"]
        let rows = tensors.map { t in
            [t.name, t.role, t.layer ?? "-", "[" + t.shape.map(String.init).joined(separator: ", ") + "]", t.dtype,
             t.byteOrder, t.layout, t.orientation]
        }
        var widths = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces) + "\n"
        }
        out += line(header)
        out += line(widths.map { String(repeating: "-", count: $0) })
        for r in rows { out += line(r) }
        return out
    }
}
