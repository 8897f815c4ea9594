package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/google/uuid"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// ErrDataDirInUse: another process holds the data directory.
var ErrDataDirInUse = errors.New("node: data directory is in use by another process")

// ErrDataDirOwner: the data directory belongs to another server id or role.
var ErrDataDirOwner = errors.New("node: data directory belongs to another server")

// dataDir is an opened, locked data directory.
type dataDir struct {
	path string
	lock *os.File
}

// openDataDir creates (if needed) and locks dir, and settles the server id:
// the id stored in dir wins if none is asked for; an asked id must match the
// stored one; a fresh directory stores the asked id, or a new one for role.
func openDataDir(dir string, role cluster.Role, askedID string) (*dataDir, string, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, "", fmt.Errorf("node: create data directory: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, "", fmt.Errorf("node: open lock file: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, "", fmt.Errorf("%w: %s", ErrDataDirInUse, dir)
	}
	d := &dataDir{path: dir, lock: lock}
	idFile := filepath.Join(dir, "SERVER_ID")
	b, err := os.ReadFile(idFile)
	switch {
	case err == nil:
		stored := strings.TrimSpace(string(b))
		if askedID != "" && askedID != stored {
			d.close()
			return nil, "", fmt.Errorf("%w: %s holds server %s, not %s", ErrDataDirOwner, dir, stored, askedID)
		}
		if r, ok := cluster.RoleOfID(stored); !ok || r != role {
			d.close()
			return nil, "", fmt.Errorf("%w: %s holds server %s, which is not a %s", ErrDataDirOwner, dir, stored, role)
		}
		return d, stored, nil
	case errors.Is(err, os.ErrNotExist):
		id := askedID
		if id == "" {
			id = role.Prefix() + uuid.NewString()[:8]
		}
		if r, ok := cluster.RoleOfID(id); !ok || r != role {
			d.close()
			return nil, "", fmt.Errorf("node: server id %q does not fit role %s (expected prefix %s)", id, role, role.Prefix())
		}
		if err := writeFileSync(idFile, []byte(id+"\n")); err != nil {
			d.close()
			return nil, "", err
		}
		return d, id, nil
	default:
		d.close()
		return nil, "", fmt.Errorf("node: read server id: %w", err)
	}
}

func (d *dataDir) sub(name string) string { return filepath.Join(d.path, name) }

func (d *dataDir) close() {
	if d.lock != nil {
		_ = syscall.Flock(int(d.lock.Fd()), syscall.LOCK_UN)
		d.lock.Close()
		d.lock = nil
	}
}

// writeFileSync writes a file atomically (temp file, fsync, rename).
func writeFileSync(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("node: write %s: %w", path, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("node: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("node: sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
