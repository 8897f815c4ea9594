package devcluster_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arangodb/go-driver/v2/arangodb"

	"github.com/arangomesos/arangomesos/internal/devcluster"
	"github.com/arangomesos/arangomesos/internal/testharness"
)

func TestMain(m *testing.M) { testharness.Main(m) }

// TestDevServesDocumentsAndLeavesNothingBehind is `make run` end to end: the
// real binary starts mesoslocal, the scheduler, executors and nodes; the
// official driver writes and reads through a printed coordinator; Ctrl-C
// (SIGINT to the process group, as a terminal sends it) stops every process,
// closes every listener and removes the directory.
func TestDevServesDocumentsAndLeavesNothingBehind(t *testing.T) {
	start := time.Now()
	dev := testharness.StartDev(t, 2*time.Minute)
	p, info, listen, parent := dev.Process, dev.Info, dev.Listen, filepath.Dir(dev.Dir)
	t.Logf("arangomesos dev serving after %v", time.Since(start).Round(time.Millisecond))
	out, _ := os.ReadFile(p.Log)
	for _, want := range []string{"the cluster serves", info.Scheduler, info.Token, info.RootPassword} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the output does not show %q:\n%s", want, out)
		}
	}
	if len(info.Coordinators) != 2 || info.Token == "" || info.RootPassword == "" {
		t.Fatalf("dev.json: %+v", info)
	}

	ctx := testharness.Context(t, time.Minute)
	client := testharness.DriverClient(info.Coordinators, "root", info.RootPassword)
	db, err := client.GetDatabase(ctx, "_system", nil)
	if err != nil {
		t.Fatal(err)
	}
	shards, rf := 3, arangodb.ReplicationFactor(2)
	col, err := db.CreateCollectionV2(ctx, "films", &arangodb.CreateCollectionPropertiesV2{NumberOfShards: &shards, ReplicationFactor: &rf})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := col.CreateDocument(ctx, map[string]any{"_key": fmt.Sprintf("f%d", i), "n": i}); err != nil {
			t.Fatal(err)
		}
	}
	var doc struct{ N int }
	if _, err := col.ReadDocument(ctx, "f7", &doc); err != nil || doc.N != 7 {
		t.Fatalf("read back f7: %+v %v", doc, err)
	}
	// The scheduler's API answers with the printed token.
	var health struct{ Status string }
	if code, err := testharness.JSONRequest("GET", info.Scheduler+"/v1/health", nil, &health, nil); err != nil || code != 200 {
		t.Fatalf("health: %d %v", code, err)
	}

	p.Signal(syscall.SIGINT)
	if !p.Wait(time.Minute) {
		t.Fatalf("arangomesos dev still runs a minute after Ctrl-C:\n%s", p.Tail(30))
	}
	if err := p.ExitError(); err != nil {
		t.Errorf("arangomesos dev exited with %v after Ctrl-C:\n%s", err, p.Tail(30))
	}
	if left := testharness.ProcessesUnder(parent); len(left) > 0 {
		testharness.KillProcesses(left)
		t.Errorf("processes left after Ctrl-C:\n%s", strings.Join(left, "\n"))
	}
	for _, addr := range append([]string{listen, strings.TrimPrefix(info.Master, "http://")}, trimAll(info.Coordinators)...) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after Ctrl-C", addr)
		}
	}
	if entries, _ := os.ReadDir(parent); len(entries) > 0 {
		t.Errorf("%s still holds %d entries after Ctrl-C (want the dev directory removed)", parent, len(entries))
	}
}

// TestDevRefusesADirectoryInUse: a second dev cluster in the same directory
// is refused with a clear message, and the first one's files stay.
func TestDevRefusesADirectoryInUse(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dev.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := devcluster.Run(context.Background(), devcluster.Config{Agents: 1, Dir: dir, Listen: "127.0.0.1:0"}, os.Stderr, nil)
	if err == nil || !strings.Contains(err.Error(), "holds a running dev cluster") {
		t.Fatalf("err %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "dev.json")); err != nil {
		t.Errorf("the running cluster's dev.json was removed: %v", err)
	}
}

func trimAll(urls []string) []string {
	out := make([]string, len(urls))
	for i, u := range urls {
		out[i] = strings.TrimPrefix(u, "http://")
	}
	return out
}
