package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
)

// OpKind names an Agency write operation, spelled as on the wire.
type OpKind string

// The Agency operations of ArangoDB (reference §2.3). Lock operations are
// not supported.
const (
	OpSet       OpKind = "set"
	OpDelete    OpKind = "delete"
	OpIncrement OpKind = "increment"
	OpDecrement OpKind = "decrement"
	OpPush      OpKind = "push"
	OpPop       OpKind = "pop"
	OpPrepend   OpKind = "prepend"
	OpShift     OpKind = "shift"
	OpErase     OpKind = "erase"
	OpReplace   OpKind = "replace"
	OpObserve   OpKind = "observe"
	OpUnobserve OpKind = "unobserve"
)

// Operation is one write operation on one key.
type Operation struct {
	Op  OpKind
	New any // set, push, prepend, replace
	// TTL, for set, removes the key after that many whole seconds.
	TTL time.Duration
	// Step is the amount of increment/decrement (default 1).
	Step json.Number
	// Val selects the elements of erase and replace.
	Val    any
	HasVal bool
	// Pos selects the element of erase when HasPos.
	Pos    int
	HasPos bool
	// URL is the callback of observe/unobserve.
	URL string
}

// CondKind names a precondition, spelled as on the wire.
type CondKind string

// The Agency preconditions of ArangoDB (reference §2.3).
const (
	CondOld               CondKind = "old"
	CondOldNot            CondKind = "oldNot"
	CondOldEmpty          CondKind = "oldEmpty"
	CondIsArray           CondKind = "isArray"
	CondIn                CondKind = "in"
	CondNotIn             CondKind = "notin"
	CondIntersectionEmpty CondKind = "intersectionEmpty"
)

var condKinds = map[string]CondKind{
	"old": CondOld, "oldNot": CondOldNot, "oldEmpty": CondOldEmpty, "isArray": CondIsArray,
	"in": CondIn, "notin": CondNotIn, "intersectionEmpty": CondIntersectionEmpty,
}

// Condition is one test on the value at a key.
type Condition struct {
	Kind CondKind
	Arg  any
}

// Precondition is the list of conditions on one key; all must hold.
type Precondition []Condition

// Transaction is one Agency write transaction: its operations are applied
// atomically if and only if all its preconditions hold. ClientID, when set,
// lets the writer find out later whether the transaction was applied
// (POST /_api/agency/inquire).
type Transaction struct {
	Ops      map[string]Operation
	Preconds map[string]Precondition
	ClientID string
}

// ReadQuery is one atomic multi-key read.
type ReadQuery []string

// TransactItem is one element of a /_api/agency/transact request: either a
// write or a read.
type TransactItem struct {
	Write *Transaction
	Read  ReadQuery
}

// Constructors for operations.

// Set replaces the value at a key.
func Set(v any) Operation { return Operation{Op: OpSet, New: v} }

// SetTTL replaces the value at a key and removes it after ttl.
func SetTTL(v any, ttl time.Duration) Operation { return Operation{Op: OpSet, New: v, TTL: ttl} }

// Delete removes a key and its subtree.
func Delete() Operation { return Operation{Op: OpDelete} }

// Increment adds step to a number (a missing key counts as 0).
func Increment(step int64) Operation {
	return Operation{Op: OpIncrement, Step: json.Number(fmt.Sprint(step))}
}

// Push appends v to an array.
func Push(v any) Operation { return Operation{Op: OpPush, New: v} }

// Erase removes every element equal to v from an array.
func Erase(v any) Operation { return Operation{Op: OpErase, Val: v, HasVal: true} }

// Replace replaces every element equal to old by v in an array.
func Replace(old, v any) Operation {
	return Operation{Op: OpReplace, Val: old, HasVal: true, New: v}
}

// Observe registers an HTTP callback on a key.
func Observe(url string) Operation { return Operation{Op: OpObserve, URL: url} }

// Constructors for preconditions.

// Old requires the value at the key to equal v.
func Old(v any) Precondition { return Precondition{{CondOld, v}} }

// OldNot requires the value at the key to differ from v.
func OldNot(v any) Precondition { return Precondition{{CondOldNot, v}} }

// OldEmpty requires the key to be absent (true) or present (false).
func OldEmpty(empty bool) Precondition { return Precondition{{CondOldEmpty, empty}} }

// In requires the key to hold an array containing v.
func In(v any) Precondition { return Precondition{{CondIn, v}} }

// NotIn requires the key to be absent or an array not containing v.
func NotIn(v any) Precondition { return Precondition{{CondNotIn, v}} }

// MarshalJSON encodes the operation in the canonical wire form
// {"op":…,…}.
func (o Operation) MarshalJSON() ([]byte, error) {
	m := map[string]any{"op": string(o.Op)}
	switch o.Op {
	case OpSet:
		m["new"] = o.New
		if o.TTL > 0 {
			m["ttl"] = int64(o.TTL / time.Second)
		}
	case OpPush, OpPrepend:
		m["new"] = o.New
	case OpIncrement, OpDecrement:
		if o.Step != "" {
			m["step"] = o.Step
		}
	case OpErase:
		if o.HasPos {
			m["pos"] = o.Pos
		} else {
			m["val"] = o.Val
		}
	case OpReplace:
		m["val"] = o.Val
		m["new"] = o.New
	case OpObserve, OpUnobserve:
		m["url"] = o.URL
	}
	return json.Marshal(m)
}

// MarshalJSON encodes the precondition as an object of conditions.
func (p Precondition) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(p))
	for _, c := range p {
		m[string(c.Kind)] = c.Arg
	}
	return json.Marshal(m)
}

// MarshalJSON encodes the transaction as [ops, preconds, clientId].
func (t Transaction) MarshalJSON() ([]byte, error) {
	ops := t.Ops
	if ops == nil {
		ops = map[string]Operation{}
	}
	parts := []any{ops}
	if len(t.Preconds) > 0 || t.ClientID != "" {
		pre := t.Preconds
		if pre == nil {
			pre = map[string]Precondition{}
		}
		parts = append(parts, pre)
	}
	if t.ClientID != "" {
		parts = append(parts, t.ClientID)
	}
	return json.Marshal(parts)
}

// MarshalJSON encodes a transact item as a write or a read.
func (it TransactItem) MarshalJSON() ([]byte, error) {
	if it.Write != nil {
		return json.Marshal(it.Write)
	}
	return json.Marshal([]string(it.Read))
}

// NormalizePath turns an Agency key into its absolute form: a leading '/',
// no repeated or trailing slashes. "" and "/" are the root. Keys may not
// contain NUL bytes.
func NormalizePath(p string) (string, error) {
	if strings.IndexByte(p, 0) >= 0 {
		return "", fmt.Errorf("key %q contains a NUL byte", p)
	}
	parts := SplitPath(p)
	return "/" + strings.Join(parts, "/"), nil
}

// SplitPath returns the non-empty components of an Agency key.
func SplitPath(p string) []string {
	raw := strings.Split(p, "/")
	out := raw[:0]
	for _, s := range raw {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// SortedKeys returns the keys of the transaction's operations in the order
// the Agency applies them: lexicographic by absolute key.
func (t *Transaction) SortedKeys() []string {
	keys := make([]string, 0, len(t.Ops))
	for k := range t.Ops {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ParseWriteRequest parses the body of /_api/agency/write and
// /_api/agency/transient: an array of transactions. Every key is normalized;
// every operation and precondition is validated. The error says what is
// wrong; it is meant for a 400 answer.
func ParseWriteRequest(body []byte) ([]Transaction, error) {
	var v any
	if err := decodeStrict(body, &v); err != nil {
		return nil, fmt.Errorf("write request must be an array of transactions: %w", err)
	}
	return TransactionsFromValue(v)
}

// TransactionsFromValue builds write transactions from a decoded JSON value
// (numbers as json.Number), with the validation of ParseWriteRequest.
func TransactionsFromValue(v any) ([]Transaction, error) {
	raw, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("write request must be an array of transactions")
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("write request holds no transaction")
	}
	out := make([]Transaction, 0, len(raw))
	for i, r := range raw {
		t, err := transactionFromValue(r)
		if err != nil {
			return nil, fmt.Errorf("transaction %d: %w", i, err)
		}
		out = append(out, t)
	}
	return out, nil
}

// ParseReadRequest parses the body of /_api/agency/read: an array of arrays
// of keys.
func ParseReadRequest(body []byte) ([]ReadQuery, error) {
	var v any
	if err := decodeStrict(body, &v); err != nil {
		return nil, fmt.Errorf("read request must be an array of arrays of keys: %w", err)
	}
	raw, ok := v.([]any)
	if !ok || len(raw) == 0 {
		return nil, fmt.Errorf("read request must be a non-empty array of arrays of keys")
	}
	out := make([]ReadQuery, 0, len(raw))
	for i, r := range raw {
		q, err := readFromValue(r)
		if err != nil {
			return nil, fmt.Errorf("read %d: %w", i, err)
		}
		out = append(out, q)
	}
	return out, nil
}

// ParseTransactRequest parses the body of /_api/agency/transact: writes
// (arrays starting with an object) and reads (arrays of strings), in order.
func ParseTransactRequest(body []byte) ([]TransactItem, error) {
	var v any
	if err := decodeStrict(body, &v); err != nil {
		return nil, fmt.Errorf("transact request must be an array: %w", err)
	}
	return TransactItemsFromValue(v)
}

// TransactItemsFromValue builds transact items from a decoded JSON value.
func TransactItemsFromValue(v any) ([]TransactItem, error) {
	raw, ok := v.([]any)
	if !ok || len(raw) == 0 {
		return nil, fmt.Errorf("transact request must be a non-empty array")
	}
	out := make([]TransactItem, len(raw))
	for i, r := range raw {
		it, err := transactItemFromValue(r)
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		out[i] = it
	}
	return out, nil
}

// ParseInquireRequest parses the body of /_api/agency/inquire: an array of
// client ids.
func ParseInquireRequest(body []byte) ([]string, error) {
	var ids []string
	if err := decodeStrict(body, &ids); err != nil || len(ids) == 0 {
		return nil, fmt.Errorf("inquire request must be a non-empty array of client ids")
	}
	return ids, nil
}

func transactItemFromValue(v any) (TransactItem, error) {
	parts, ok := v.([]any)
	if !ok || len(parts) == 0 {
		return TransactItem{}, fmt.Errorf("transact item must be a non-empty array")
	}
	if _, isRead := parts[0].(string); isRead {
		q, err := readFromValue(v)
		return TransactItem{Read: q}, err
	}
	t, err := transactionFromValue(v)
	if err != nil {
		return TransactItem{}, err
	}
	return TransactItem{Write: &t}, nil
}

func readFromValue(v any) (ReadQuery, error) {
	raw, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("must be an array of keys (strings)")
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("holds no key")
	}
	keys := make(ReadQuery, len(raw))
	for i, r := range raw {
		k, ok := r.(string)
		if !ok {
			return nil, fmt.Errorf("must be an array of keys (strings)")
		}
		n, err := NormalizePath(k)
		if err != nil {
			return nil, err
		}
		keys[i] = n
	}
	return keys, nil
}

func transactionFromValue(v any) (Transaction, error) {
	parts, ok := v.([]any)
	if !ok {
		return Transaction{}, fmt.Errorf("must be an array [operations, preconditions?, clientId?]")
	}
	if len(parts) < 1 || len(parts) > 3 {
		return Transaction{}, fmt.Errorf("must have 1 to 3 elements, has %d", len(parts))
	}
	var t Transaction
	rawOps, ok := parts[0].(map[string]any)
	if !ok {
		return t, fmt.Errorf("operations must be an object keyed by path")
	}
	t.Ops = make(map[string]Operation, len(rawOps))
	for k, v := range rawOps {
		key, err := NormalizePath(k)
		if err != nil {
			return t, err
		}
		if key == "/" {
			return t, fmt.Errorf("operation on the root key is not allowed")
		}
		if _, dup := t.Ops[key]; dup {
			return t, fmt.Errorf("key %s appears twice", key)
		}
		op, err := operationFromValue(v)
		if err != nil {
			return t, fmt.Errorf("key %s: %w", key, err)
		}
		t.Ops[key] = op
	}
	if len(parts) >= 2 {
		rawPre, ok := parts[1].(map[string]any)
		if !ok {
			return t, fmt.Errorf("preconditions must be an object keyed by path")
		}
		t.Preconds = make(map[string]Precondition, len(rawPre))
		for k, v := range rawPre {
			key, err := NormalizePath(k)
			if err != nil {
				return t, err
			}
			if _, dup := t.Preconds[key]; dup {
				return t, fmt.Errorf("precondition key %s appears twice", key)
			}
			p, err := preconditionFromValue(v)
			if err != nil {
				return t, fmt.Errorf("precondition on %s: %w", key, err)
			}
			t.Preconds[key] = p
		}
	}
	if len(parts) == 3 {
		cid, ok := parts[2].(string)
		if !ok {
			return t, fmt.Errorf("client id must be a string")
		}
		t.ClientID = cid
	}
	return t, nil
}

// operationFromValue accepts {"op":…,…} or, for any other value, "set this
// value" (an object without "op" replaces the subtree).
func operationFromValue(v any) (Operation, error) {
	obj, isObj := v.(map[string]any)
	if !isObj {
		return Operation{Op: OpSet, New: v}, nil
	}
	opName, hasOp := obj["op"]
	if !hasOp {
		return Operation{Op: OpSet, New: v}, nil
	}
	name, ok := opName.(string)
	if !ok {
		return Operation{}, fmt.Errorf("op must be a string")
	}
	op := Operation{Op: OpKind(name)}
	var allowed []string
	switch op.Op {
	case OpSet:
		n, ok := obj["new"]
		if !ok {
			return op, fmt.Errorf("set needs 'new'")
		}
		op.New = n
		allowed = []string{"new", "ttl", "epoch_millis"}
		if t, ok := obj["ttl"]; ok {
			secs, err := number(t)
			if err != nil || secs < 0 {
				return op, fmt.Errorf("ttl must be a non-negative number of seconds")
			}
			op.TTL = time.Duration(int64(secs)) * time.Second
		}
	case OpDelete, OpPop, OpShift:
	case OpIncrement, OpDecrement:
		allowed = []string{"step"}
		if s, ok := obj["step"]; ok {
			n, isNum := s.(json.Number)
			if !isNum {
				return op, fmt.Errorf("step must be a number")
			}
			op.Step = n
		}
	case OpPush, OpPrepend:
		n, ok := obj["new"]
		if !ok {
			return op, fmt.Errorf("%s needs 'new'", name)
		}
		op.New = n
		allowed = []string{"new"}
	case OpErase:
		allowed = []string{"val", "pos"}
		if val, ok := obj["val"]; ok {
			op.Val, op.HasVal = val, true
		}
		if pos, ok := obj["pos"]; ok {
			p, err := number(pos)
			if err != nil || p < 0 || p > 1<<31 || p != float64(int(p)) {
				return op, fmt.Errorf("pos must be a non-negative integer")
			}
			op.Pos, op.HasPos = int(p), true
		}
		if op.HasVal == op.HasPos {
			return op, fmt.Errorf("erase needs exactly one of 'val' and 'pos'")
		}
	case OpReplace:
		val, okVal := obj["val"]
		n, okNew := obj["new"]
		if !okVal || !okNew {
			return op, fmt.Errorf("replace needs 'val' and 'new'")
		}
		op.Val, op.HasVal, op.New = val, true, n
		allowed = []string{"val", "new"}
	case OpObserve, OpUnobserve:
		u, ok := obj["url"].(string)
		if !ok || u == "" {
			return op, fmt.Errorf("%s needs a 'url' string", name)
		}
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return op, fmt.Errorf("%s url must be http(s)", name)
		}
		op.URL = u
		allowed = []string{"url"}
	default:
		return op, fmt.Errorf("unknown operation %q", name)
	}
	for k := range obj {
		if k != "op" && !slices.Contains(allowed, k) {
			return op, fmt.Errorf("operation %s does not take '%s'", name, k)
		}
	}
	return op, nil
}

// preconditionFromValue accepts a non-object value (shorthand for old), an
// object of known conditions, or an object without any known condition name
// (compared with old, as ArangoDB does). Mixing the two is an error.
func preconditionFromValue(v any) (Precondition, error) {
	obj, isObj := v.(map[string]any)
	if !isObj {
		return Precondition{{CondOld, v}}, nil
	}
	known := 0
	for k := range obj {
		if _, ok := condKinds[k]; ok {
			known++
		}
	}
	if known == 0 {
		return Precondition{{CondOld, v}}, nil
	}
	if known != len(obj) {
		return nil, fmt.Errorf("mixes condition names with other keys")
	}
	names := make([]string, 0, len(obj))
	for k := range obj {
		names = append(names, k)
	}
	sort.Strings(names)
	var p Precondition
	for _, k := range names {
		kind, arg := condKinds[k], obj[k]
		switch kind {
		case CondOldEmpty, CondIsArray:
			if _, ok := arg.(bool); !ok {
				return nil, fmt.Errorf("%s takes true or false", k)
			}
		case CondIntersectionEmpty:
			if _, ok := arg.([]any); !ok {
				return nil, fmt.Errorf("intersectionEmpty takes an array")
			}
		}
		p = append(p, Condition{kind, arg})
	}
	return p, nil
}

func number(v any) (float64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("not a number")
	}
	return n.Float64()
}

// ErrJSONSyntax marks a request body that is not one valid JSON value.
var ErrJSONSyntax = errors.New("invalid JSON")

// decodeStrict decodes one JSON value keeping numbers as json.Number; a body
// that is not exactly one JSON value is an ErrJSONSyntax.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return err
		}
		return fmt.Errorf("%w: %v", ErrJSONSyntax, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: trailing data after the value", ErrJSONSyntax)
	}
	return nil
}

// UnmarshalJSON parses a transaction with the same validation as a request.
func (t *Transaction) UnmarshalJSON(b []byte) error {
	var v any
	if err := decodeStrict(b, &v); err != nil {
		return err
	}
	tr, err := transactionFromValue(v)
	if err != nil {
		return err
	}
	*t = tr
	return nil
}

// UnmarshalJSON parses a transact item: a read (array of strings) or a write.
func (it *TransactItem) UnmarshalJSON(b []byte) error {
	var v any
	if err := decodeStrict(b, &v); err != nil {
		return err
	}
	item, err := transactItemFromValue(v)
	if err != nil {
		return err
	}
	*it = item
	return nil
}
