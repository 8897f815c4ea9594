package testharness

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// AgentAddressBlock reserves a loopback block 127.B.0.0/16 for the agents
// of one mesoslocal cluster and returns its first address, 127.B.0.1. Tests
// in different packages run in parallel processes (go test -p), and
// mesoslocal's agents would otherwise all take 127.0.1.x with the same port
// ranges: one test's nodes would bind, or answer, the other's ports. The
// reservation is an flock on a file in the system temp directory, held
// until the test ends (or its process dies), so it works across processes.
// It fails the test when every block is taken.
func AgentAddressBlock(t testing.TB) string {
	t.Helper()
	for b := 2; b < 255; b++ {
		path := filepath.Join(os.TempDir(), fmt.Sprintf("arangomesos-test-127.%d.lock", b))
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			t.Fatalf("reserve agent addresses: %v", err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			continue
		}
		t.Cleanup(func() { f.Close() }) // closing releases the lock
		return fmt.Sprintf("127.%d.0.1", b)
	}
	t.Fatal("reserve agent addresses: every 127.B.0.0/16 block is taken by other tests")
	return ""
}
