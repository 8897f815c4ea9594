package supervision

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/node/cluster"
)

func snapshotOf(t *testing.T, arango string) *Snapshot {
	t.Helper()
	var tree map[string]any
	if err := json.Unmarshal([]byte(`{"arango":`+arango+`}`), &tree); err != nil {
		t.Fatal(err)
	}
	s, err := DecodeSnapshot(tree)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var t0 = time.Unix(1_800_000_000, 0)

func writesText(out Output) string {
	b, _ := json.Marshal(out.Writes)
	return string(b)
}

func TestHealthVerdicts(t *testing.T) {
	const layout = `{"Plan":{"DBServers":{"PRMR-1":"none"},"Coordinators":{"CRDN-1":"none"}},
		"Supervision":{"Health":{"PRMR-1":{"Status":%q},"CRDN-1":{"Status":%q}}}}`
	cases := []struct {
		name      string
		persisted string
		lastAcked time.Duration // before now; 0 = never heard from
		leaderFor time.Duration
		wantDB    string
		wantJob   bool
	}{
		{"fresh heartbeat is GOOD", "GOOD", time.Second, time.Hour, "GOOD", false},
		{"old heartbeat is BAD", "GOOD", 7 * time.Second, time.Hour, "BAD", false},
		{"GOOD never jumps to FAILED", "GOOD", 30 * time.Second, time.Hour, "BAD", false},
		{"BAD becomes FAILED with a job", "BAD", 30 * time.Second, time.Hour, "FAILED", true},
		{"a new leader counts from its start", "GOOD", 0, 2 * time.Second, "GOOD", false},
		{"unknown server is BAD first", "", 0, time.Hour, "BAD", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			snap := snapshotOf(t, strings.ReplaceAll(strings.ReplaceAll(layout, "%q", `"`+c.persisted+`"`), `""`, `""`))
			in := Input{Now: t0, Snapshot: snap, Heartbeats: map[string]cluster.ServerState{}, Beats: map[string]Beat{},
				LeaderSince: t0.Add(-c.leaderFor), IDs: IDRange{Next: 1, End: 100}, Config: DefaultConfig}
			if c.lastAcked > 0 {
				in.Beats["PRMR-1"] = Beat{SyncTime: "x", SyncStatus: "SERVING", LastAcked: t0.Add(-c.lastAcked)}
				in.Heartbeats["PRMR-1"] = cluster.ServerState{Status: "SERVING", Time: "x"}
			}
			out := Round(in)
			w := writesText(out)
			if !strings.Contains(w, `"Status":"`+c.wantDB+`"`) && c.persisted != c.wantDB {
				t.Fatalf("want status %s in writes: %s", c.wantDB, w)
			}
			if hasJob := strings.Contains(w, `"type":"failedServer"`); hasJob != c.wantJob {
				t.Fatalf("failedServer job created: %v, want %v: %s", hasJob, c.wantJob, w)
			}
			if c.wantJob && !strings.Contains(w, `"/arango/Target/FailedServers/PRMR-1"`) {
				t.Fatalf("FailedServers entry missing: %s", w)
			}
		})
	}
}

func TestHeartbeatChangeResetsAge(t *testing.T) {
	snap := snapshotOf(t, `{"Plan":{"DBServers":{"PRMR-1":"none"}},"Supervision":{"Health":{"PRMR-1":{"Status":"BAD"}}}}`)
	out := Round(Input{Now: t0, Snapshot: snap, LeaderSince: t0.Add(-time.Hour), IDs: IDRange{1, 10},
		Beats:      map[string]Beat{"PRMR-1": {SyncTime: "old", LastAcked: t0.Add(-8 * time.Second)}},
		Heartbeats: map[string]cluster.ServerState{"PRMR-1": {Status: "SERVING", Time: "new"}}})
	if b := out.Beats["PRMR-1"]; !b.LastAcked.Equal(t0) || b.SyncTime != "new" {
		t.Fatalf("beat = %+v", b)
	}
	if !strings.Contains(writesText(out), `"Status":"GOOD"`) {
		t.Fatalf("a new heartbeat makes the server GOOD: %s", writesText(out))
	}
}

// A server's last heartbeat (SHUTDOWN) often comes within the second of
// the one before, so its time is the same: the changed status makes it new.
func TestHeartbeatWithANewStatusInTheSameSecondIsNew(t *testing.T) {
	snap := snapshotOf(t, `{"Plan":{"Coordinators":{"CRDN-1":"none"}},
		"Supervision":{"Health":{"CRDN-1":{"Status":"GOOD","SyncStatus":"STOPPING"}}}}`)
	out := Round(Input{Now: t0, Snapshot: snap, LeaderSince: t0.Add(-time.Hour), IDs: IDRange{1, 10},
		Beats:      map[string]Beat{"CRDN-1": {SyncTime: "t", SyncStatus: "STOPPING", LastAcked: t0.Add(-time.Second)}},
		Heartbeats: map[string]cluster.ServerState{"CRDN-1": {Status: "SHUTDOWN", Time: "t"}}})
	if b := out.Beats["CRDN-1"]; b.SyncStatus != "SHUTDOWN" || !b.LastAcked.Equal(t0) {
		t.Fatalf("beat = %+v", b)
	}
	if w := writesText(out); !strings.Contains(w, `"SyncStatus":"SHUTDOWN"`) {
		t.Fatalf("the health record does not say SHUTDOWN: %s", w)
	}
}

func TestHealthRecordOfUnplannedServerIsRemoved(t *testing.T) {
	snap := snapshotOf(t, `{"Plan":{"DBServers":{}},"Supervision":{"Health":{"PRMR-9":{"Status":"FAILED"}}}}`)
	out := Round(Input{Now: t0, Snapshot: snap, LeaderSince: t0, IDs: IDRange{1, 10}})
	if !strings.Contains(writesText(out), `"/arango/Supervision/Health/PRMR-9":{"op":"delete"}`) {
		t.Fatalf("writes: %s", writesText(out))
	}
}

func TestFailedCoordinatorGetsNoJob(t *testing.T) {
	snap := snapshotOf(t, `{"Plan":{"Coordinators":{"CRDN-1":"none"}},"Supervision":{"Health":{"CRDN-1":{"Status":"BAD"}}}}`)
	out := Round(Input{Now: t0, Snapshot: snap, LeaderSince: t0.Add(-time.Hour), IDs: IDRange{1, 10},
		Beats: map[string]Beat{"CRDN-1": {SyncTime: "x", LastAcked: t0.Add(-time.Minute)}}})
	w := writesText(out)
	if !strings.Contains(w, `"Status":"FAILED"`) || strings.Contains(w, "failedServer") {
		t.Fatalf("writes: %s", w)
	}
}

func TestNoIDsNoJob(t *testing.T) {
	snap := snapshotOf(t, `{"Plan":{"DBServers":{"PRMR-1":"none"}},"Supervision":{"Health":{"PRMR-1":{"Status":"BAD"}}}}`)
	out := Round(Input{Now: t0, Snapshot: snap, LeaderSince: t0.Add(-time.Hour), IDs: IDRange{5, 5},
		Beats: map[string]Beat{"PRMR-1": {SyncTime: "x", LastAcked: t0.Add(-time.Minute)}}})
	if strings.Contains(writesText(out), "FAILED") {
		t.Fatal("without a job id the server must stay BAD until the next round")
	}
}
