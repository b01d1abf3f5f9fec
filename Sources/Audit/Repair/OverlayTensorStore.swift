import Foundation
import WeightFiles

/// A `TensorStore` that reads like `base` except for replaced tensors, whose values (C order,
/// already representable in the tensor's stored dtype) are served instead. The repair audits its
/// candidate weights through it exactly as the audit would read the written file.
final class OverlayTensorStore: TensorStore, @unchecked Sendable {
    let base: any TensorStore
    let replaced: [String: [Double]]

    init(base: any TensorStore, replaced: [String: [Double]]) {
        self.base = base
        self.replaced = replaced
    }

    var path: String { base.path }
    var format: ModelFormat { base.format }
    var tensors: [TensorInfo] { base.tensors }
    var architectureJSON: String? { base.architectureJSON }

    func loadFloat64(_ name: String) throws -> [Double] {
        if let v = replaced[name] { return v }
        return try base.loadFloat64(name)
    }

    func loadFloat32(_ name: String) throws -> [Float] {
        if let v = replaced[name] { return v.map { Float($0) } }
        return try base.loadFloat32(name)
    }

    func loadNativeBytes(_ name: String) throws -> [UInt8] {
        guard let v = replaced[name] else { return try base.loadNativeBytes(name) }
        let info = try base.info(name)
        return try ElementEncoding.encode(v, shape: info.shape, dtype: info.dtype, byteOrder: .native)
    }
}
