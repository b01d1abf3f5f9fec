import Foundation
import LinearAlgebra
import WeightFiles

/// A store computed from other stores (never a file's own bytes): the fast paths that read a
/// file directly (`RawTensorSource`) must not serve its tensors.
protocol DerivedTensorStore: TensorStore {}

/// BASE with a PEFT LoRA adapter merged: every tensor as BASE stores it, except each target
/// module's `M.weight`, served as `W + s·B·A` (stored layout `[out, in…]`; with
/// `fan_in_fan_out`, `[in, out]` and `W + (s·B·A)ᵀ`) — what peft's `merge_and_unload()` gives,
/// computed in float64 and not rounded back to the stored dtype. Listing, architecture and
/// orientation are BASE's, so the audit of this store is the audit of the merged model.
final class LoRAMergedStore: DerivedTensorStore, @unchecked Sendable {
    let base: any TensorStore
    let adapter: PEFTAdapter
    /// Base tensor name → module.
    let modules: [String: PEFTAdapter.Module]

    var path: String { base.path }
    var format: ModelFormat { base.format }
    var tensors: [TensorInfo] { base.tensors }
    var architectureJSON: String? { base.architectureJSON }

    init(base: any TensorStore, adapter: PEFTAdapter, modules: [PEFTAdapter.Module]) {
        self.base = base
        self.adapter = adapter
        self.modules = Dictionary(modules.map { ($0.baseTensor, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// `s·B·A` as a row-major `[out, in·∏k]` matrix (B `[out, r, 1…]`, A `[r, in, k…]`).
    static func update(_ module: PEFTAdapter.Module, adapter: PEFTAdapter) throws -> Matrix {
        let (b, a) = try factors(module, adapter: adapter)
        var d = try b.multiplied(by: a)
        for i in d.storage.indices { d.storage[i] *= module.scaling }
        return d
    }

    /// B as `out × r` and A as `r × (in·∏k)`.
    static func factors(_ module: PEFTAdapter.Module, adapter: PEFTAdapter) throws -> (b: Matrix, a: Matrix) {
        let infoA = try adapter.store.info(module.tensorA)
        let infoB = try adapter.store.info(module.tensorB)
        let a = Matrix(rows: module.rank, cols: infoA.elementCount / Swift.max(module.rank, 1),
                       storage: try adapter.store.loadFloat64(module.tensorA))
        let b = Matrix(rows: infoB.shape[0], cols: module.rank, storage: try adapter.store.loadFloat64(module.tensorB))
        return (b, a)
    }

    func loadFloat64(_ name: String) throws -> [Double] {
        var w = try base.loadFloat64(name)
        guard let module = modules[name] else { return w }
        let info = try base.info(name)
        let d = try Self.update(module, adapter: adapter)
        guard d.rows * d.cols == w.count else {
            throw WeightFileError(.malformed, path: adapter.path, place: "module '\(module.name)'",
                                  expected: "an update with \(w.count) elements for '\(name)' \(info.shape)",
                                  found: "[\(d.rows), \(d.cols)]")
        }
        if module.fanInFanOut {
            // Stored [in, out]: W[i, o] += ΔW[o, i].
            for o in 0..<d.rows { for i in 0..<d.cols { w[i * d.rows + o] += d.storage[o * d.cols + i] } }
        } else {
            for i in w.indices { w[i] += d.storage[i] }
        }
        return w
    }

    func loadFloat32(_ name: String) throws -> [Float] {
        try loadFloat64(name).map { Float($0) }
    }

    /// Merged tensors in their stored dtype when it is f32 or f64; others as BASE stores them.
    func loadNativeBytes(_ name: String) throws -> [UInt8] {
        guard modules[name] != nil else { return try base.loadNativeBytes(name) }
        let info = try base.info(name)
        let values = try loadFloat64(name)
        switch info.dtype {
        case .float64: return values.withUnsafeBytes { Array($0) }
        case .float32: return values.map { Float($0) }.withUnsafeBytes { Array($0) }
        default:
            throw WeightFileError(.unsupported, path: base.path, place: "tensor '\(name)'",
                                  detail: "merged LoRA tensors are served as f32/f64 only, not \(info.dtype.rawValue)")
        }
    }
}
