package supervision

import "github.com/arangomesos/arangomesos/node/cluster"

// txn builds one Agency transaction: operations plus the preconditions that
// make it safe to apply to a state that may have moved since the snapshot.
type txn struct {
	ops map[string]cluster.Operation
	pre map[string]cluster.Precondition
}

func newTxn() *txn {
	return &txn{ops: map[string]cluster.Operation{}, pre: map[string]cluster.Precondition{}}
}

func (t *txn) set(key string, v any) *txn                   { t.ops[key] = cluster.Set(v); return t }
func (t *txn) del(key string) *txn                          { t.ops[key] = cluster.Delete(); return t }
func (t *txn) push(key string, v any) *txn                  { t.ops[key] = cluster.Push(v); return t }
func (t *txn) erase(key string, v any) *txn                 { t.ops[key] = cluster.Erase(v); return t }
func (t *txn) incr(key string) *txn                         { t.ops[key] = cluster.Increment(1); return t }
func (t *txn) old(key string, v any) *txn                   { t.pre[key] = cluster.Old(v); return t }
func (t *txn) empty(key string) *txn                        { t.pre[key] = cluster.OldEmpty(true); return t }
func (t *txn) exists(key string) *txn                       { t.pre[key] = cluster.OldEmpty(false); return t }
func (t *txn) cond(key string, p cluster.Precondition) *txn { t.pre[key] = p; return t }

func (t *txn) build() cluster.Transaction {
	tr := cluster.Transaction{Ops: t.ops}
	if len(t.pre) > 0 {
		tr.Preconds = t.pre
	}
	return tr
}

// planBump adds the Plan/Version increment every Plan change carries.
func (t *txn) planBump() *txn { return t.incr(cluster.PlanVersion) }
