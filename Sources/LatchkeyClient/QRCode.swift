/// A QR code (ISO/IEC 18004) of a short text, for the terminal: byte mode, error correction
/// level M, versions 1–10 (up to 213 bytes, plenty for a verification URL). The mask is the
/// one with the lowest penalty (rules 1, 2 and 4). Foundation-free, like the rest of the client.
public struct QRCode: Sendable {
    public let version: Int
    public let mask: Int
    /// `modules[y][x]`, true for dark.
    public let modules: [[Bool]]

    public var size: Int { modules.count }

    /// nil when the text is longer than version 10 holds at level M.
    public init?(_ text: String, mask fixedMask: Int? = nil) {
        let bytes = Array(text.utf8)
        guard let version = (1...10).first(where: { Self.dataCapacity($0) >= Self.bitLength(bytes, version: $0) })
        else {
            return nil
        }
        self.version = version
        let codewords = Self.withErrorCorrection(Self.dataCodewords(bytes, version: version), version: version)
        var matrix = Matrix(version: version)
        matrix.drawFunctionPatterns()
        matrix.placeData(codewords)
        var best: (penalty: Int, mask: Int, modules: [[Bool]])?
        for candidate in fixedMask.map({ [$0] }) ?? Array(0..<8) {
            var masked = matrix
            masked.apply(mask: candidate)
            masked.drawFormatBits(mask: candidate)
            let penalty = masked.penalty()
            if best == nil || penalty < best!.penalty { best = (penalty, candidate, masked.modules) }
        }
        mask = best!.mask
        modules = best!.modules
    }

    /// Two rows per line with half blocks, dark on light, inside a quiet zone of `border`
    /// modules; `ansi` paints the light background explicitly (dark terminals).
    public func terminalLines(border: Int = 2, ansi: Bool = true) -> [String] {
        let side = size + 2 * border
        func dark(_ x: Int, _ y: Int) -> Bool {
            let (mx, my) = (x - border, y - border)
            return mx >= 0 && my >= 0 && mx < size && my < size && modules[my][mx]
        }
        var lines: [String] = []
        for y in stride(from: 0, to: side, by: 2) {
            var line = ansi ? "\u{1B}[30;47m" : ""
            for x in 0..<side {
                switch (dark(x, y), y + 1 < side && dark(x, y + 1)) {
                case (true, true): line += "█"
                case (true, false): line += "▀"
                case (false, true): line += "▄"
                case (false, false): line += " "
                }
            }
            lines.append(line + (ansi ? "\u{1B}[0m" : ""))
        }
        return lines
    }

    // MARK: Encoding

    /// (error correction codewords per block, [(blocks, data codewords per block)]) at level M.
    static let blocks: [(ec: Int, groups: [(count: Int, data: Int)])] = [
        (10, [(1, 16)]), (16, [(1, 28)]), (26, [(1, 44)]), (18, [(2, 32)]), (24, [(2, 43)]),
        (16, [(4, 27)]), (18, [(4, 31)]), (22, [(2, 38), (2, 39)]), (22, [(3, 36), (2, 37)]),
        (26, [(4, 43), (1, 44)]),
    ]
    static let alignment: [[Int]] = [
        [], [6, 18], [6, 22], [6, 26], [6, 30], [6, 34], [6, 22, 38], [6, 24, 42], [6, 26, 46], [6, 28, 50],
    ]

    static func dataCapacity(_ version: Int) -> Int {
        blocks[version - 1].groups.reduce(0) { $0 + $1.count * $1.data } * 8
    }

    /// Byte mode: the count takes 8 bits up to version 9, 16 from version 10.
    static func countBits(_ version: Int) -> Int { version < 10 ? 8 : 16 }

    static func bitLength(_ bytes: [UInt8], version: Int) -> Int { 4 + countBits(version) + bytes.count * 8 }

    static func dataCodewords(_ bytes: [UInt8], version: Int) -> [UInt8] {
        var bits: [Bool] = []
        func append(_ value: Int, _ count: Int) {
            for i in stride(from: count - 1, through: 0, by: -1) { bits.append((value >> i) & 1 == 1) }
        }
        append(0b0100, 4)
        append(bytes.count, countBits(version))
        for byte in bytes { append(Int(byte), 8) }
        let capacity = dataCapacity(version)
        append(0, min(4, capacity - bits.count))
        append(0, (8 - bits.count % 8) % 8)
        var codewords = stride(from: 0, to: bits.count, by: 8).map { start in
            bits[start..<start + 8].reduce(UInt8(0)) { ($0 << 1) | ($1 ? 1 : 0) }
        }
        var pad: UInt8 = 0xEC
        while codewords.count * 8 < capacity {
            codewords.append(pad)
            pad = pad == 0xEC ? 0x11 : 0xEC
        }
        return codewords
    }

    static func withErrorCorrection(_ data: [UInt8], version: Int) -> [UInt8] {
        let table = blocks[version - 1]
        let divisor = ReedSolomon.divisor(degree: table.ec)
        var dataBlocks: [[UInt8]] = []
        var offset = 0
        for group in table.groups {
            for _ in 0..<group.count {
                dataBlocks.append(Array(data[offset..<offset + group.data]))
                offset += group.data
            }
        }
        let ecBlocks = dataBlocks.map { ReedSolomon.remainder($0, divisor: divisor) }
        var out: [UInt8] = []
        for i in 0..<(dataBlocks.map(\.count).max() ?? 0) {
            for block in dataBlocks where i < block.count { out.append(block[i]) }
        }
        for i in 0..<table.ec {
            for block in ecBlocks { out.append(block[i]) }
        }
        return out
    }
}

/// Reed–Solomon over GF(2^8) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1.
enum ReedSolomon {
    static func multiply(_ x: UInt8, _ y: UInt8) -> UInt8 {
        var z = 0
        for i in stride(from: 7, through: 0, by: -1) {
            z = (z << 1) ^ ((z >> 7) * 0x11D)
            z ^= ((Int(y) >> i) & 1) * Int(x)
        }
        return UInt8(z)
    }

    /// The generator polynomial's coefficients, highest first, without the leading 1.
    static func divisor(degree: Int) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: degree)
        result[degree - 1] = 1
        var root: UInt8 = 1
        for _ in 0..<degree {
            for j in 0..<degree {
                result[j] = multiply(result[j], root)
                if j + 1 < degree { result[j] ^= result[j + 1] }
            }
            root = multiply(root, 0x02)
        }
        return result
    }

    static func remainder(_ data: [UInt8], divisor: [UInt8]) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: divisor.count)
        for byte in data {
            let factor = byte ^ result.removeFirst()
            result.append(0)
            for i in 0..<result.count { result[i] ^= multiply(divisor[i], factor) }
        }
        return result
    }
}
