package mesoslocal

import (
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

func TestLaunchRunKill(t *testing.T) {
	for _, media := range []string{mediaJSON, mediaProtobuf} {
		t.Run(media, func(t *testing.T) {
			c := startCluster(t, Config{})
			s := subscribe(t, c, frameworkInfo("smoke"), media)
			offers := s.waitOffers(0)
			if len(offers) != 2 {
				t.Fatalf("want 2 offers, got %d", len(offers))
			}
			o := offers[0]
			m := s.mark()
			launch(s, o, taskInfo("t1", o, execInfo(t, "e1"), spec{}))
			s.waitUpdate(m, "t1", mesos.TASK_STARTING, true)
			s.waitUpdate(m, "t1", mesos.TASK_RUNNING, true)
			if err := c.WaitForTaskState(testCtx(t, 10*time.Second), "t1", mesos.TASK_RUNNING); err != nil {
				t.Fatal(err)
			}
			s.mustCall(killCall("t1"))
			st := s.waitUpdate(m, "t1", mesos.TASK_KILLED, true)
			if st.GetSource() != mesos.SOURCE_EXECUTOR || st.AgentID == nil || len(st.UUID) != 16 {
				t.Fatalf("bad update %v", st)
			}
			if _, err := c.WaitUntil(testCtx(t, 10*time.Second), func(s State) bool {
				fw, _ := s.Framework(s.Frameworks[0].ID)
				return len(fw.Tasks) == 0
			}); err != nil {
				t.Fatal(err)
			}
		})
	}
}
