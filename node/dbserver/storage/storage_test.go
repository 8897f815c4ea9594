package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestRevisionEncoding(t *testing.T) {
	for _, r := range []Rev{0, 1, 63, 64, 1 << 40, Rev(uint64(time.Now().UnixMilli()) << logicalBits), ^Rev(0)} {
		s := r.String()
		got, err := ParseRev(s)
		if err != nil || got != r {
			t.Errorf("ParseRev(%q) = %d, %v; want %d", s, got, err, r)
		}
	}
	for _, bad := range []string{"", "abc", "_gjDBOTu--", "_gjDBOTu---x", "zzzzzzzzzzz", "_gjDBOTu-+-"} {
		if _, err := ParseRev(bad); err == nil {
			t.Errorf("ParseRev(%q) accepted", bad)
		}
	}
	if s := Rev(uint64(time.Now().UnixMilli()) << logicalBits).String(); s[0] != '_' {
		t.Errorf("current revisions should look like ArangoDB's (_…), got %s", s)
	}
}

func TestClockStrictlyIncreases(t *testing.T) {
	c := NewClock(0)
	frozen := time.Now()
	c.now = func() time.Time { return frozen }
	a := c.Next()
	b := c.Next()
	c.Observe(b + 1000)
	d := c.Next()
	if !(a < b && b < d && d > b+1000) {
		t.Fatalf("not increasing: %d %d %d", a, b, d)
	}
}

func open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func put(t *testing.T, s *Store, key, body string) error {
	t.Helper()
	return s.Update(func(tx *Tx) error { return tx.Put(key, NewClock(0).Next(), []byte(body), false) })
}

func TestUniqueIndex(t *testing.T) {
	s := open(t)
	if err := s.EnsureIndex(IndexDef{ID: "1", Name: "u", Fields: []string{"a"}, Unique: true}); err != nil {
		t.Fatal(err)
	}
	if err := put(t, s, "k1", `{"a":1}`); err != nil {
		t.Fatal(err)
	}
	err := put(t, s, "k2", `{"a":1.0}`)
	var ue *UniqueError
	if !errors.As(err, &ue) || ue.ConflictKey != "k1" {
		t.Fatalf("want unique violation on k1, got %v", err)
	}
	if s.Count() != 1 {
		t.Fatalf("failed write changed the count: %d", s.Count())
	}
	// Updating k1 to another value frees 1.
	if err := put(t, s, "k1", `{"a":2}`); err != nil {
		t.Fatal(err)
	}
	if err := put(t, s, "k2", `{"a":1}`); err != nil {
		t.Fatal(err)
	}
	// Non-sparse: one document without the attribute is allowed, a second is not.
	if err := put(t, s, "k3", `{}`); err != nil {
		t.Fatal(err)
	}
	if err := put(t, s, "k4", `{"a":null}`); !errors.Is(err, ErrUniqueViolated) {
		t.Fatalf("want violation for second null, got %v", err)
	}
	// A unique index over existing duplicates cannot be built.
	if err := s.EnsureIndex(IndexDef{ID: "2", Name: "v", Fields: []string{"b"}, Unique: true, Sparse: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.DropIndex("2"); err != nil {
		t.Fatal(err)
	}
	_ = put(t, s, "k5", `{"a":5,"b":1}`)
	_ = put(t, s, "k6", `{"a":6,"b":1}`)
	if err := s.EnsureIndex(IndexDef{ID: "3", Name: "w", Fields: []string{"b"}, Unique: true, Sparse: true}); !errors.Is(err, ErrUniqueViolated) {
		t.Fatalf("want violation building over duplicates, got %v", err)
	}
	if len(s.Indexes()) != 1 {
		t.Fatalf("failed index build left an index: %v", s.Indexes())
	}
}

func TestReopenKeepsDocumentsStateAndIndexes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.EnsureIndex(IndexDef{ID: "1", Name: "u", Fields: []string{"a"}, Unique: true})
	for i := 0; i < 10; i++ {
		i := i
		if err := s.Update(func(tx *Tx) error {
			tx.SetPosition("PRMR-x", 3, uint64(i))
			return tx.Put(fmt.Sprint("k", i), Rev(100+i), []byte(fmt.Sprintf(`{"a":%d}`, i)), false)
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Delete1("k0"); err != nil {
		t.Fatal(err)
	}
	n, sum, _ := s.Checksum()
	s.Close()
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n2, sum2, _ := s.Checksum()
	if n != 9 || n2 != 9 || sum != sum2 || s.Count() != 9 {
		t.Fatalf("after reopen: %d %s / %d %s count %d", n, sum, n2, sum2, s.Count())
	}
	if st := s.State(); st.Term != 3 || st.Seq != 9 || st.MaxRev < 109 {
		t.Fatalf("state not kept: %+v", st)
	}
	if err := put(t, s, "k9x", `{"a":9}`); !errors.Is(err, ErrUniqueViolated) {
		t.Fatalf("index not kept: %v", err)
	}
}

// Delete1 deletes one key in its own transaction (test helper).
func (s *Store) Delete1(key string) (bool, error) {
	var ok bool
	err := s.Update(func(tx *Tx) (err error) { ok, err = tx.Delete(key, 0); return })
	return ok, err
}

func TestChunksFindDifferences(t *testing.T) {
	a, b := open(t), open(t)
	for i := 0; i < 2500; i++ {
		k := fmt.Sprintf("k%05d", i)
		for _, s := range []*Store{a, b} {
			_ = s.Update(func(tx *Tx) error { return tx.Put(k, Rev(i+1), []byte(`{}`), false) })
		}
	}
	_ = b.Update(func(tx *Tx) error { return tx.Put("k01234", 99999, []byte(`{"x":1}`), false) })
	chunks, err := a.Chunks(1000)
	if err != nil || len(chunks) != 3 {
		t.Fatalf("chunks: %v %v", chunks, err)
	}
	differ := 0
	for _, c := range chunks {
		n, h, _ := b.RangeHash(c.Low, c.High)
		if n != c.Count || h != c.Hash {
			differ++
		}
	}
	if differ != 1 {
		t.Fatalf("want exactly one differing chunk, got %d", differ)
	}
}

func TestGroupedSync(t *testing.T) {
	s := open(t)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_ = put(t, s, fmt.Sprint(i), `{}`)
			if err := s.Sync(); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
}

func TestStateEncodeMatchesJSON(t *testing.T) {
	for _, st := range []State{{}, {Term: 3, Seq: 1 << 40, Leader: "PRMR-0001", MaxRev: 1<<63 + 9},
		{Leader: `odd "id" <&> \ é`}, {Leader: "\x01"}} {
		want, _ := json.Marshal(st)
		if got := st.encode(); got != string(want) {
			t.Errorf("encode %+v = %s, want %s", st, got, want)
		}
	}
}

func TestRevHex(t *testing.T) {
	for _, r := range []Rev{0, 1, 0xabcdef, 1<<64 - 1} {
		if got, want := r.Hex(), fmt.Sprintf("%016x", uint64(r)); got != want {
			t.Errorf("Hex(%d) = %s, want %s", r, got, want)
		}
	}
}
