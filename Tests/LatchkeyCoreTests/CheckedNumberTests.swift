import LatchkeyCore
import PropertyBased
import Testing

/// The one checked path for numbers from outside: never a trap, an error naming the field.
@Suite struct CheckedNumberTests {
    @Test func finiteNumbersInRangeConvert() throws {
        #expect(try Int(checking: 3599.9, field: "expires_in") == 3599)
        #expect(try Int(checking: 3599.1, field: "expires_in", rounding: .up) == 3600)
        #expect(try Int64(checking: -5, field: "x") == -5)
        #expect(try UInt16(checking: 65535, field: "port") == 65535)
        #expect(try Int(checking: 7, field: "x", in: 1...10) == 7)
    }

    @Test(arguments: [Double.infinity, -.infinity, .nan, 1e19, -1e19, 1e300, -1e300, 9.3e18])
    func nonFiniteAndOutOfRangeAreRefusedNamingTheField(value: Double) {
        #expect { try Int(checking: value, field: "Retry-After") } throws: {
            ($0 as? OutsideNumberError)?.description.hasPrefix("Retry-After is ") == true
        }
        #expect(throws: OutsideNumberError.self) { try Int64(checking: value, field: "x") }
    }

    @Test func theRangeIsTheField() {
        #expect { try Int(checking: -1, field: "the port", in: 1...65535) } throws: {
            ($0 as? OutsideNumberError)?.description == "the port is -1, outside 1...65535"
        }
        #expect(throws: OutsideNumberError.self) { try UInt8(checking: 256, field: "octet") }
        #expect(throws: OutsideNumberError.self) { try UInt8(checking: -1, field: "octet") }
    }

    @Test func clampingNeverTraps() {
        #expect(Int(clamping: .infinity, to: 1...3600) == 3600)
        #expect(Int(clamping: -.infinity, to: 1...3600) == 1)
        #expect(Int(clamping: .nan, to: 1...3600) == nil)
        #expect(Int(clamping: 1e19) == Int.max)
        #expect(Int64(clamping: -1e300) == Int64.min)
        #expect(Int64(clamping: Double(Int64.max)) == Int64.max)
        #expect(Int(clamping: 2.5, to: 0...10, rounding: .up) == 3)
    }

    @Test func secondsKeepTheirFraction() throws {
        #expect(try CheckedNumber.seconds(0.5, field: "t", in: 0...10) == 0.5)
        #expect { try CheckedNumber.seconds(-1e300, field: "expires_in", in: -100...100) } throws: {
            ($0 as? OutsideNumberError)?.description == "expires_in is -1e+300 s, outside -100...100 s"
        }
        #expect { try CheckedNumber.seconds(.nan, field: "expires_in", in: 0...1) } throws: {
            ($0 as? OutsideNumberError)?.description == "expires_in is nan, not a finite number"
        }
    }

    @Test func decimalIsASCIIDigitsOnly() {
        #expect(CheckedNumber.decimal("8443") == 8443)
        #expect(CheckedNumber.decimal("0008443") == 8443)
        #expect(CheckedNumber.decimal("65535", maximum: 65535) == 65535)
        #expect(CheckedNumber.decimal("65536", maximum: 65535) == nil)
        for text in [
            "", "+80", "-1", " 80", "80 ", "\u{663}", "8\u{663}", "１", "1e3", "0x10", "inf", "nan",
            "99999999999999999999999",
        ] {
            #expect(CheckedNumber.decimal(text) == nil, "\(text)")
        }
        #expect(CheckedNumber.decimal("99999999999999999999999", clampedTo: 3600) == 3600)
        #expect(CheckedNumber.decimal("120", clampedTo: 3600) == 120)
        #expect(CheckedNumber.decimal("1e19", clampedTo: 3600) == nil)
    }

    @Test func anyDoubleConvertsOrIsRefusedWithoutTrapping() async {
        let special = Gen<Double?>.element(of: [
            .nan, .infinity, -.infinity, 1e19, -1e19, 9.223372036854775807e18, -0.0, .greatestFiniteMagnitude,
        ])
        .map { $0! }
        await propertyCheck(count: 1000, input: Gen.double(in: -1e20...1e20), special) { value, edge in
            for v in [value, edge] {
                if let n = try? Int(checking: v, field: "x") { #expect(Double(n) == v.rounded(.towardZero)) }
                _ = try? Int32(checking: v, field: "x")
                _ = Int64(clamping: v)
                _ = UInt16(clamping: v)
            }
        }
    }
}
