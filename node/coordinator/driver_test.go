package coordinator_test

import (
	"testing"
	"time"

	"github.com/arangodb/go-driver/v2/arangodb"
	"github.com/arangodb/go-driver/v2/arangodb/shared"

	"github.com/arangomesos/arangomesos/internal/testharness"
)

type doc struct {
	Key string `json:"_key,omitempty"`
	Rev string `json:"_rev,omitempty"`
	X   int    `json:"x"`
	Tag string `json:"tag,omitempty"`
}

// sharedCluster is one real-process cluster for the driver tests of this
// package: 3 agents, 2 DBServers, 1 coordinator, JWT auth on.
func startCluster(t *testing.T) *testharness.Cluster {
	t.Helper()
	return testharness.StartCluster(t, testharness.ClusterOptions{DBServers: 2, Coordinators: 1})
}

func TestDriverDocumentsRF1(t *testing.T) {
	c := startCluster(t)
	ctx := testharness.Context(t, 3*time.Minute)
	cl := c.Client(0)
	v, err := cl.Version(ctx)
	if err != nil {
		t.Fatalf("version: %v", err)
	}
	t.Logf("version %s", v.Version)
	db, err := cl.CreateDatabase(ctx, "db1", nil)
	if err != nil {
		t.Fatalf("create database: %v", err)
	}
	col, err := db.CreateCollectionV2(ctx, "c", &arangodb.CreateCollectionPropertiesV2{NumberOfShards: ptr(3)})
	if err != nil {
		t.Fatalf("create collection: %v", err)
	}
	meta, err := col.CreateDocument(ctx, doc{Key: "a", X: 1})
	if err != nil {
		t.Fatalf("create doc: %v", err)
	}
	var got doc
	if _, err := col.ReadDocument(ctx, "a", &got); err != nil || got.X != 1 || got.Rev != meta.Rev {
		t.Fatalf("read: %+v %v (meta %+v)", got, err, meta)
	}
	if _, err := col.CreateDocument(ctx, doc{Key: "a", X: 2}); !shared.IsConflict(err) {
		t.Fatalf("duplicate insert: want conflict, got %v", err)
	}
	if _, err := col.UpdateDocumentWithOptions(ctx, "a", map[string]any{"x": 5},
		&arangodb.CollectionDocumentUpdateOptions{IfMatch: "_wrongrev01"}); !shared.IsPreconditionFailed(err) {
		t.Fatalf("update with wrong rev: want 412, got %v", err)
	}
	up, err := col.UpdateDocument(ctx, "a", map[string]any{"tag": "t"})
	if err != nil || up.OldRev != meta.Rev {
		t.Fatalf("update: %+v %v", up, err)
	}
	if _, err := col.ReadDocument(ctx, "a", &got); err != nil || got.X != 1 || got.Tag != "t" {
		t.Fatalf("read after update: %+v %v", got, err)
	}
	if _, err := col.DeleteDocument(ctx, "a"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := col.ReadDocument(ctx, "a", &got); !shared.IsNotFound(err) {
		t.Fatalf("read deleted: want not found, got %v", err)
	}
	// Batch with a partial failure.
	_, _ = col.CreateDocument(ctx, doc{Key: "dup", X: 0})
	rd, err := col.CreateDocuments(ctx, []doc{{Key: "b1", X: 1}, {Key: "dup", X: 2}, {X: 3}})
	if err != nil {
		t.Fatalf("batch: %v", err)
	}
	var errs, oks int
	for {
		m, err := rd.Read()
		if shared.IsNoMoreDocuments(err) {
			break
		}
		if err != nil {
			errs++
			continue
		}
		oks++
		if m.Key == "" {
			t.Fatalf("batch result without key: %+v", m)
		}
	}
	if oks != 2 || errs != 1 {
		t.Fatalf("batch: %d ok, %d errors", oks, errs)
	}
	n, err := col.Count(ctx)
	if err != nil || n != 3 {
		t.Fatalf("count: %d %v", n, err)
	}
}

func ptr[T any](v T) *T { return &v }
