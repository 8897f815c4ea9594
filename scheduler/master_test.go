package scheduler

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/arangomesos/arangomesos/internal/testharness"
)

func TestMasterEndpoint(t *testing.T) {
	ctx := context.Background()
	for in, want := range map[string]string{
		"127.0.0.1:5050":       "http://127.0.0.1:5050/api/v1/scheduler",
		"http://m.mesos:5050":  "http://m.mesos:5050/api/v1/scheduler",
		"https://m.mesos:5050": "https://m.mesos:5050/api/v1/scheduler",
	} {
		if got, err := masterEndpoint(ctx, in, slog.Default()); err != nil || got != want {
			t.Errorf("masterEndpoint(%q) = %q, %v", in, got, err)
		}
	}
}

// The leading master is the group member with the lowest sequence number.
func TestMasterDetectionThroughZooKeeper(t *testing.T) {
	addr := testharness.StartZooKeeper(t)
	conn, _, err := zk.Connect([]string{addr}, 5*time.Second, testharness.ZKQuiet())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Create("/mesos", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"10.0.0.1", "10.0.0.2"} {
		info := `{"hostname":"` + host + `","port":5050,"address":{"hostname":"` + host + `","ip":"` + host + `","port":5050}}`
		if _, err := conn.Create("/mesos/json.info_", []byte(info), zk.FlagEphemeral|zk.FlagSequence, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	ctx := testharness.Context(t, 30*time.Second)
	got, err := masterEndpoint(ctx, "zk://"+addr+"/mesos", slog.Default())
	if err != nil || got != "http://10.0.0.1:5050/api/v1/scheduler" {
		t.Fatalf("got %q, %v", got, err)
	}
}
