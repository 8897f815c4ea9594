package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/internal/testharness"
)

func TestMain(m *testing.M) { testharness.Main(m) }

func sampleState(t *testing.T) *State {
	st := newTestState(t, DefaultConfig())
	st.FrameworkID = "fw-1"
	if _, err := st.AddMember("DBSERVER"); err != nil {
		t.Fatal(err)
	}
	return st
}

// storeContract runs the checks every Store must pass.
func storeContract(t *testing.T, open func() Store) {
	ctx := testharness.Context(t, 60*time.Second)
	s := open()
	if got, err := s.Load(ctx); err != nil || got != nil {
		t.Fatalf("empty store: %v %v", got, err)
	}
	st := sampleState(t)
	if err := s.Save(ctx, st); err != nil {
		t.Fatal(err)
	}
	st.FrameworkID = "fw-2"
	if err := s.Save(ctx, st); err != nil {
		t.Fatalf("second save by the same store: %v", err)
	}
	s.Close()
	s2 := open()
	defer s2.Close()
	got, err := s2.Load(ctx)
	if err != nil || got.FrameworkID != "fw-2" || got.Members["dbserver-1"] == nil || got.Secret != st.Secret {
		t.Fatalf("reload: %+v %v", got, err)
	}
	if err := s2.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if z, ok := s2.(*ZKStore); ok {
		if exists, _, _ := z.conn.Exists("/arangomesos"); exists {
			t.Fatal("the state's parent znodes must go with it")
		}
	}
	if got, err := s2.Load(ctx); err != nil || got != nil {
		t.Fatalf("after delete: %v %v", got, err)
	}
}

func TestBuntStore(t *testing.T) {
	dir := t.TempDir()
	storeContract(t, func() Store {
		s, err := OpenBuntStore(dir, "arangomesos")
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestBuntStoreRefusesAnotherFrameworkAndCorruptFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, _ := OpenBuntStore(dir, "arangomesos")
	if err := s.Save(ctx, sampleState(t)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// The same file read as another framework's state.
	if err := os.Rename(filepath.Join(dir, "arangomesos.db"), filepath.Join(dir, "other.db")); err != nil {
		t.Fatal(err)
	}
	o, _ := OpenBuntStore(dir, "other")
	if _, err := o.Load(ctx); !errors.Is(err, ErrStoreOwner) {
		t.Fatalf("another framework's state: %v", err)
	}
	o.Close()
	if err := os.WriteFile(filepath.Join(dir, "broken.db"), []byte("*3\r\n$3\r\nset\r\n$5\r\nstate\r\n$4\r\n{nop\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := OpenBuntStore(dir, "broken")
	if err == nil {
		_, err = b.Load(ctx)
		b.Close()
	}
	if !errors.Is(err, ErrStoreCorrupt) {
		t.Fatalf("corrupt state: %v", err)
	}
}

func TestZKStore(t *testing.T) {
	addr := testharness.StartZooKeeper(t)
	ctx := testharness.Context(t, 90*time.Second)
	uri := "zk://" + addr + "/arangomesos/test"
	open := func() Store {
		s, err := OpenZKStore(ctx, uri, "arangomesos", slog.Default())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	storeContract(t, open)

	// Two schedulers (two sessions): the second write on a stale version is
	// refused, so they never overwrite each other.
	a, b := open(), open()
	defer a.Close()
	defer b.Close()
	if _, err := a.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Save(ctx, sampleState(t)); err != nil {
		t.Fatal(err)
	}
	if err := b.Save(ctx, sampleState(t)); !errors.Is(err, ErrStoreConflict) {
		t.Fatalf("stale save: %v", err)
	}
	// A scheduler restarted elsewhere (a new session) takes over the state.
	c := open()
	defer c.Close()
	if got, err := c.Load(ctx); err != nil || got == nil || got.FrameworkID != "fw-1" {
		t.Fatalf("takeover: %v %v", got, err)
	}
	other, err := OpenZKStore(ctx, uri, "someone-else", slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Load(ctx); !errors.Is(err, ErrStoreOwner) {
		t.Fatalf("another framework's state: %v", err)
	}
}

func TestZKStoreUnreachableIsAClearError(t *testing.T) {
	port := testharness.FreePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := OpenZKStore(ctx, fmt.Sprintf("zk://127.0.0.1:%d/x", port), "arangomesos", slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("err = %v", err)
	}
}

func TestParseZK(t *testing.T) {
	for in, ok := range map[string]bool{
		"zk://h:2181/arangomesos": true, "zk://a:1,b:2/x/y": true, "zk://h:2181/": false, "zk://h:2181": false,
		"http://h:2181/x": false, "zk:///x": false,
	} {
		if _, _, err := ParseZK(in); (err == nil) != ok {
			t.Errorf("ParseZK(%q) = %v", in, err)
		}
	}
}
