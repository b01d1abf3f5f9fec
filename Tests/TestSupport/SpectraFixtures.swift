import Foundation

/// Paths into the repository's `fixtures/` folder, found from this source file's location so
/// tests need no bundle resources and no Python. (Shared by every test target
/// that reads `fixtures/spectra/`; see fixtures/README.md.)
public enum SpectraFixtures {
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // TestSupport
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // package root
        .appendingPathComponent("fixtures")
        .appendingPathComponent("spectra")

    public struct Manifest: Decodable, Sendable {
        public var eps: Double
        public var matrices: [MatrixCase]
        public var convs: [ConvCase]
        public var batchnorm: BatchNormCase
    }

    public struct MatrixCase: Decodable, Sendable {
        public var name: String
        public var kind: String
        public var rows: Int
        public var cols: Int
        public var file: String
        public var frobeniusEntries: Double
        public var singularValues: [Double]
        public var metrics: [String: Double?]
        public var heavyTail: [String: Double?]?
        public enum CodingKeys: String, CodingKey {
            case name, kind, rows, cols, file, metrics
            case frobeniusEntries = "frobenius_entries"
            case singularValues = "singular_values"
            case heavyTail = "heavy_tail"
        }
    }

    public struct ConvCase: Decodable, Sendable {
        public var name: String
        public var groups: Int
        public var shapeOIHW: [Int]
        public var fileOIHW: String
        public var shapeHWIO: [Int]
        public var fileHWIO: String
        public var shapeHWIM: [Int]?
        public var fileHWIM: String?
        public var circular: [String: [Double]]
        public var reshapedSingularValues: [[Double]]
        public enum CodingKeys: String, CodingKey {
            case name, groups, circular
            case shapeOIHW = "shape_oihw", fileOIHW = "file_oihw"
            case shapeHWIO = "shape_hwio", fileHWIO = "file_hwio"
            case shapeHWIM = "shape_hwim", fileHWIM = "file_hwim"
            case reshapedSingularValues = "reshaped_singular_values"
        }
    }

    public struct BatchNormCase: Decodable, Sendable {
        public var rows: Int
        public var cols: Int
        public var file: String
        public var gamma: [Double]
        public var beta: [Double]
        public var mean: [Double]
        public var variance: [Double]
        public var epsilon: Double
        public var scale: [Double]
        public var folded: [Double]
    }

    public static let manifest: Manifest = {
        let url = root.appendingPathComponent("manifest.json")
        guard let data = try? Data(contentsOf: url) else { fatalError("missing \(url.path)") }
        do { return try JSONDecoder().decode(Manifest.self, from: data) } catch { fatalError("\(url.path): \(error)") }
    }()

    /// Raw little-endian float64 file.
    public static func doubles(_ file: String) -> [Double] {
        let url = root.appendingPathComponent(file)
        guard let data = try? Data(contentsOf: url) else { fatalError("missing \(url.path)") }
        precondition(data.count % 8 == 0)
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 8)).map { Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self))) }
        }
    }

    public static func matrixCase(_ name: String) -> MatrixCase {
        guard let c = manifest.matrices.first(where: { $0.name == name }) else { fatalError("no fixture \(name)") }
        return c
    }
}
