package coordinator_test

import (
	"errors"
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

func readAll[T any](t *testing.T, next func() (T, error)) (oks []T, errs []error) {
	t.Helper()
	for {
		m, err := next()
		if shared.IsNoMoreDocuments(err) {
			return
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		oks = append(oks, m)
	}
}

// TestDriverAPI drives every API group but cursors with go-driver v2:
// databases, collections, batch documents, indexes with unique
// violations, and import.
func TestDriverAPI(t *testing.T) {
	c := startCluster(t)
	ctx := testharness.Context(t, 3*time.Minute)
	cl := c.Client(0)
	db, err := cl.CreateDatabase(ctx, "api", nil)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := cl.DatabaseExists(ctx, "api"); !ok || err != nil {
		t.Fatalf("database exists: %v %v", ok, err)
	}
	if ok, _ := cl.DatabaseExists(ctx, "nope"); ok {
		t.Fatal("unknown database exists")
	}
	col, err := db.CreateCollectionV2(ctx, "items", &arangodb.CreateCollectionPropertiesV2{NumberOfShards: ptr(2),
		ReplicationFactor: ptr(arangodb.ReplicationFactor(2)), WriteConcern: ptr(2), WaitForSync: ptr(false)})
	if err != nil {
		t.Fatal(err)
	}
	props, err := col.Properties(ctx)
	if err != nil || props.NumberOfShards != 2 || props.ReplicationFactor != 2 || props.WriteConcern != 2 {
		t.Fatalf("properties: %+v %v", props, err)
	}
	if err := col.SetPropertiesV2(ctx, arangodb.SetCollectionPropertiesOptionsV2{WaitForSync: ptr(true)}); err != nil {
		t.Fatalf("set properties: %v", err)
	}
	if props, _ := col.Properties(ctx); !props.WaitForSync {
		t.Fatal("waitForSync not set")
	}
	if _, err := db.GetCollection(ctx, "nope", nil); !shared.IsNotFound(err) {
		t.Fatalf("unknown collection: %v", err)
	}

	// Batches.
	docs := []doc{{Key: "a", X: 1}, {Key: "b", X: 2}, {Key: "c", X: 3}}
	cr, err := col.CreateDocuments(ctx, docs)
	if err != nil {
		t.Fatal(err)
	}
	if oks, errs := readAll(t, cr.Read); len(oks) != 3 || len(errs) != 0 {
		t.Fatalf("create many: %d ok %v", len(oks), errs)
	}
	rr, err := col.ReadDocuments(ctx, []string{"a", "zz", "c"})
	if err != nil {
		t.Fatal(err)
	}
	var got []doc
	var readErrs []error
	for {
		var d doc
		_, err := rr.Read(&d)
		if shared.IsNoMoreDocuments(err) {
			break
		}
		if err != nil {
			readErrs = append(readErrs, err)
			continue
		}
		got = append(got, d)
	}
	if len(got) != 2 || len(readErrs) != 1 || !shared.IsNotFound(readErrs[0]) {
		t.Fatalf("read many: %+v %v", got, readErrs)
	}
	ur, err := col.UpdateDocuments(ctx, []map[string]any{{"_key": "a", "x": 10}, {"_key": "zz", "x": 1}})
	if err != nil {
		t.Fatal(err)
	}
	if oks, errs := readAll(t, ur.Read); len(oks) != 1 || len(errs) != 1 || !shared.IsNotFound(errs[0]) {
		t.Fatalf("update many: %d %v", len(oks), errs)
	}
	rp, err := col.ReplaceDocuments(ctx, []doc{{Key: "b", X: 20}})
	if err != nil {
		t.Fatal(err)
	}
	if oks, errs := readAll(t, rp.Read); len(oks) != 1 || len(errs) != 0 {
		t.Fatalf("replace many: %d %v", len(oks), errs)
	}
	dr, err := col.DeleteDocuments(ctx, []string{"c", "zz"})
	if err != nil {
		t.Fatal(err)
	}
	if oks, errs := readAll(t, func() (arangodb.CollectionDocumentDeleteResponse, error) { var m map[string]any; return dr.Read(&m) }); len(oks) != 1 || len(errs) != 1 {
		t.Fatalf("delete many: %d %v", len(oks), errs)
	}

	// A unique index (it must hold the shard key _key to be allowed; on
	// custom shard keys it is the real case).
	people, err := db.CreateCollectionV2(ctx, "people", &arangodb.CreateCollectionPropertiesV2{NumberOfShards: ptr(3),
		ShardKeys: ptr([]string{"email"})})
	if err != nil {
		t.Fatal(err)
	}
	idx, created, err := people.EnsurePersistentIndex(ctx, []string{"email"}, &arangodb.CreatePersistentIndexOptions{Unique: ptr(true)})
	if err != nil || !created {
		t.Fatalf("unique index: %+v %v %v", idx, created, err)
	}
	if _, created, err := people.EnsurePersistentIndex(ctx, []string{"email"}, &arangodb.CreatePersistentIndexOptions{Unique: ptr(true)}); err != nil || created {
		t.Fatalf("same index again: %v %v", created, err)
	}
	if _, err := people.CreateDocument(ctx, map[string]any{"email": "a@x", "n": 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := people.CreateDocument(ctx, map[string]any{"email": "a@x", "n": 2}); !shared.IsConflict(err) && !shared.IsPreconditionFailed(err) {
		t.Fatalf("unique violation: want 1210, got %v", err)
	}
	var ae shared.ArangoError
	if _, err := people.CreateDocument(ctx, map[string]any{"email": "a@x"}); !errors.As(err, &ae) || ae.ErrorNum != 1210 {
		t.Fatalf("unique violation errorNum: %v", err)
	}
	if _, _, err := col.EnsurePersistentIndex(ctx, []string{"x"}, &arangodb.CreatePersistentIndexOptions{Unique: ptr(true)}); err == nil {
		t.Fatal("a unique index without the shard key was accepted")
	}
	ixs, err := people.Indexes(ctx)
	if err != nil || len(ixs) != 2 {
		t.Fatalf("indexes: %d %v", len(ixs), err)
	}
	if err := people.DeleteIndex(ctx, idx.Name); err != nil {
		t.Fatalf("drop index: %v", err)
	}

	// Import (JSON lines, text/plain).
	imp, err := col.ImportDocuments(ctx, "{\"_key\":\"i1\",\"x\":1}\n{\"_key\":\"i2\",\"x\":2}\n{\"_key\":\"a\"}\n",
		arangodb.ImportDocumentTypeDocuments)
	if err != nil || imp.Created != 2 || imp.Errors != 1 {
		t.Fatalf("import: %+v %v", imp, err)
	}
	n, err := col.Count(ctx)
	if err != nil || n != 4 {
		t.Fatalf("count: %d %v", n, err)
	}
	if err := col.Truncate(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := col.Count(ctx); n != 0 {
		t.Fatalf("count after truncate: %d", n)
	}
	if err := col.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.Remove(ctx); err != nil {
		t.Fatal(err)
	}
}
