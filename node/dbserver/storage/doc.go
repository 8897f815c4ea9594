// Package storage keeps the documents of one shard in a buntdb database file:
// documents as JSON under their _key, each with its revision; the unique and
// non-unique entries of the shard's persistent indexes; the ids of recent
// operations (so a retried write is applied once); and the shard's
// replication metadata (leadership term, last applied operation, the highest
// revision).
//
// A Store knows nothing of leaders and followers: the replication code above
// it decides what to write, and applies whole batches atomically with
// Update. Writes may be made durable with Sync, which groups the fsyncs of
// concurrent writers. Hashes over key ranges (Chunks, RangeHash, KeyRevs)
// let a follower find the documents that differ from its leader's without
// moving the whole shard.
package storage
