/// Finding one collection inside another with the standard library alone.
///
/// `contains(_:)` with a string, `firstRange(of:)`, `split(separator:)` with a string and
/// `replacing(_:with:)` come from _StringProcessing, the Regex module: one call links it and
/// _RegexParser into the daemon (0.9 MB of code, most of it resident; docs/performance.md
/// "Idle memory"). The modules the daemon links are compiled without that module's implicit
/// import (Package.swift), and use these instead: the same results, element by element (a
/// string compares by `Character`, as `String.contains` does).
extension Collection where Element: Equatable {
    /// The first place `pattern` occurs, or nil; an empty pattern occurs at the start.
    /// At most `count × pattern.count` comparisons.
    public func firstOccurrence(of pattern: some Collection<Element>) -> Range<Index>? {
        guard let head = pattern.first else { return startIndex..<startIndex }
        var from = startIndex
        while let found = self[from...].firstIndex(of: head) {
            var here = found
            var there = pattern.startIndex
            while there != pattern.endIndex, here != endIndex, self[here] == pattern[there] {
                formIndex(after: &here)
                pattern.formIndex(after: &there)
            }
            if there == pattern.endIndex { return found..<here }
            if here == endIndex { return nil }
            from = index(after: found)
        }
        return nil
    }

    /// Whether `pattern` occurs in this collection.
    public func includes(_ pattern: some Collection<Element>) -> Bool {
        firstOccurrence(of: pattern) != nil
    }
}

extension RangeReplaceableCollection where Element: Equatable {
    /// Every occurrence of `pattern` (left to right, not overlapping) replaced by `replacement`.
    public func replacingEvery(_ pattern: some Collection<Element>, with replacement: some Collection<Element>) -> Self
    {
        guard !pattern.isEmpty else { return self }
        var result = Self()
        var rest = self[...]
        while let found = rest.firstOccurrence(of: pattern) {
            result.append(contentsOf: rest[..<found.lowerBound])
            result.append(contentsOf: replacement)
            rest = rest[found.upperBound...]
        }
        result.append(contentsOf: rest)
        return result
    }
}
