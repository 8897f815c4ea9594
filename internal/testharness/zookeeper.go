package testharness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// zkServerScript is where Debian's zookeeper package puts its start script;
// scripts/install-test-deps.sh installs it.
const zkServerScript = "/usr/share/zookeeper/bin/zkServer.sh"

// StartZooKeeper starts a standalone ZooKeeper server on a free loopback
// port with a temporary data directory, waits until it serves, and returns
// its address (host:port). The server is stopped when the test ends. The
// test is skipped only when ZooKeeper is not installed and the environment
// allows it (ARANGOMESOS_REQUIRE_ZOOKEEPER=1, as in CI, makes it a failure).
func StartZooKeeper(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(zkServerScript); err != nil {
		if os.Getenv("ARANGOMESOS_REQUIRE_ZOOKEEPER") != "" {
			t.Fatalf("ZooKeeper is not installed (%s); run scripts/install-test-deps.sh", zkServerScript)
		}
		t.Skipf("ZooKeeper is not installed (%s); run scripts/install-test-deps.sh", zkServerScript)
	}
	dir := t.TempDir()
	port := FreePort(t)
	cfg := filepath.Join(dir, "zoo.cfg")
	body := fmt.Sprintf("tickTime=500\ndataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\nmaxSessionTimeout=60000\n",
		filepath.Join(dir, "data"), port)
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("java"); err != nil {
		t.Fatalf("ZooKeeper needs java: %v", err)
	}
	StartProcess(t, "zookeeper", zkServerScript, []string{"start-foreground", cfg},
		"ZOO_LOG_DIR="+dir, "ZOO_LOG4J_PROP=WARN,CONSOLE", "JVMFLAGS=-Xmx256m")
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	Eventually(t, 60*time.Second, func() error {
		c, _, err := zk.Connect([]string{addr}, 5*time.Second, ZKQuiet())
		if err != nil {
			return err
		}
		defer c.Close()
		_, _, err = c.Exists("/")
		return err
	})
	return addr
}

// ZKQuiet is a go-zookeeper connection option that drops the client's own
// log lines: its retries while a test's server starts or stops would
// otherwise flood the test output.
func ZKQuiet() func(*zk.Conn) { return zk.WithLogger(quietZKLogger{}) }

type quietZKLogger struct{}

func (quietZKLogger) Printf(string, ...any) {}
