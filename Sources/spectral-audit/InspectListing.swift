import AuditReport
import Foundation
import WeightFiles

/// The `inspect` output: the file's tensors as the readers see them.
struct InspectListing: Encodable {
    static let schemaVersion = "1.1.0"

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
        /// Block-quantized tensors (GGUF): the stored encoding; `dtype` is then the dequantized type.
        var quantization: Quantization?

        enum CodingKeys: String, CodingKey {
            case name, role, layer, variable, shape, dtype, layout, orientation, quantization, byteOrder = "byte_order"
        }
    }

    struct Quantization: Encodable {
        var type: String
        var blockElements: Int
        var blockBytes: Int
        var storedBytes: Int
        var unsupportedReason: String?

        enum CodingKeys: String, CodingKey {
            case type, blockElements = "block_elements", blockBytes = "block_bytes", storedBytes = "stored_bytes"
            case unsupportedReason = "unsupported_reason"
        }
    }

    /// One metadata key of a file that carries typed key/values (GGUF), summarised.
    struct MetadataEntry: Encodable {
        var key: String
        var type: String
        var value: String
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
    /// The model's input shape (no batch dimension) when the file states it (schema 1.1.0).
    var inputShape: [Int]?
    var tensors: [Tensor]
    var storedAudit: StoredAudit?
    /// GGUF: `general.architecture` and every metadata key in file order (arrays summarised).
    var architecture: String?
    var metadata: [MetadataEntry]?
    /// The file's computation graph (ONNX), summarised.
    var graph: InspectGraph?

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version", path, format, tensors
        case hasArchitecture = "has_architecture", storedAudit = "stored_audit", inputShape = "input_shape"
        case architecture, metadata, graph
    }

    init(store: any TensorStore, storedAudit: AuditReportV1?, inputShape: [Int]? = nil) {
        path = store.path
        self.inputShape = inputShape
        format = store.format.rawValue
        hasArchitecture = store.architectureJSON != nil || store.onnxGraph != nil
        graph = store.onnxGraph.map(InspectGraph.init)
        tensors = store.tensors.map {
            Tensor(name: $0.name, role: $0.role.rawValue, layer: $0.layer, variable: $0.variable, shape: $0.shape,
                   dtype: $0.dtype.rawValue, byteOrder: $0.byteOrder.rawValue, layout: $0.layout,
                   orientation: $0.orientation.rawValue,
                   quantization: $0.quantization.map {
                       Quantization(type: $0.scheme, blockElements: $0.blockElements, blockBytes: $0.blockBytes,
                                    storedBytes: $0.storedBytes, unsupportedReason: $0.unsupportedReason)
                   })
        }
        if let m = store as? any ModelMetadataProviding {
            metadata = m.metadataKeys.compactMap { k in m.metadata[k].map { MetadataEntry(key: k, type: $0.type.rawValue, value: $0.summary) } }
            architecture = m.metadata["general.architecture"]?.stringValue
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
        if let s = inputShape {
            out += "input shape: [\(s.map(String.init).joined(separator: ", "))] (without the batch dimension)\n"
        }
        if let a = storedAudit {
            out += "stored audit: verdict \(a.verdict), gmsi \(a.gmsi.map { String(format: "%.6g", $0) } ?? "unavailable") (\(a.gmsiMode)), \(a.layers) layers, definitions \(a.definitions)\n"
        }
        if let metadata {
            out += "architecture: \(architecture ?? "not stated")\n"
            out += "metadata (\(metadata.count) keys):\n"
            let width = metadata.map(\.key.count).max() ?? 0
            for m in metadata {
                out += "  " + m.key.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + m.value + "\n"
            }
        }
        if let graph { out += graph.text() }
        out += "\(tensors.count) tensors\n\n"
        let header = ["name", "role", "layer", "shape", "dtype", "order", "layout", "orientation"]
        let rows = tensors.map { t in
            [t.name, t.role, t.layer ?? "-", "[" + t.shape.map(String.init).joined(separator: ", ") + "]",
             t.quantization.map { "\($0.type)→\(t.dtype)" } ?? t.dtype,
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
        let unread = tensors.filter { $0.quantization?.unsupportedReason != nil }
        if !unread.isEmpty {
            out += "\nnot decoded (listed only):\n"
            for t in unread { out += "  \(t.name): \(t.quantization?.unsupportedReason ?? "")\n" }
        }
        return out
    }
}
