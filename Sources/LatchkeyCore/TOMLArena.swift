/// The document as the reader builds it: every table, array and value a node in one array,
/// linked by index, so that headers, dotted keys and arrays of tables extend tables in place
/// (no copy-on-write of nested values) and the rules of TOML 1.0 §Table about defining a table
/// once are checked with flags on the nodes.
struct TOMLArena {
    enum Kind { case table, array, scalar }

    struct Node {
        var kind: Kind
        var scalar: TOMLValue = .bool(false)
        var keys: [String] = []
        var children: [String: Int] = [:]
        var items: [Int] = []
        var line: Int
        var column: Int
        var depth: Int
        /// Defined by a `[header]` or as an element of an array of tables.
        var explicit = false
        /// The section (the text under one header) whose dotted keys created or extended this
        /// table; a later section may not extend it with dotted keys, nor define it by a header.
        var dottedSection: Int?
        /// An inline table or a static array: complete once written, never extended.
        var frozen = false
        /// An array made by `[[header]]`s (only these may gain elements later).
        var tableArray = false
    }

    private(set) var nodes: [Node]

    init() {
        nodes = [Node(kind: .table, line: 1, column: 1, depth: 0)]
    }

    subscript(i: Int) -> Node {
        get { nodes[i] }
        _modify { yield &nodes[i] }
    }

    /// A new node, one level below `parentDepth`; nil when that would nest too deep.
    mutating func make(_ kind: Kind, line: Int, column: Int, parentDepth: Int) -> Int? {
        guard parentDepth < TOMLTable.maxDepth else { return nil }
        nodes.append(Node(kind: kind, line: line, column: column, depth: parentDepth + 1))
        return nodes.count - 1
    }

    mutating func makeScalar(_ value: TOMLValue, line: Int, column: Int) -> Int {
        nodes.append(Node(kind: .scalar, scalar: value, line: line, column: column, depth: 0))
        return nodes.count - 1
    }

    mutating func attach(_ child: Int, as key: String, to parent: Int) {
        nodes[parent].keys.append(key)
        nodes[parent].children[key] = child
    }

    /// The public value of node `i`. Recursion here is bounded: no node is deeper than
    /// `TOMLTable.maxDepth`.
    func value(_ i: Int) -> TOMLValue {
        let node = nodes[i]
        switch node.kind {
        case .scalar: return node.scalar
        case .array: return .array(node.items.map { value($0) })
        case .table: return .table(table(i))
        }
    }

    func table(_ i: Int) -> TOMLTable {
        let node = nodes[i]
        var table = TOMLTable(line: node.line, column: node.column)
        for key in node.keys {
            guard let child = node.children[key] else { continue }
            table.set(key, TOMLTable.Entry(value: value(child), line: nodes[child].line, column: nodes[child].column))
        }
        return table
    }
}
