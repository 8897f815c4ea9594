package cluster

// PollResult is the "result" of GET /_api/agency/poll: either the changes of
// every applied log entry from the asked index on (Log), or, when the agent
// no longer holds them or index was 0, the whole tree (ReadDB). CommitIndex
// is the last index the answer reflects; poll again from CommitIndex+1.
type PollResult struct {
	CommitIndex uint64         `json:"commitIndex"`
	FirstIndex  uint64         `json:"firstIndex"`
	Log         []PollEntry    `json:"log"`
	ReadDB      map[string]any `json:"readDB,omitempty"`
}

// PollEntry is one applied log entry that changed the tree.
type PollEntry struct {
	Index     uint64   `json:"index"`
	Term      uint64   `json:"term"`
	Timestamp int64    `json:"timestamp"`
	Changes   []Change `json:"changes"`
}

// Change is the state of one key after a log entry: Op "set" with the new
// value (the whole subtree), or Op "delete".
type Change struct {
	Key   string `json:"key"`
	Op    string `json:"op"`
	Value any    `json:"value,omitempty"`
}
