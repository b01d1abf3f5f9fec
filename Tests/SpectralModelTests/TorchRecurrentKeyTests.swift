import XCTest
@testable import ModelBuilder

/// Issue 19: the one parser of PyTorch recurrent tensor names (`TorchRecurrentKey`): module
/// forms `weight_ih_l{k}[_reverse]` …, Cell forms `weight_ih` … under any prefix, and names that
/// are not recurrent (which every site must leave alone).
final class TorchRecurrentKeyTests: XCTestCase {
    func testModuleForms() throws {
        let k = try XCTUnwrap(TorchRecurrentKey(name: "encoder.rnn.weight_hh_l12_reverse"))
        XCTAssertEqual(k.prefix, "encoder.rnn")
        XCTAssertEqual(k.role, .weightHH)
        XCTAssertEqual(k.layer, 12)
        XCTAssertTrue(k.reverse)
        XCTAssertFalse(k.isCell)
        XCTAssertEqual(k.direction, "l12_reverse")
        XCTAssertEqual(k.name, "encoder.rnn.weight_hh_l12_reverse")
        XCTAssertEqual(k.with(.biasIH).name, "encoder.rnn.bias_ih_l12_reverse")
        XCTAssertEqual(k.at(layer: 0, reverse: false, role: .weightHR)?.name, "encoder.rnn.weight_hr_l0")
        let top = try XCTUnwrap(TorchRecurrentKey(name: "weight_ih_l0"))
        XCTAssertEqual(top.prefix, "")
        XCTAssertEqual(top.name, "weight_ih_l0")
    }

    func testCellForms() throws {
        for (name, prefix, role) in [("cell.weight_ih", "cell", TorchRecurrentKey.Role.weightIH),
                                     ("encoder.rnn_cell.weight_hh", "encoder.rnn_cell", .weightHH),
                                     ("bias_hh", "", .biasHH)] {
            let k = try XCTUnwrap(TorchRecurrentKey(name: name), name)
            XCTAssertTrue(k.isCell, name)
            XCTAssertEqual(k.prefix, prefix)
            XCTAssertEqual(k.role, role)
            XCTAssertEqual(k.layer, 0)
            XCTAssertFalse(k.reverse)
            XCTAssertEqual(k.direction, "cell")
            XCTAssertEqual(k.name, name)
        }
        // A Cell has one layer and one direction: no other is ever found for it.
        let c = TorchRecurrentKey(name: "c.weight_ih")!
        XCTAssertEqual(c.at(layer: 0, reverse: false, role: .weightHH)?.name, "c.weight_hh")
        XCTAssertNil(c.at(layer: 0, reverse: true, role: .weightIH))
        XCTAssertNil(c.at(layer: 1, reverse: false, role: .weightIH))
        // A Cell has no projection.
        XCTAssertNil(TorchRecurrentKey(name: "cell.weight_hr"))
    }

    func testOtherNamesAreNotKeys() {
        for name in ["fc.weight", "rnn.weight_ih_lx", "rnn.weight_ih_l", "rnn.weight_ih_l0_forward", "rnn.weight_ihx",
                     "rnn.weight_ih_l1234567", "rnn.weight_ih_l-1", "rnn.bias", "weight_ih.scale", "rnn.weight_ih_l٣"] {
            XCTAssertNil(TorchRecurrentKey(name: name), name)
        }
    }

    /// A Cell's names form a module only beside both its weight_ih and weight_hh: a lone
    /// `weight_ih` or `bias_hh` elsewhere is some other module's naming.
    func testCellKeysNeedBothWeights() {
        XCTAssertEqual(TorchRecurrentKey.keys(in: ["a.weight_ih", "a.bias_ih", "b.weight_hh", "c.weight_ih_l0"]).map(\.name), ["c.weight_ih_l0"])
        XCTAssertEqual(Set(TorchRecurrentKey.keys(in: ["a.weight_ih", "a.weight_hh", "a.bias_ih", "fc.weight"]).map(\.name)),
                       ["a.weight_ih", "a.weight_hh", "a.bias_ih"])
    }
}
