package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tidwall/buntdb"
)

// Errors of the state stores.
var (
	// ErrStoreOwner: the store holds the state of another framework name.
	ErrStoreOwner = errors.New("scheduler: the state store belongs to another framework")
	// ErrStoreCorrupt: the stored state cannot be read.
	ErrStoreCorrupt = errors.New("scheduler: the stored state is corrupt")
	// ErrStoreConflict: another scheduler changed the state meanwhile.
	ErrStoreConflict = errors.New("scheduler: the state was changed by another scheduler")
)

// Store keeps the scheduler's State. Load returns nil (and no error) for an
// empty store. Save is a compare-and-set against the version Load or the
// previous Save saw, so two schedulers never overwrite each other.
type Store interface {
	Load(ctx context.Context) (*State, error)
	Save(ctx context.Context, s *State) error
	// Delete removes the state (uninstall).
	Delete(ctx context.Context) error
	Close() error
}

// decodeState parses a stored state and checks that it belongs to name.
func decodeState(b []byte, name string) (*State, error) {
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStoreCorrupt, err)
	}
	if s.FrameworkName != name {
		return nil, fmt.Errorf("%w: it holds %q, this is %q", ErrStoreOwner, s.FrameworkName, name)
	}
	if s.Members == nil {
		s.Members = map[string]*Member{}
	}
	if s.NextIndex == nil {
		s.NextIndex = map[string]int{}
	}
	return &s, nil
}

// BuntStore keeps the state in a buntdb file (one key, synced on every
// save).
type BuntStore struct {
	db      *buntdb.DB
	name    string
	version int64
}

const buntKey = "state"

// OpenBuntStore opens (or creates) dir/<framework>.db.
func OpenBuntStore(dir, framework string) (*BuntStore, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("scheduler: create state directory: %w", err)
	}
	db, err := buntdb.Open(filepath.Join(dir, framework+".db"))
	if err != nil {
		return nil, fmt.Errorf("%w: open %s: %v", ErrStoreCorrupt, dir, err)
	}
	if err := db.SetConfig(buntdb.Config{SyncPolicy: buntdb.Always, AutoShrinkPercentage: 100, AutoShrinkMinSize: 1 << 20}); err != nil {
		db.Close()
		return nil, err
	}
	return &BuntStore{db: db, name: framework}, nil
}

type versioned struct {
	Version int64           `json:"version"`
	State   json.RawMessage `json:"state"`
}

// Load reads the state.
func (b *BuntStore) Load(context.Context) (*State, error) {
	var raw string
	err := b.db.View(func(tx *buntdb.Tx) error {
		var err error
		raw, err = tx.Get(buntKey)
		return err
	})
	if errors.Is(err, buntdb.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("scheduler: read state: %w", err)
	}
	var v versioned
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStoreCorrupt, err)
	}
	b.version = v.Version
	return decodeState(v.State, b.name)
}

// Save writes the state if nobody else wrote it since this store last read
// or wrote it.
func (b *BuntStore) Save(_ context.Context, s *State) error {
	body, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return b.db.Update(func(tx *buntdb.Tx) error {
		if raw, err := tx.Get(buntKey); err == nil {
			var v versioned
			if json.Unmarshal([]byte(raw), &v) == nil && v.Version != b.version {
				return ErrStoreConflict
			}
		}
		next := versioned{Version: b.version + 1, State: body}
		enc, _ := json.Marshal(next)
		if _, _, err := tx.Set(buntKey, string(enc), nil); err != nil {
			return err
		}
		b.version++
		return nil
	})
}

// Delete removes the state, and rewrites the file so that no earlier
// version of it (secrets included) stays in its log.
func (b *BuntStore) Delete(context.Context) error {
	err := b.db.Update(func(tx *buntdb.Tx) error {
		_, err := tx.Delete(buntKey)
		return err
	})
	if err != nil && !errors.Is(err, buntdb.ErrNotFound) {
		return fmt.Errorf("scheduler: delete state: %w", err)
	}
	b.version = 0
	if err := b.db.Shrink(); err != nil {
		return fmt.Errorf("scheduler: compact the state file: %w", err)
	}
	return nil
}

// Close closes the file.
func (b *BuntStore) Close() error { return b.db.Close() }

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
