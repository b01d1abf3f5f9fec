import Foundation
import SwiftProtobuf

/// Decodes a whole `.onnx` file into the generated `Onnx_ModelProto` with apple/swift-protobuf,
/// under spectral-audit's caps: the file size (`ReaderLimits.maxONNXBytes`, at most 2 GiB — a
/// protobuf message cannot be larger), and the protobuf message nesting depth
/// (`BinaryDecodingOptions.messageDepthLimit` = `ReaderLimits.maxONNXMessageDepth`), which bounds
/// subgraph nesting (each `If`/`Loop`/`Scan` level is three messages: node → attribute → graph)
/// before any recursion of ours. Every swift-protobuf error becomes one `WeightFileError` line.
enum ONNXModelDecoding {
    static func decode(_ file: FileBytes, limits: ReaderLimits) throws -> Onnx_ModelProto {
        let path = file.path
        guard file.count <= limits.maxONNXBytes else {
            throw WeightFileError(.limitExceeded, path: path, place: "file",
                                  expected: "at most \(limits.maxONNXBytes) bytes (ReaderLimits.maxONNXBytes)",
                                  found: "\(file.count) bytes")
        }
        var options = BinaryDecodingOptions()
        options.messageDepthLimit = limits.maxONNXMessageDepth
        do {
            return try withExtendedLifetime(file) {
                let all = file.all
                guard let base = all.baseAddress, all.count > 0 else {
                    throw WeightFileError(.malformed, path: path, place: "byte 0", expected: "an ONNX ModelProto", found: "an empty file")
                }
                // No copy: the mapping outlives the decode; bytes fields are copied out by the decoder.
                let data = Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: all.count, deallocator: .none)
                return try Onnx_ModelProto(serializedBytes: data, partial: true, options: options)
            }
        } catch let e as WeightFileError {
            throw e
        } catch let e as BinaryDecodingError {
            throw describe(e, path: path, limits: limits)
        } catch {
            throw WeightFileError(.malformed, path: path, place: "ModelProto", expected: "a valid protobuf message",
                                  found: String("\(error)".prefix(120)))
        }
    }

    static func describe(_ e: BinaryDecodingError, path: String, limits: ReaderLimits) -> WeightFileError {
        switch e {
        case .messageDepthLimit:
            return WeightFileError(.limitExceeded, path: path, place: "ModelProto",
                                   expected: "protobuf messages nested at most \(limits.maxONNXMessageDepth) deep (ReaderLimits.maxONNXMessageDepth; subgraphs add 3 levels each)",
                                   found: "deeper")
        case .truncated:
            return WeightFileError(.malformed, path: path, place: "ModelProto",
                                   expected: "a complete protobuf message", found: "a field running past the end of the file (truncated)")
        case .invalidUTF8:
            return WeightFileError(.malformed, path: path, place: "ModelProto", expected: "UTF-8 string fields", found: "invalid UTF-8")
        case .malformedProtobuf:
            return WeightFileError(.malformed, path: path, place: "ModelProto",
                                   expected: "valid protobuf wire format", found: "a malformed field (bad tag, wire type or length)")
        default:
            return WeightFileError(.malformed, path: path, place: "ModelProto", expected: "a valid protobuf message", found: "\(e)")
        }
    }
}
