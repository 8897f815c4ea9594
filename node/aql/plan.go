package aql

// Plan is a query with its bind parameters bound: what a coordinator runs
// for POST /_api/cursor. Scan the collection, keep the documents Match
// accepts, sort them stably with Less, skip Offset of them, keep Count
// (all if Count is negative), and answer Return of each. A Plan is never
// modified, so its methods may be called concurrently.
type Plan struct {
	collection string
	filters    []expr
	sorts      []sortKey
	offset     int
	count      int
	ret        expr
}

// Collection is the name of the collection to scan, from FOR … IN name or
// FOR … IN @@name.
func (p *Plan) Collection() string { return p.collection }

// Match reports whether the document passes every FILTER.
func (p *Plan) Match(doc map[string]any) bool {
	for _, f := range p.filters {
		if !f.test(doc) {
			return false
		}
	}
	return true
}

// HasSort reports whether the query has a SORT; without one, Less is
// always false and the order is that of the scan.
func (p *Plan) HasSort() bool { return len(p.sorts) > 0 }

// Less reports whether document a sorts before document b under SORT, in
// AQL's value order (Compare). Documents that SORT does not tell apart are
// not less than each other, so a stable sort keeps their scan order.
func (p *Plan) Less(a, b map[string]any) bool {
	for _, k := range p.sorts {
		c := Compare(k.e.eval(a), k.e.eval(b))
		if k.desc {
			c = -c
		}
		if c != 0 {
			return c < 0
		}
	}
	return false
}

// Offset is the number of documents LIMIT skips (0 without LIMIT).
func (p *Plan) Offset() int { return p.offset }

// Count is the number of documents LIMIT keeps after the offset, or -1
// without LIMIT.
func (p *Plan) Count() int { return p.count }

// Return is the value RETURN makes of a matching document. It may share
// memory with doc (RETURN d is doc itself): do not modify either.
func (p *Plan) Return(doc map[string]any) any { return p.ret.eval(doc) }

// SortKey evaluates the SORT expressions of a document once. Sorting many
// documents by their keys with CompareKeys gives the order of Less without
// evaluating the expressions again on every comparison.
func (p *Plan) SortKey(doc map[string]any) []any {
	key := make([]any, len(p.sorts))
	for i, k := range p.sorts {
		key[i] = k.e.eval(doc)
	}
	return key
}

// CompareKeys compares two sort keys from SortKey: negative when a sorts
// before b, 0 when SORT does not tell them apart, positive otherwise.
func (p *Plan) CompareKeys(a, b []any) int {
	for i, k := range p.sorts {
		c := Compare(a[i], b[i])
		if k.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}
