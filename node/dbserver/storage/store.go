package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/buntdb"
)

// Key layout inside the buntdb file.
const (
	docPrefix   = "d/" // d/<_key> → <16 hex digits revision><document JSON>
	indexPrefix = "i/" // i/<index id>/<encoded values>[\x00<_key>] → <_key>
	opPrefix    = "x/" // x/<operation id> → result of that operation
	stateKey    = "m/state"
	indexesKey  = "m/indexes"
)

// IndexDef is a persistent index of the shard.
type IndexDef struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Fields []string `json:"fields"`
	Unique bool     `json:"unique"`
	Sparse bool     `json:"sparse"`
}

// State is the shard's replication metadata, written atomically with the
// documents it describes.
type State struct {
	// Term is the leadership term the shard's data follows.
	Term uint64 `json:"term"`
	// Seq is the sequence number of the last operation applied in Term.
	Seq uint64 `json:"seq"`
	// Leader is the server whose operations Term and Seq count.
	Leader string `json:"leader"`
	// MaxRev is the highest revision the shard has seen.
	MaxRev Rev `json:"maxRev"`
}

// encode is the JSON form of st that the store keeps, without reflection:
// Update writes it with every transaction.
func (st State) encode() string {
	b := make([]byte, 0, 96)
	b = append(b, `{"term":`...)
	b = strconv.AppendUint(b, st.Term, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, st.Seq, 10)
	b = append(b, `,"leader":`...)
	if plainJSONString(st.Leader) {
		b = append(append(append(b, '"'), st.Leader...), '"')
	} else {
		l, _ := json.Marshal(st.Leader)
		b = append(b, l...)
	}
	b = append(b, `,"maxRev":`...)
	b = strconv.AppendUint(b, uint64(st.MaxRev), 10)
	return string(append(b, '}'))
}

// plainJSONString reports whether s encodes in JSON as itself in quotes.
func plainJSONString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// Doc is one stored document.
type Doc struct {
	Key  string
	Rev  Rev
	Body []byte // the JSON object, with _key, _id and _rev
}

// Store is one shard's buntdb database. It is safe for concurrent use;
// writes are serialized by buntdb.
type Store struct {
	path string
	db   *buntdb.DB

	count    atomic.Int64
	dataSize atomic.Int64

	mu      sync.Mutex // guards indexes and state
	indexes []IndexDef
	state   State
	closed  bool

	sync *syncer
}

// Open opens (or creates) the shard file at path.
func Open(path string) (*Store, error) {
	db, err := buntdb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", path, err)
	}
	// We fsync ourselves (Sync) and shrink ourselves (Compact), so that our
	// own file handle for fsync always names the live file.
	if err := db.SetConfig(buntdb.Config{SyncPolicy: buntdb.EverySecond, AutoShrinkDisabled: true,
		AutoShrinkPercentage: 100, AutoShrinkMinSize: 32 << 20}); err != nil {
		db.Close()
		return nil, fmt.Errorf("storage: configure %s: %w", path, err)
	}
	s := &Store{path: path, db: db}
	err = db.View(func(tx *buntdb.Tx) error {
		if v, err := tx.Get(stateKey); err == nil {
			if err := json.Unmarshal([]byte(v), &s.state); err != nil {
				return fmt.Errorf("%w: state: %v", ErrCorrupt, err)
			}
		}
		if v, err := tx.Get(indexesKey); err == nil {
			if err := json.Unmarshal([]byte(v), &s.indexes); err != nil {
				return fmt.Errorf("%w: indexes: %v", ErrCorrupt, err)
			}
		}
		var n, size int64
		err := tx.AscendRange("", docPrefix, docPrefixEnd, func(k, v string) bool {
			n++
			size += int64(len(v) - 16)
			return true
		})
		s.count.Store(n)
		s.dataSize.Store(size)
		return err
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	if s.sync, err = newSyncer(path); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

var docPrefixEnd = string(rune(docPrefix[0])) + string(rune(docPrefix[1]+1))

// Path returns the file of the store.
func (s *Store) Path() string { return s.path }

// Close closes the store, flushing it to disk.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.sync.close()
	return s.db.Close()
}

// Remove closes the store and deletes its file.
func (s *Store) Remove() error {
	if err := s.Close(); err != nil && !errors.Is(err, buntdb.ErrDatabaseClosed) {
		return err
	}
	if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("storage: remove %s: %w", s.path, err)
	}
	return nil
}

// Count returns the number of documents.
func (s *Store) Count() int64 { return s.count.Load() }

// DataSize returns the bytes of document JSON stored.
func (s *Store) DataSize() int64 { return s.dataSize.Load() }

// State returns the shard's replication metadata.
func (s *Store) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// Indexes returns the shard's persistent indexes.
func (s *Store) Indexes() []IndexDef {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]IndexDef(nil), s.indexes...)
}

// Sync makes every write committed before the call durable (fsync). The
// fsyncs of concurrent callers are grouped.
func (s *Store) Sync() error { return s.sync.sync() }

// Get reads one document.
func (s *Store) Get(key string) (Doc, bool, error) {
	var d Doc
	var ok bool
	err := s.db.View(func(tx *buntdb.Tx) error {
		v, err := tx.Get(docPrefix + key)
		if errors.Is(err, buntdb.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		d, err = decodeDoc(key, v)
		ok = err == nil
		return err
	})
	return d, ok, err
}

// Scan calls fn for every document in key order until fn returns false. It
// reads in chunks, so writers are not held up for long; a concurrent write
// may or may not be seen.
func (s *Store) Scan(fn func(Doc) bool) error {
	return s.ScanRange("", "", fn)
}

// ScanRange is Scan over the keys from low (inclusive) to high (inclusive;
// "" is unbounded).
func (s *Store) ScanRange(low, high string, fn func(Doc) bool) error {
	pivot := docPrefix + low
	end := docPrefixEnd
	if high != "" {
		end = docPrefix + high + "\x00"
	}
	for {
		var batch []Doc
		var last string
		err := s.db.View(func(tx *buntdb.Tx) error {
			var derr error
			err := tx.AscendRange("", pivot, end, func(k, v string) bool {
				d, err := decodeDoc(k[len(docPrefix):], v)
				if err != nil {
					derr = err
					return false
				}
				batch = append(batch, d)
				last = k
				return len(batch) < 1000
			})
			if derr != nil {
				return derr
			}
			return err
		})
		if err != nil {
			return err
		}
		for _, d := range batch {
			if !fn(d) {
				return nil
			}
		}
		if len(batch) < 1000 {
			return nil
		}
		pivot = last + "\x00"
	}
}

func decodeDoc(key, v string) (Doc, error) {
	if len(v) < 16 {
		return Doc{}, fmt.Errorf("%w: document %q", ErrCorrupt, key)
	}
	var r uint64
	for i := 0; i < 16; i++ {
		c := v[i]
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | uint64(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | uint64(c-'a'+10)
		default:
			return Doc{}, fmt.Errorf("%w: revision of %q", ErrCorrupt, key)
		}
	}
	return Doc{Key: key, Rev: Rev(r), Body: []byte(v[16:])}, nil
}

// Update runs fn in one atomic write transaction: everything fn did is
// applied, or nothing if fn returns an error.
func (s *Store) Update(fn func(tx *Tx) error) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	t := &Tx{s: s, indexes: s.indexes, state: s.state}
	s.mu.Unlock()
	err := s.db.Update(func(btx *buntdb.Tx) error {
		t.tx = btx
		if err := fn(t); err != nil {
			return err
		}
		if t.stateDirty {
			if _, _, err := btx.Set(stateKey, t.state.encode(), nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.count.Add(t.dCount)
	s.dataSize.Add(t.dSize)
	if t.stateDirty {
		s.mu.Lock()
		s.state = t.state
		s.mu.Unlock()
	}
	return nil
}

// OpResult returns the stored result of an operation id, if it is known.
func (s *Store) OpResult(opID string) ([]byte, bool) {
	var out []byte
	_ = s.db.View(func(tx *buntdb.Tx) error {
		v, err := tx.Get(opPrefix + opID)
		if err == nil {
			out = []byte(v)
		}
		return nil
	})
	return out, out != nil
}

// Compact rewrites the file without its dead records when it has grown
// large; it is cheap to call often.
func (s *Store) Compact() error {
	fi, err := os.Stat(s.path)
	if err != nil || fi.Size() < 64<<20 || fi.Size() < 4*s.DataSize() {
		return err
	}
	if err := s.db.Shrink(); err != nil && !errors.Is(err, buntdb.ErrShrinkInProcess) {
		return fmt.Errorf("storage: compact %s: %w", s.path, err)
	}
	return s.sync.reopen()
}

// syncer groups fsyncs: a caller waits for an fsync that started after its
// call. It holds its own handle of the buntdb file; fsync flushes the file,
// whichever handle wrote the data.
type syncer struct {
	path string
	mu   sync.Mutex
	cond *sync.Cond
	f    *os.File
	// requested counts calls; done is the highest count an fsync covered.
	requested, done uint64
	running         bool
	err             error
}

func newSyncer(path string) (*syncer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("storage: open %s for fsync: %w", path, err)
	}
	s := &syncer{path: path, f: f}
	s.cond = sync.NewCond(&s.mu)
	return s, nil
}

func (s *syncer) sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requested++
	me := s.requested
	for s.done < me {
		if !s.running {
			s.running = true
			target := s.requested
			f := s.f
			s.mu.Unlock()
			err := f.Sync()
			s.mu.Lock()
			s.running = false
			s.done, s.err = target, err
			s.cond.Broadcast()
			if err != nil {
				return fmt.Errorf("storage: fsync %s: %w", s.path, err)
			}
			continue
		}
		s.cond.Wait()
	}
	return s.err
}

func (s *syncer) reopen() error {
	f, err := os.Open(s.path)
	if err != nil {
		return fmt.Errorf("storage: reopen %s for fsync: %w", s.path, err)
	}
	s.mu.Lock()
	old := s.f
	s.f = f
	s.mu.Unlock()
	// Wait briefly so an fsync in flight on the old handle finishes.
	time.AfterFunc(time.Second, func() { old.Close() })
	return nil
}

func (s *syncer) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f != nil {
		_ = s.f.Close()
	}
}
