package agency

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// command is one Raft log entry: one validated request. Time is the leader's
// clock when it proposed the entry; TTLs are computed from it, so that every
// agent decides alike.
type command struct {
	Kind   byte // kindWrite, kindTransact or kindExpire
	Time   int64
	Trxs   []cluster.Transaction
	Items  []cluster.TransactItem
	Expire []string
}

// Log entry kinds. An entry is the kind byte, the time (unix milliseconds,
// 8 bytes big-endian), and the request's JSON exactly as validated: the HTTP
// layer does not re-encode what it parsed.
const (
	kindWrite    byte = 'w'
	kindTransact byte = 't'
	kindExpire   byte = 'e'
)

// encodeEntry builds a log entry from a kind, a time and a JSON payload.
func encodeEntry(kind byte, ms int64, payload []byte) []byte {
	b := make([]byte, 9+len(payload))
	b[0] = kind
	binary.BigEndian.PutUint64(b[1:9], uint64(ms))
	copy(b[9:], payload)
	return b
}

// decodeCommand parses a log entry.
func decodeCommand(b []byte) (command, error) {
	var cmd command
	if len(b) < 9 {
		return cmd, fmt.Errorf("entry of %d bytes is too short", len(b))
	}
	cmd.Kind, cmd.Time = b[0], int64(binary.BigEndian.Uint64(b[1:9]))
	payload := b[9:]
	var err error
	switch cmd.Kind {
	case kindWrite:
		cmd.Trxs, err = cluster.ParseWriteRequest(payload)
	case kindTransact:
		cmd.Items, err = cluster.ParseTransactRequest(payload)
	case kindExpire:
		err = json.Unmarshal(payload, &cmd.Expire)
	default:
		err = fmt.Errorf("unknown entry kind %q", cmd.Kind)
	}
	return cmd, err
}

// ApplyResult is what Apply returns to the proposer (only the leader's copy
// is read), and what Write, Transact and Transient return. For a write, Results holds a Raft index or 0 per transaction; for
// a transact, an index, an object of current values at failed precondition
// keys, or a read result, per item.
type ApplyResult struct {
	Results   []any
	AnyFailed bool
}

// notification is an observer callback to send after an entry was applied.
type notification struct {
	URL  string
	Body map[string]any
}

// FSM is the replicated state machine of the Agency: the store, the record
// of client ids for inquire, and a ring of recent changes for the long poll.
type FSM struct {
	mu      sync.RWMutex
	store   *Store
	applied uint64
	term    uint64
	inquire map[string]uint64
	order   []string // client ids in insertion order, for eviction
	maxIDs  int

	ring *changeRing
	// first is the lowest index the ring can answer for; polls from before it
	// get a full snapshot.
	first uint64
	// changed is closed and replaced after every applied entry.
	changed chan struct{}

	// notify, when set, receives observer callbacks after each entry; the
	// agent sets it and sends them only while it leads.
	notify func([]notification)
}

// NewFSM returns an FSM with an empty store.
func NewFSM(ringCap int) *FSM {
	if ringCap <= 0 {
		ringCap = 10000
	}
	return &FSM{
		store: NewStore(), inquire: map[string]uint64{}, maxIDs: 100000,
		ring: newChangeRing(ringCap), first: 1, changed: make(chan struct{}),
	}
}

// Apply applies one log entry. Entries that do not decode (which the leader
// never proposes) are skipped with an error result rather than crashing the
// agent, so a bad entry cannot take the Agency down.
func (f *FSM) Apply(l *raft.Log) any {
	cmd, err := decodeCommand(l.Data)
	if err != nil {
		f.mu.Lock()
		f.advance(l.Index, l.Term)
		f.mu.Unlock()
		return fmt.Errorf("agency: undecodable log entry %d: %w", l.Index, err)
	}
	now := time.UnixMilli(cmd.Time)
	f.mu.Lock()
	res := &ApplyResult{}
	var changed []string
	record := func(t *cluster.Transaction, o txnOutcome) uint64 {
		idx := uint64(0)
		if o.ok {
			idx = l.Index
			changed = append(changed, o.changed...)
		} else {
			res.AnyFailed = true
		}
		if t.ClientID != "" {
			f.remember(t.ClientID, idx)
		}
		return idx
	}
	switch cmd.Kind {
	case kindWrite:
		for i := range cmd.Trxs {
			t := &cmd.Trxs[i]
			res.Results = append(res.Results, record(t, f.store.applyTxn(t, now)))
		}
	case kindTransact:
		for _, it := range cmd.Items {
			if it.Write == nil {
				res.Results = append(res.Results, f.store.read(it.Read, now))
				continue
			}
			o := f.store.applyTxn(it.Write, now)
			idx := record(it.Write, o)
			if o.ok {
				res.Results = append(res.Results, idx)
			} else {
				res.Results = append(res.Results, f.store.read(o.failed, now))
			}
		}
	case kindExpire:
		changed = f.store.expire(cmd.Expire, now)
	}
	var notes []notification
	if len(changed) > 0 {
		f.appendChanges(l, cmd.Time, changed, now)
		notes = f.notifications(l, changed)
	}
	f.advance(l.Index, l.Term)
	notify := f.notify
	f.mu.Unlock()
	if notify != nil && len(notes) > 0 {
		notify(notes)
	}
	return res
}

// advance records the applied index and wakes the pollers; mu must be held.
func (f *FSM) advance(index, term uint64) {
	f.applied, f.term = index, term
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *FSM) remember(cid string, idx uint64) {
	if _, ok := f.inquire[cid]; !ok {
		f.order = append(f.order, cid)
	}
	f.inquire[cid] = idx
	for len(f.order) > f.maxIDs {
		delete(f.inquire, f.order[0])
		f.order = f.order[1:]
	}
}

func (f *FSM) appendChanges(l *raft.Log, ts int64, keys []string, now time.Time) {
	seen := map[string]bool{}
	e := cluster.PollEntry{Index: l.Index, Term: l.Term, Timestamp: ts}
	for _, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		if v, ok := f.store.get(k, now); ok {
			e.Changes = append(e.Changes, cluster.Change{Key: k, Op: "set", Value: cluster.DeepCopy(v)})
		} else {
			e.Changes = append(e.Changes, cluster.Change{Key: k, Op: "delete"})
		}
	}
	if evicted, full := f.ring.push(e); full {
		f.first = evicted.Index + 1
	}
}

func (f *FSM) notifications(l *raft.Log, changed []string) []notification {
	var notes []notification
	for url, byKey := range f.store.observersOf(changed) {
		body := map[string]any{"term": l.Term, "index": l.Index}
		for obs, keys := range byKey {
			m := map[string]any{}
			for _, k := range keys {
				m[k] = map[string]any{"op": "set"}
			}
			body[obs] = m
		}
		notes = append(notes, notification{URL: url, Body: body})
	}
	return notes
}

// Applied returns the index of the last applied entry.
func (f *FSM) Applied() uint64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.applied
}

// Read answers read queries against the replicated store at the local time.
func (f *FSM) Read(qs []cluster.ReadQuery) []any {
	now := time.Now()
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]any, len(qs))
	for i, q := range qs {
		out[i] = f.store.read(q, now)
	}
	return out
}

// Inquire returns the recorded result of each client id and whether it is
// known.
func (f *FSM) Inquire(ids []string) ([]uint64, []bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	res, known := make([]uint64, len(ids)), make([]bool, len(ids))
	for i, id := range ids {
		res[i], known[i] = f.inquire[id]
	}
	return res, known
}

// ExpiredKeys lists the keys whose TTL has passed by the local clock.
func (f *FSM) ExpiredKeys() []string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.store.expiredKeys(time.Now())
}

// Empty reports whether key is absent.
func (f *FSM) Empty(key string) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	_, ok := f.store.get(key, time.Now())
	return !ok
}

// Tree returns a copy of the whole visible tree and the applied index.
func (f *FSM) Tree() (map[string]any, uint64) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.store.read(cluster.ReadQuery{"/"}, time.Now()), f.applied
}

// Poll waits until an entry with an index ≥ index was applied, or until
// timeout passes or ctxDone closes, and returns what it has then.
func (f *FSM) Poll(index uint64, timeout time.Duration, ctxDone <-chan struct{}) cluster.PollResult {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		f.mu.RLock()
		if index == 0 || index < f.first {
			r := cluster.PollResult{CommitIndex: f.applied, FirstIndex: f.first, Log: []cluster.PollEntry{},
				ReadDB: f.store.read(cluster.ReadQuery{"/"}, time.Now())}
			f.mu.RUnlock()
			return r
		}
		if f.applied >= index {
			r := cluster.PollResult{CommitIndex: f.applied, FirstIndex: f.first, Log: f.ring.from(index)}
			f.mu.RUnlock()
			return r
		}
		wait := f.changed
		f.mu.RUnlock()
		select {
		case <-wait:
		case <-deadline.C:
			f.mu.RLock()
			r := cluster.PollResult{CommitIndex: f.applied, FirstIndex: f.first, Log: []cluster.PollEntry{}}
			f.mu.RUnlock()
			return r
		case <-ctxDone:
			return cluster.PollResult{CommitIndex: f.Applied(), Log: []cluster.PollEntry{}}
		}
	}
}

// fsmState is the snapshot format.
type fsmState struct {
	Root      map[string]any      `json:"root"`
	TTL       map[string]int64    `json:"ttl"`
	Observers map[string][]string `json:"observers"`
	Inquire   map[string]uint64   `json:"inquire"`
	Order     []string            `json:"order"`
	Hidden    bool                `json:"hidden"`
	Applied   uint64              `json:"applied"`
}

// Snapshot captures the state for Raft's snapshot store.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	st := fsmState{Root: f.store.root, TTL: map[string]int64{}, Observers: map[string][]string{},
		Inquire: f.inquire, Order: f.order, Hidden: f.store.hidden, Applied: f.applied}
	for k, t := range f.store.ttl {
		st.TTL[k] = t.UnixMilli()
	}
	for k, urls := range f.store.observers {
		for u := range urls {
			st.Observers[k] = append(st.Observers[k], u)
		}
	}
	data, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("agency: encode snapshot: %w", err)
	}
	return snapshot(data), nil
}

// Restore replaces the state with a snapshot's.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("agency: read snapshot: %w", err)
	}
	var st fsmState
	if err := decodeNumber(data, &st); err != nil {
		return fmt.Errorf("agency: decode snapshot: %w", err)
	}
	s := NewStore()
	if st.Root != nil {
		s.root = st.Root
	}
	for k, ms := range st.TTL {
		s.ttl[k] = time.UnixMilli(ms)
	}
	for k, urls := range st.Observers {
		s.observers[k] = map[string]struct{}{}
		for _, u := range urls {
			s.observers[k][u] = struct{}{}
		}
	}
	s.hidden = st.Hidden
	f.mu.Lock()
	defer f.mu.Unlock()
	f.store = s
	f.inquire, f.order = st.Inquire, st.Order
	if f.inquire == nil {
		f.inquire = map[string]uint64{}
	}
	f.ring.reset()
	f.applied = st.Applied
	f.first = st.Applied + 1
	close(f.changed)
	f.changed = make(chan struct{})
	return nil
}

type snapshot []byte

func (s snapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("agency: write snapshot: %w", err)
	}
	return sink.Close()
}

func (s snapshot) Release() {}

// decodeNumber decodes JSON keeping numbers as json.Number, as the store
// requires.
func decodeNumber(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}
