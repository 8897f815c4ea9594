package dbserver

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/node/dbserver/storage"
	"github.com/arangomesos/arangomesos/node/shardapi"
)

// TestRejoinWakesWaitingWrites: a follower that rejoins while a write waits
// for its old stream's acknowledgement gets a new stream that starts at the
// leader's position; the waiting write must see the commit point move at
// once, not when some later write's acknowledgement comes by.
func TestRejoinWakesWaitingWrites(t *testing.T) {
	st, err := storage.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := &Server{ctx: ctx, log: slog.New(slog.DiscardHandler), cfg: Config{LogEntries: 100, LogBytes: 1 << 20}}
	sh := newShard(srv, "_system", "c1", "s1", "c", st)
	sh.oplog.reset(1)
	sh.oplog.append(shardapi.Entry{Seq: 1})
	sh.seq.Store(1)
	// The old stream's call is stuck: it never acknowledges seq 1.
	sh.links["PRMR-2"] = &link{id: "PRMR-2", wake: make(chan struct{}, 1), cancel: func() {}}

	done := make(chan error, 1)
	go func() { done <- sh.waitCommitted(ctx, 1) }()
	sh.fmu.Lock()
	waiting := sh.commitCh
	sh.removeLinkLocked("PRMR-2")
	sh.addLinkLocked("PRMR-2", 1, 1)
	sh.fmu.Unlock()
	select {
	case <-waiting:
	default:
		t.Fatal("replacing the stream did not signal the commit point")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the write still waits for the old stream")
	}
}
