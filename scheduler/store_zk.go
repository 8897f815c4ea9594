package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
)

// ZKStore keeps the state in a ZooKeeper znode, <path>/state, written with
// compare-and-set on the znode's version: a scheduler that Marathon restarts
// on another host finds it there.
type ZKStore struct {
	conn    *zk.Conn
	path    string
	name    string
	version int32
}

// ParseZK splits zk://host1:2181,host2:2181/path into servers and path.
func ParseZK(uri string) (servers []string, root string, err error) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "zk" || u.Host == "" {
		return nil, "", fmt.Errorf("%w: %q is not zk://host:port[,host:port]/path", ErrConfig, uri)
	}
	root = path.Clean("/" + strings.Trim(u.Path, "/"))
	if root == "/" {
		return nil, "", fmt.Errorf("%w: %q needs a path, e.g. zk://host:2181/arangomesos", ErrConfig, uri)
	}
	return strings.Split(u.Host, ","), root, nil
}

type zkLogger struct{ log *slog.Logger }

func (l zkLogger) Printf(format string, args ...any) { l.log.Debug(fmt.Sprintf(format, args...)) }

// OpenZKStore connects to ZooKeeper and creates the path if needed. It
// retries until ctx ends, logging why, so an unreachable ZooKeeper at start
// is a visible wait rather than a crash.
func OpenZKStore(ctx context.Context, uri, framework string, log *slog.Logger) (*ZKStore, error) {
	servers, root, err := ParseZK(uri)
	if err != nil {
		return nil, err
	}
	conn, _, err := zk.Connect(servers, 10*time.Second, zk.WithLogger(zkLogger{log}))
	if err != nil {
		return nil, fmt.Errorf("scheduler: zookeeper %v: %w", servers, err)
	}
	s := &ZKStore{conn: conn, path: root + "/state", name: framework}
	wait := time.Second
	for {
		err := s.ensure(root)
		if err == nil {
			return s, nil
		}
		log.Warn("zookeeper not reachable yet; retrying", "servers", servers, "err", err)
		select {
		case <-ctx.Done():
			conn.Close()
			return nil, fmt.Errorf("scheduler: zookeeper %v unreachable: %w (last error: %v)", servers, ctx.Err(), err)
		case <-time.After(wait):
		}
		wait = min(wait*2, 10*time.Second)
	}
}

// ensure creates every component of p.
func (s *ZKStore) ensure(p string) error {
	cur := ""
	for _, part := range strings.Split(strings.Trim(p, "/"), "/") {
		cur += "/" + part
		_, err := s.conn.Create(cur, nil, 0, zk.WorldACL(zk.PermAll))
		if err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return err
		}
	}
	return nil
}

// Load reads the state.
func (s *ZKStore) Load(context.Context) (*State, error) {
	b, stat, err := s.conn.Get(s.path)
	if errors.Is(err, zk.ErrNoNode) {
		s.version = -1
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("scheduler: read state from zookeeper: %w", err)
	}
	s.version = stat.Version
	if len(b) == 0 {
		return nil, nil
	}
	return decodeState(b, s.name)
}

// Save writes the state if its znode still has the version last seen.
func (s *ZKStore) Save(_ context.Context, st *State) error {
	body, err := jsonMarshal(st)
	if err != nil {
		return err
	}
	if s.version < 0 {
		_, err := s.conn.Create(s.path, body, 0, zk.WorldACL(zk.PermAll))
		if errors.Is(err, zk.ErrNodeExists) {
			return ErrStoreConflict
		}
		if err != nil {
			return fmt.Errorf("scheduler: write state to zookeeper: %w", err)
		}
		s.version = 0
		return nil
	}
	stat, err := s.conn.Set(s.path, body, s.version)
	if errors.Is(err, zk.ErrBadVersion) {
		return ErrStoreConflict
	}
	if err != nil {
		return fmt.Errorf("scheduler: write state to zookeeper: %w", err)
	}
	s.version = stat.Version
	return nil
}

// Delete removes the state znode, and the path above it as far as nothing
// else lives there (an uninstall leaves no trace in ZooKeeper).
func (s *ZKStore) Delete(context.Context) error {
	err := s.conn.Delete(s.path, -1)
	if err != nil && !errors.Is(err, zk.ErrNoNode) {
		return fmt.Errorf("scheduler: delete state from zookeeper: %w", err)
	}
	s.version = -1
	for p := path.Dir(s.path); p != "/"; p = path.Dir(p) {
		if err := s.conn.Delete(p, -1); err != nil {
			break // not empty (someone else's data) or already gone
		}
	}
	return nil
}

// Close closes the session.
func (s *ZKStore) Close() error {
	s.conn.Close()
	return nil
}
