import ArgumentParser
import Audit
import AuditReport
import Foundation
import ReportWriters
import WeightFiles

/// `spectral-audit inspect MODEL [--json]`: lists layers and tensors without analysing them.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List the tensors of a model file (name, role, layer, shape, dtype, layout) and any stored audit."
    )

    @Argument(help: "The model file, or a Hugging Face model folder.")
    var model: String

    @Flag(help: "Print JSON (schema: schemas/inspect.schema.json) instead of a table.")
    var json = false

    @Flag(name: .customLong("load-all"), help: "Also load every tensor once (checks data is readable; used by the read benchmark).")
    var loadAll = false

    @Option(name: .customLong("max-tensor-bytes"), help: "Refuse tensors larger than this many bytes.")
    var maxTensorBytes: Int?

    func run() throws {
        var limits = ReaderLimits()
        if let b = maxTensorBytes { limits.maxTensorBytes = b }
        let model = try ModelFile.resolveFolder(self.model)
        let storedAuditReadable = try Preflight.checkModel(model, tensors: loadAll ? .float32 : .none)
        let store = try ModelFile.open(model, limits: limits)
        if loadAll {
            // Tensors in an encoding the reader does not decode are listed as such, not loaded.
            for t in store.tensors where t.elementCount > 0 && t.quantization?.unsupportedReason == nil {
                _ = try store.loadFloat32(t.name)
            }
        }
        let stored = storedAuditReadable ? try? AnnotatedHDF5.readReport(path: model) : nil
        let listing = InspectListing(store: store, storedAudit: stored,
                                     inputShape: Auditor.storedInputShape(store: store, limits: limits))
        if json {
            Terminal.writeStdout(String(decoding: try listing.jsonData(), as: UTF8.self))
        } else {
            Terminal.writeStdout(listing.table())
        }
    }
}
