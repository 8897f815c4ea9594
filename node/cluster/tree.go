package cluster

// The Agency's tree is plain decoded JSON: map[string]any for objects (the
// inner nodes), and []any, string, json.Number, bool or nil for leaves. These
// helpers work on such trees; both the Agency's store and the watching Cache
// use them.

// TreeLookup returns the value at the path components, and whether it exists.
func TreeLookup(root map[string]any, parts []string) (any, bool) {
	var cur any = root
	for _, p := range parts {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = m[p]
		if !ok {
			return nil, false
		}
	}
	return cur, true
}

// TreePut sets the value at the path components (at least one), creating
// objects on the way and replacing leaves that stand where an object is
// needed.
func TreePut(root map[string]any, parts []string, v any) {
	m := root
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
}

// TreeRemove deletes the value at the path components (at least one); it
// reports whether something was there.
func TreeRemove(root map[string]any, parts []string) bool {
	var cur any = root
	for _, p := range parts[:len(parts)-1] {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		cur = m[p]
	}
	m, ok := cur.(map[string]any)
	if !ok {
		return false
	}
	_, had := m[parts[len(parts)-1]]
	delete(m, parts[len(parts)-1])
	return had
}

// DeepCopy copies a JSON value so that the copy shares nothing mutable.
func DeepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(t))
		for k, e := range t {
			c[k] = DeepCopy(e)
		}
		return c
	case []any:
		c := make([]any, len(t))
		for i, e := range t {
			c[i] = DeepCopy(e)
		}
		return c
	default:
		return v
	}
}
