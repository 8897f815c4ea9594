package executor

import (
	"log/slog"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

func status(task string, uuid byte, state mesos.TaskState) mesos.TaskStatus {
	return mesos.TaskStatus{TaskID: mesos.TaskID{Value: task}, State: state.Enum(), UUID: []byte{uuid}}
}

func TestLedgerKeepsOrderUntilAcknowledged(t *testing.T) {
	l := newLedger()
	l.addTask(mesos.TaskInfo{TaskID: mesos.TaskID{Value: "t"}})
	l.add(status("t", 1, mesos.TASK_STARTING))
	l.add(status("t", 2, mesos.TASK_RUNNING))

	tasks, updates, seq := l.subscribeLists()
	if len(tasks) != 1 || len(updates) != 2 || updates[0].Status.UUID[0] != 1 || seq != 2 {
		t.Fatalf("subscribe lists: %v %v %d", tasks, updates, seq)
	}
	// An update made after the SUBSCRIBE was built is not in it.
	l.add(status("t", 3, mesos.TASK_FAILED))
	l.subscribed(seq)
	if u, _, ok := l.nextUnsent(); !ok || u.Status.UUID[0] != 3 {
		t.Fatalf("next unsent: %v %v", u, ok)
	}
	_, _, seq3 := l.subscribeLists()
	l.markSent(seq3)
	if _, _, ok := l.nextUnsent(); ok {
		t.Fatal("everything was sent")
	}

	if !l.ack("t", []byte{1}) || l.ack("t", []byte{1}) {
		t.Fatal("ack of uuid 1")
	}
	if tasks, _, _ := l.subscribeLists(); len(tasks) != 0 {
		t.Fatal("an acknowledged update acknowledges its task")
	}
	l.ack("t", []byte{2})
	if l.empty() {
		t.Fatal("uuid 3 is pending")
	}
	l.ack("t", []byte{3})
	if !l.empty() || l.pending() != 0 {
		t.Fatal("all acknowledged")
	}
}

func TestLineTail(t *testing.T) {
	tail := newLineTail(3, 4096)
	tail.Write([]byte("one\ntwo\nthr"))
	tail.Write([]byte("ee\nfour\nfi"))
	if got := tail.String(); got != "two\nthree\nfour\nfi" { // three whole lines and the partial one
		t.Fatalf("tail %q", got)
	}
	small := newLineTail(10, 40)
	small.Write([]byte("0123456789\n0123456789\n0123456789\n0123456789\nlast\n"))
	if got := small.String(); len(got) > 40 || got[len(got)-4:] != "last" {
		t.Fatalf("byte-bounded tail %q", got)
	}
}

func TestKillOfAnUnknownTaskIsAnswered(t *testing.T) {
	for _, c := range []struct {
		caps []mesos.FrameworkInfo_Capability
		want mesos.TaskState
	}{
		{nil, mesos.TASK_LOST},
		{[]mesos.FrameworkInfo_Capability{{Type: mesos.FrameworkInfo_Capability_PARTITION_AWARE}}, mesos.TASK_DROPPED},
	} {
		e := New(Config{}, discardLogger())
		e.framework.Capabilities = c.caps
		e.kill("no-such-task", nil)
		_, updates, _ := e.ledger.subscribeLists()
		if len(updates) != 1 {
			t.Fatalf("updates: %v", updates)
		}
		st := updates[0].Status
		if st.GetState() != c.want || st.GetReason() != mesos.REASON_TASK_UNKNOWN || st.TaskID.Value != "no-such-task" || len(st.UUID) != 16 {
			t.Errorf("answer to KILL of an unknown task: %+v, want %s", st, c.want)
		}
	}
}

func TestBackoffIsBounded(t *testing.T) {
	c := Config{}
	c.SubscriptionBackoffMax = 2 * 1e9
	for n, want := range []float64{0.5, 1, 2, 2, 2} {
		if got := c.backoff(n, 0.5).Seconds(); got != want {
			t.Errorf("backoff(%d) = %vs, want %vs", n, got, want)
		}
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
