import XCTest
@testable import WeightFiles

final class ElementDecodingTests: XCTestCase {
    func testHalfConversionMatchesIEEE() {
        // Reference bit patterns from numpy: np.array([...], np.float16).view(np.uint16).
        let cases: [(UInt16, Float)] = [
            (0x0000, 0), (0x8000, -0.0), (0x3C00, 1), (0xBC00, -1), (0x3555, 0.333251953125),
            (0x7BFF, 65504), (0x0001, 5.9604644775390625e-08), (0x03FF, 6.097555160522461e-05),
            (0x0400, 6.103515625e-05), (0x7C00, .infinity), (0xFC00, -.infinity),
        ]
        for (bits, value) in cases {
            XCTAssertEqual(ElementDecoding.halfToFloat(bits), value, "bits \(String(bits, radix: 16))")
        }
        XCTAssertTrue(ElementDecoding.halfToFloat(0x7E00).isNaN)
    }

    func testBFloat16IsUpperHalfOfFloat() {
        XCTAssertEqual(ElementDecoding.bfloat16ToFloat(0x3F80), 1)
        XCTAssertEqual(ElementDecoding.bfloat16ToFloat(0xC040), -3)
        XCTAssertEqual(ElementDecoding.bfloat16ToFloat(0x3E20), 0.15625)
    }

    func testBigEndianFloat32AndFortranOrder() {
        // 2×3 array [[1,2,3],[4,5,6]] stored Fortran order (1,4,2,5,3,6), big-endian f32.
        let fortran: [Float] = [1, 4, 2, 5, 3, 6]
        var bytes: [UInt8] = []
        for v in fortran { withUnsafeBytes(of: v.bitPattern.bigEndian) { bytes.append(contentsOf: $0) } }
        let c = bytes.withUnsafeBytes {
            ElementDecoding.decodeTensor($0, dtype: .float32, byteOrder: .big, shape: [2, 3], fortranOrder: true)
        }
        XCTAssertEqual(c, [1, 2, 3, 4, 5, 6])
        let native = bytes.withUnsafeBytes {
            ElementDecoding.nativeBytes($0, dtype: .float32, byteOrder: .big, shape: [2, 3], fortranOrder: true)
        }
        let floats = native.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        XCTAssertEqual(floats, [1, 2, 3, 4, 5, 6])
    }

    func testCheckedSizeRejectsOverflowAndNegatives() {
        XCTAssertEqual(CheckedSize.product([2, 3, 4]), 24)
        XCTAssertEqual(CheckedSize.product([]), 1)
        XCTAssertNil(CheckedSize.product([1 << 40, 1 << 40]))
        XCTAssertNil(CheckedSize.product([4, -1]))
        XCTAssertNil(CheckedSize.bytes(count: Int.max / 2, elementSize: 4))
    }
}
