import Foundation

/// Paths into the repository's `fixtures/` folder, found from this source file's location so
/// tests need no bundle resources and no Python. (Copied into each test target that reads
/// `fixtures/spectra/`; see fixtures/README-spectra.md.)
enum SpectraFixtures {
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // <Target>Tests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // package root
        .appendingPathComponent("fixtures")
        .appendingPathComponent("spectra")

    struct Manifest: Decodable {
        var eps: Double
        var matrices: [MatrixCase]
        var convs: [ConvCase]
        var batchnorm: BatchNormCase
    }

    struct MatrixCase: Decodable {
        var name: String
        var kind: String
        var rows: Int
        var cols: Int
        var file: String
        var frobeniusEntries: Double
        var singularValues: [Double]
        var metrics: [String: Double?]
        var heavyTail: [String: Double?]?
        enum CodingKeys: String, CodingKey {
            case name, kind, rows, cols, file, metrics
            case frobeniusEntries = "frobenius_entries"
            case singularValues = "singular_values"
            case heavyTail = "heavy_tail"
        }
    }

    struct ConvCase: Decodable {
        var name: String
        var groups: Int
        var shapeOIHW: [Int]
        var fileOIHW: String
        var shapeHWIO: [Int]
        var fileHWIO: String
        var shapeHWIM: [Int]?
        var fileHWIM: String?
        var circular: [String: [Double]]
        var reshapedSingularValues: [[Double]]
        enum CodingKeys: String, CodingKey {
            case name, groups, circular
            case shapeOIHW = "shape_oihw", fileOIHW = "file_oihw"
            case shapeHWIO = "shape_hwio", fileHWIO = "file_hwio"
            case shapeHWIM = "shape_hwim", fileHWIM = "file_hwim"
            case reshapedSingularValues = "reshaped_singular_values"
        }
    }

    struct BatchNormCase: Decodable {
        var rows: Int
        var cols: Int
        var file: String
        var gamma: [Double]
        var beta: [Double]
        var mean: [Double]
        var variance: [Double]
        var epsilon: Double
        var scale: [Double]
        var folded: [Double]
    }

    static let manifest: Manifest = {
        let url = root.appendingPathComponent("manifest.json")
        guard let data = try? Data(contentsOf: url) else { fatalError("missing \(url.path)") }
        do { return try JSONDecoder().decode(Manifest.self, from: data) } catch { fatalError("\(url.path): \(error)") }
    }()

    /// Raw little-endian float64 file.
    static func doubles(_ file: String) -> [Double] {
        let url = root.appendingPathComponent(file)
        guard let data = try? Data(contentsOf: url) else { fatalError("missing \(url.path)") }
        precondition(data.count % 8 == 0)
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 8)).map { Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self))) }
        }
    }

    static func matrixCase(_ name: String) -> MatrixCase {
        guard let c = manifest.matrices.first(where: { $0.name == name }) else { fatalError("no fixture \(name)") }
        return c
    }
}
