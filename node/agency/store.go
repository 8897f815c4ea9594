package agency

import (
	"sort"
	"strings"
	"time"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// Store is the Agency's JSON tree together with the expiry times of keys set
// with a TTL and the registered observers. Every method takes the time "now"
// explicitly: in the replicated store that is the time carried by the Raft log
// entry, so that every agent decides TTL questions alike.
//
// A Store is not safe for concurrent use; the FSM and the transient store each
// guard theirs with a lock.
type Store struct {
	root      map[string]any
	ttl       map[string]time.Time
	observers map[string]map[string]struct{}
	// hidden is set once a key with a component starting with '.' was
	// written; only then do reads pay for filtering such keys out.
	hidden bool
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{root: map[string]any{}, ttl: map[string]time.Time{}, observers: map[string]map[string]struct{}{}}
}

// txnOutcome is the result of applying one transaction.
type txnOutcome struct {
	ok bool
	// changed lists the keys whose value changed, in application order.
	changed []string
	// failed lists the keys whose precondition did not hold.
	failed []string
}

// applyTxn applies t atomically: all preconditions are checked first, and
// the operations run in lexicographic order of their keys only if all hold.
func (s *Store) applyTxn(t *cluster.Transaction, now time.Time) txnOutcome {
	var out txnOutcome
	keys := make([]string, 0, len(t.Preconds))
	for k := range t.Preconds {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !s.check(k, t.Preconds[k], now) {
			out.failed = append(out.failed, k)
		}
	}
	if len(out.failed) > 0 {
		return out
	}
	out.ok = true
	for _, k := range t.SortedKeys() {
		if s.applyOp(k, t.Ops[k], now) {
			out.changed = append(out.changed, k)
		}
	}
	return out
}

// get returns the visible value at key: keys whose TTL (or an ancestor's)
// has passed are absent.
func (s *Store) get(key string, now time.Time) (any, bool) {
	parts := cluster.SplitPath(key)
	if len(s.ttl) > 0 {
		p := ""
		for _, c := range parts {
			p += "/" + c
			if exp, ok := s.ttl[p]; ok && !now.Before(exp) {
				return nil, false
			}
		}
	}
	return cluster.TreeLookup(s.root, parts)
}

// check evaluates one precondition against the visible value at key.
func (s *Store) check(key string, p cluster.Precondition, now time.Time) bool {
	v, exists := s.get(key, now)
	arr, isArr := v.([]any)
	for _, c := range p {
		var ok bool
		switch c.Kind {
		case cluster.CondOld:
			ok = exists && jsonEqual(v, c.Arg)
		case cluster.CondOldNot:
			ok = !exists || !jsonEqual(v, c.Arg)
		case cluster.CondOldEmpty:
			ok = !exists == c.Arg.(bool)
		case cluster.CondIsArray:
			ok = (exists && isArr) == c.Arg.(bool)
		case cluster.CondIn:
			ok = exists && isArr && arrayContains(arr, c.Arg)
		case cluster.CondNotIn:
			ok = !exists || !isArr || !arrayContains(arr, c.Arg)
		case cluster.CondIntersectionEmpty:
			ok = true
			if exists && isArr {
				for _, e := range c.Arg.([]any) {
					if arrayContains(arr, e) {
						ok = false
						break
					}
				}
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// purgeExpired removes key or its ancestors when their TTL has passed, so
// that an operation sees them as absent, exactly as a read would.
func (s *Store) purgeExpired(key string, now time.Time) {
	if len(s.ttl) == 0 {
		return
	}
	p := ""
	for _, c := range cluster.SplitPath(key) {
		p += "/" + c
		if exp, ok := s.ttl[p]; ok && !now.Before(exp) {
			cluster.TreeRemove(s.root, cluster.SplitPath(p))
			s.dropTTL(p, true)
			return
		}
	}
}

// dropTTL forgets the TTLs strictly under key, and at key itself if self.
func (s *Store) dropTTL(key string, self bool) {
	for k := range s.ttl {
		if (self && k == key) || strings.HasPrefix(k, key+"/") {
			delete(s.ttl, k)
		}
	}
}

// applyOp applies one operation and reports whether the tree changed.
func (s *Store) applyOp(key string, op cluster.Operation, now time.Time) bool {
	s.purgeExpired(key, now)
	parts := cluster.SplitPath(key)
	if !s.hidden && strings.Contains(key, "/.") {
		s.hidden = true
	}
	cur, exists := cluster.TreeLookup(s.root, parts)
	arr, isArr := cur.([]any)
	switch op.Op {
	case cluster.OpSet:
		cluster.TreePut(s.root, parts, cluster.DeepCopy(op.New))
		s.dropTTL(key, true)
		if op.TTL > 0 {
			s.ttl[key] = now.Add(op.TTL)
		}
		return true
	case cluster.OpDelete:
		s.dropTTL(key, true)
		return cluster.TreeRemove(s.root, parts)
	case cluster.OpIncrement, cluster.OpDecrement:
		sign := int64(1)
		if op.Op == cluster.OpDecrement {
			sign = -1
		}
		cluster.TreePut(s.root, parts, addNumbers(cur, op.Step, sign))
		s.dropTTL(key, false)
		return true
	case cluster.OpPush:
		n := make([]any, 0, len(arr)+1)
		n = append(append(n, arr...), cluster.DeepCopy(op.New))
		cluster.TreePut(s.root, parts, n)
		s.dropTTL(key, false)
		return true
	case cluster.OpPrepend:
		n := make([]any, 0, len(arr)+1)
		n = append(append(n, cluster.DeepCopy(op.New)), arr...)
		cluster.TreePut(s.root, parts, n)
		s.dropTTL(key, false)
		return true
	case cluster.OpPop, cluster.OpShift:
		n := []any{}
		if isArr && len(arr) > 0 {
			if op.Op == cluster.OpPop {
				n = append(n, arr[:len(arr)-1]...)
			} else {
				n = append(n, arr[1:]...)
			}
		}
		cluster.TreePut(s.root, parts, n)
		s.dropTTL(key, false)
		return true
	case cluster.OpErase:
		if !exists || !isArr {
			return false
		}
		n := make([]any, 0, len(arr))
		for i, e := range arr {
			if (op.HasPos && i == op.Pos) || (op.HasVal && jsonEqual(e, op.Val)) {
				continue
			}
			n = append(n, e)
		}
		if len(n) == len(arr) {
			return false
		}
		cluster.TreePut(s.root, parts, n)
		return true
	case cluster.OpReplace:
		if !exists || !isArr {
			return false
		}
		n := make([]any, len(arr))
		changed := false
		for i, e := range arr {
			if jsonEqual(e, op.Val) {
				n[i], changed = cluster.DeepCopy(op.New), true
			} else {
				n[i] = e
			}
		}
		if changed {
			cluster.TreePut(s.root, parts, n)
		}
		return changed
	case cluster.OpObserve:
		if s.observers[key] == nil {
			s.observers[key] = map[string]struct{}{}
		}
		s.observers[key][op.URL] = struct{}{}
		return false
	case cluster.OpUnobserve:
		delete(s.observers[key], op.URL)
		if len(s.observers[key]) == 0 {
			delete(s.observers, key)
		}
		return false
	}
	return false
}

// expire removes the keys whose TTL has passed by now; it returns the keys
// it removed. Keys that were set again meanwhile (with a later TTL or none)
// are left alone.
func (s *Store) expire(keys []string, now time.Time) []string {
	var gone []string
	for _, k := range keys {
		exp, ok := s.ttl[k]
		if !ok || now.Before(exp) {
			continue
		}
		cluster.TreeRemove(s.root, cluster.SplitPath(k))
		s.dropTTL(k, true)
		gone = append(gone, k)
	}
	return gone
}

// expiredKeys lists the keys whose TTL has passed by now.
func (s *Store) expiredKeys(now time.Time) []string {
	var keys []string
	for k, exp := range s.ttl {
		if !now.Before(exp) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// read answers one atomic multi-key read: every key with its full path from
// the root, merged into one object (reference §2.2).
func (s *Store) read(q cluster.ReadQuery, now time.Time) map[string]any {
	out := map[string]any{}
	for _, key := range q {
		mergeInto(out, s.readOne(key, now))
	}
	return out
}

func (s *Store) readOne(key string, now time.Time) map[string]any {
	show := strings.Contains(key, "/.")
	parts := cluster.SplitPath(key)
	if len(parts) == 0 {
		c, _ := s.visibleCopy("/", s.root, now, show).(map[string]any)
		return c
	}
	res := map[string]any{}
	cur := res
	var node any = s.root
	path := ""
	for i, p := range parts {
		path += "/" + p
		m, ok := node.(map[string]any)
		if !ok {
			return res
		}
		child, exists := m[p]
		if !exists || (!show && strings.HasPrefix(p, ".")) || s.expiredAt(path, now) {
			return res
		}
		if i == len(parts)-1 {
			cur[p] = s.visibleCopy(path, child, now, show)
			return res
		}
		next := map[string]any{}
		cur[p] = next
		cur, node = next, child
	}
	return res
}

func (s *Store) expiredAt(key string, now time.Time) bool {
	exp, ok := s.ttl[key]
	return ok && !now.Before(exp)
}

// visibleCopy copies the value at key without expired descendants and, unless
// show, without hidden ('.'-prefixed) keys.
func (s *Store) visibleCopy(key string, v any, now time.Time, show bool) any {
	c := cluster.DeepCopy(v)
	m, isMap := c.(map[string]any)
	if !isMap {
		return c
	}
	base := key
	if base == "/" {
		base = ""
	}
	for k, exp := range s.ttl {
		if !now.Before(exp) && strings.HasPrefix(k, base+"/") {
			cluster.TreeRemove(m, cluster.SplitPath(strings.TrimPrefix(k, base)))
		}
	}
	if s.hidden && !show {
		stripHidden(m)
	}
	return m
}

func stripHidden(m map[string]any) {
	for k, v := range m {
		if strings.HasPrefix(k, ".") {
			delete(m, k)
			continue
		}
		if sub, ok := v.(map[string]any); ok {
			stripHidden(sub)
		}
	}
}

// observersOf returns, for every observed key affected by a change of one of
// the changed keys, its URLs: an observer on K hears about changes at K,
// below K, and of any ancestor of K (which replaces K's subtree).
func (s *Store) observersOf(changed []string) map[string]map[string][]string {
	if len(s.observers) == 0 {
		return nil
	}
	out := map[string]map[string][]string{}
	for obs, urls := range s.observers {
		for _, c := range changed {
			if !isUnder(c, obs) && !isUnder(obs, c) {
				continue
			}
			for u := range urls {
				if out[u] == nil {
					out[u] = map[string][]string{}
				}
				out[u][obs] = append(out[u][obs], c)
			}
		}
	}
	return out
}
