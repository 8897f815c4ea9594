package shardapi

import (
	"encoding/json"

	"github.com/arangomesos/arangomesos/node/dbserver/storage"
)

// Paths of the internal API; {shard} is the shard's name.
const (
	PathWrite     = "/_internal/shard/{shard}/write"
	PathRead      = "/_internal/shard/{shard}/read"
	PathQuery     = "/_internal/shard/{shard}/query"
	PathCount     = "/_internal/shard/{shard}/count"
	PathChecksum  = "/_internal/shard/{shard}/checksum"
	PathReplicate = "/_internal/shard/{shard}/replicate"
	PathSyncBegin = "/_internal/shard/{shard}/sync/begin"
	PathChunks    = "/_internal/shard/{shard}/sync/chunks"
	PathKeys      = "/_internal/shard/{shard}/sync/keys"
	PathDocs      = "/_internal/shard/{shard}/sync/docs"
	PathTail      = "/_internal/shard/{shard}/sync/tail"
	PathJoin      = "/_internal/shard/{shard}/sync/join"
	PathResyncs   = "/_internal/resync"
	PathShards    = "/_internal/shards"
)

// HeaderOpID carries a write's operation id: a retry with the same id gets
// the first attempt's result instead of being applied twice.
const HeaderOpID = "x-arangomesos-op-id"

// Op is the kind of a write.
type Op string

// The write operations.
const (
	OpInsert   Op = "insert"
	OpReplace  Op = "replace"
	OpUpdate   Op = "update"
	OpRemove   Op = "remove"
	OpTruncate Op = "truncate"
)

// WriteOptions are the client's options of a document write, as ArangoDB's
// document API names them.
type WriteOptions struct {
	WaitForSync   bool   `json:"waitForSync,omitempty"`
	ReturnNew     bool   `json:"returnNew,omitempty"`
	ReturnOld     bool   `json:"returnOld,omitempty"`
	OverwriteMode string `json:"overwriteMode,omitempty"` // insert: "" (conflict), ignore, replace, update, conflict
	KeepNull      bool   `json:"keepNull"`
	MergeObjects  bool   `json:"mergeObjects"`
	// IgnoreRevs false makes replace/update/remove check each document's
	// _rev.
	IgnoreRevs bool `json:"ignoreRevs"`
	// IfMatch is the single-document If-Match revision ("" none).
	IfMatch string `json:"ifMatch,omitempty"`
	// ShardKeys are the collection's shard keys other than _key, which an
	// update or replace must not change (1469).
	ShardKeys []string `json:"shardKeys,omitempty"`
}

// WriteRequest is a batch of document writes for one shard, applied by the
// leader in order, atomically, and replicated as one operation.
type WriteRequest struct {
	Collection string `json:"collection"` // name, for _id
	Op         Op     `json:"op"`
	// Docs are the documents (insert, replace, update: each with _key) or
	// the selectors of remove ({"_key":…[,"_rev":…]}).
	Docs    []json.RawMessage `json:"docs"`
	Options WriteOptions      `json:"options"`
}

// Result is the outcome of one document of a batch: either an error
// (ArangoDB's errorNum and message, and the HTTP code a single-document
// request would get) or the document's meta data.
type Result struct {
	Error        bool            `json:"error,omitempty"`
	Code         int             `json:"code,omitempty"`
	ErrorNum     int             `json:"errorNum,omitempty"`
	ErrorMessage string          `json:"errorMessage,omitempty"`
	ID           string          `json:"_id,omitempty"`
	Key          string          `json:"_key,omitempty"`
	Rev          string          `json:"_rev,omitempty"`
	OldRev       string          `json:"_oldRev,omitempty"`
	New          json.RawMessage `json:"new,omitempty"`
	Old          json.RawMessage `json:"old,omitempty"`
	// Unchanged marks an insert ignored by overwriteMode=ignore.
	Unchanged bool `json:"unchanged,omitempty"`
}

// WriteResponse holds one result per document of the request.
type WriteResponse struct {
	Results []Result `json:"results"`
	// Truncated is the number of documents a truncate removed.
	Truncated int64 `json:"truncated,omitempty"`
}

// ReadRequest reads documents by key.
type ReadRequest struct {
	Keys []string `json:"keys"`
}

// ReadResponse holds the documents in the order of the keys; nil where a
// key was not found.
type ReadResponse struct {
	Docs []json.RawMessage `json:"docs"`
}

// QueryRequest runs a shard plan of an AQL query (aql.Plan.ShardQuery).
type QueryRequest struct {
	Query json.RawMessage `json:"query"`
}

// QueryResponse holds a shard's matching documents, sorted and limited as
// the shard plan says, and how many documents it scanned.
type QueryResponse struct {
	Docs    []json.RawMessage `json:"docs"`
	Scanned int64             `json:"scanned"`
}

// CountResponse answers PathCount.
type CountResponse struct {
	Count int64 `json:"count"`
}

// ChecksumResponse answers PathChecksum: the count and a hash of every
// (key, revision) of the shard's local copy, and its role.
type ChecksumResponse struct {
	Shard    string `json:"shard"`
	Count    int    `json:"count"`
	Checksum string `json:"checksum"`
	Leader   bool   `json:"leader"`
}

// Mutation is the full-state effect of a write on one document: set the
// document (Doc) or delete it (Doc nil), or remove everything (Truncate).
// Applying mutations is idempotent, which resynchronization relies on.
type Mutation struct {
	Key      string          `json:"k,omitempty"`
	Rev      storage.Rev     `json:"r"`
	Doc      json.RawMessage `json:"d,omitempty"`
	Truncate bool            `json:"t,omitempty"`
}

// Entry is one replicated operation: the mutations of one write request,
// its sequence number in the leader's term, and its operation id with the
// result the client got, so a follower that becomes leader answers a retry
// alike.
type Entry struct {
	Seq    uint64          `json:"s"`
	Muts   []Mutation      `json:"m"`
	OpID   string          `json:"i,omitempty"`
	Result json.RawMessage `json:"res,omitempty"`
	// Sync asks followers to make the entry durable before they
	// acknowledge it (the client's waitForSync).
	Sync bool `json:"sync,omitempty"`
}

// ReplicateRequest carries entries from a leader to a follower, which
// applies them in order after its last applied one.
type ReplicateRequest struct {
	Leader      string  `json:"leader"`
	RebootID    uint64  `json:"rebootId"`
	Term        uint64  `json:"term"`
	Entries     []Entry `json:"entries"`
	WaitForSync bool    `json:"waitForSync,omitempty"`
}

// ReplicateResponse says the last sequence number the follower applied.
type ReplicateResponse struct {
	Seq uint64 `json:"seq"`
}

// SyncBeginRequest starts a follower's resynchronization.
type SyncBeginRequest struct {
	Follower string `json:"follower"`
	// Term and Seq are the follower's last applied operation.
	Term uint64 `json:"term"`
	Seq  uint64 `json:"seq"`
}

// SyncBeginResponse tells the follower the leader's term and position, and
// whether the leader's operation log still holds everything after the
// follower's position (then it can tail instead of comparing ranges).
type SyncBeginResponse struct {
	Term     uint64 `json:"term"`
	RebootID uint64 `json:"rebootId"`
	Seq      uint64 `json:"seq"`
	CanTail  bool   `json:"canTail"`
}

// KeysRequest asks for the (key, revision) pairs of a key range.
type KeysRequest struct {
	Low  string `json:"low"`
	High string `json:"high"`
}

// DocsRequest asks for documents by key.
type DocsRequest struct {
	Keys []string `json:"keys"`
}

// SyncDoc is a document with its revision.
type SyncDoc struct {
	Key string          `json:"k"`
	Rev storage.Rev     `json:"r"`
	Doc json.RawMessage `json:"d"`
}

// TailRequest asks for the leader's operations after From in Term.
type TailRequest struct {
	Term  uint64 `json:"term"`
	From  uint64 `json:"from"`
	Limit int    `json:"limit"`
}

// TailResponse holds operations From+1… and the leader's last sequence
// number.
type TailResponse struct {
	Entries []Entry `json:"entries"`
	Last    uint64  `json:"last"`
}

// JoinRequest asks the leader to send the operations after From and add the
// follower to the in-sync list.
type JoinRequest struct {
	Follower string `json:"follower"`
	Term     uint64 `json:"term"`
	From     uint64 `json:"from"`
}

// JoinResponse gives the Agency index of the Current write that added the
// follower; the follower waits for its view to reach it.
type JoinResponse struct {
	Index uint64 `json:"index"`
}

// ResyncReport describes one finished resynchronization of a follower.
type ResyncReport struct {
	Shard     string  `json:"shard"`
	Leader    string  `json:"leader"`
	Method    string  `json:"method"` // "tail" (operation log) or "ranges" (hashed key ranges)
	Documents int64   `json:"documents"`
	Removed   int64   `json:"removed"`
	Bytes     int64   `json:"bytes"`
	Entries   int64   `json:"entries"`
	Chunks    int     `json:"chunks"`
	Differing int     `json:"differingChunks"`
	Seconds   float64 `json:"seconds"`
	Finished  string  `json:"finished"`
}
