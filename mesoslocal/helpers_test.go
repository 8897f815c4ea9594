package mesoslocal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/recordio"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// testBinDir holds binaries built once per test binary run.
var (
	testBinOnce sync.Once
	testBinDir  string
	testBinErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if testBinDir != "" {
		os.RemoveAll(testBinDir)
	}
	os.Exit(code)
}

// testExecutorPath builds internal/testexecutor once.
func testExecutorPath(t testing.TB) string {
	t.Helper()
	testExecutorPathOnce()
	if testBinErr != nil {
		t.Fatal(testBinErr)
	}
	return filepath.Join(testBinDir, "testexecutor")
}

// fastTimers are short timers for tests. Failure detection stays slow
// enough that a loaded machine never trips it by accident; tests of agent
// loss use detectionTimers.
func fastTimers() Timers {
	return Timers{
		Heartbeat: 2 * time.Second, AllocationInterval: 50 * time.Millisecond, RefuseDefault: 200 * time.Millisecond,
		AgentPingTimeout: 500 * time.Millisecond, MaxAgentPingTimeouts: 10, AgentReregisterTimeout: 10 * time.Second,
		ExecutorRegistrationTimeout: 10 * time.Second, ExecutorShutdownGracePeriod: time.Second,
		ExecutorReregistrationTimeout: 2 * time.Second, RecoveryTimeout: 30 * time.Second,
		StatusUpdateRetryMin: 300 * time.Millisecond, StatusUpdateRetryMax: 2 * time.Second,
	}
}

// detectionTimers are fastTimers with quick agent-loss detection: 1s of
// missed pings, 1s to reregister after a disconnection.
func detectionTimers() Timers {
	t := fastTimers()
	t.AgentPingTimeout, t.MaxAgentPingTimeouts, t.AgentReregisterTimeout = 200*time.Millisecond, 5, time.Second
	return t
}

// startCluster starts a cluster closed at the end of the test, and checks
// that no executor process survived it.
func startCluster(t testing.TB, cfg Config) *Cluster {
	t.Helper()
	if cfg.Timers == (Timers{}) {
		cfg.Timers = fastTimers()
	}
	if cfg.AgentCount == 0 && len(cfg.Agents) == 0 {
		cfg.AgentCount = 2
	}
	if os.Getenv("MESOSLOCAL_TEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		var pids []int
		for _, a := range c.Agents() {
			pids = append(pids, a.ExecutorPIDs()...)
		}
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		for _, pid := range pids {
			if live := liveGroupMembers(pid); len(live) > 0 {
				out, _ := exec.Command("ps", "-eo", "pid,ppid,pgid,stat,args").CombinedOutput()
				t.Errorf("process group %d survived Close: %v\n%s", pid, live, out)
				_ = syscall.Kill(-pid, syscall.SIGKILL)
			}
		}
	})
	return c
}

func testCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// rawPost sends a raw request to a URL and returns status and body.
func rawPost(t testing.TB, url, contentType string, body []byte, header map[string]string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// sched is a raw-HTTP scheduler for tests: it subscribes, records every
// event, and sends calls with its stream id. Acknowledgements are explicit.
type sched struct {
	t        testing.TB
	url      string
	media    string
	fid      string
	streamID string
	resp     *http.Response
	cancel   context.CancelFunc

	mu     sync.Mutex
	used   map[string]bool // offers accepted or declined by the test
	events []*scheduler.Event
	done   bool
	wake   chan struct{}
}

func frameworkInfo(name string, caps ...mesos.FrameworkInfo_Capability_Type) mesos.FrameworkInfo {
	fi := mesos.FrameworkInfo{User: "root", Name: name, FailoverTimeout: proto.Float64(3600), Checkpoint: proto.Bool(true)}
	for _, c := range caps {
		fi.Capabilities = append(fi.Capabilities, mesos.FrameworkInfo_Capability{Type: c})
	}
	if len(caps) == 0 || !hasCap(caps, mesos.FrameworkInfo_Capability_MULTI_ROLE) {
		fi.Role = proto.String("*")
	}
	return fi
}

func hasCap(cs []mesos.FrameworkInfo_Capability_Type, c mesos.FrameworkInfo_Capability_Type) bool {
	for _, x := range cs {
		if x == c {
			return true
		}
	}
	return false
}

// subscribe opens a subscription; the test fails unless SUBSCRIBED arrives.
func subscribe(t testing.TB, c *Cluster, fi mesos.FrameworkInfo, media string) *sched {
	t.Helper()
	s, err := trySubscribe(c, fi, media)
	if err != nil {
		t.Fatal(err)
	}
	s.t = t
	t.Cleanup(s.close)
	ev := s.waitFor(10*time.Second, func(e *scheduler.Event) bool {
		return e.Type == scheduler.Event_SUBSCRIBED || e.Type == scheduler.Event_ERROR
	})
	if ev.Type != scheduler.Event_SUBSCRIBED {
		t.Fatalf("subscribe: %v", ev)
	}
	s.fid = ev.Subscribed.FrameworkID.Value
	return s
}

func trySubscribe(c *Cluster, fi mesos.FrameworkInfo, media string) (*sched, error) {
	call := &scheduler.Call{Type: scheduler.Call_SUBSCRIBE, Subscribe: &scheduler.Call_Subscribe{FrameworkInfo: &fi}}
	if fi.ID != nil {
		call.FrameworkID = fi.ID
	}
	body, err := encodeFor(media, call)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.MasterURL()+"/api/v1/scheduler", bytes.NewReader(body))
	req.Header.Set("Content-Type", media)
	req.Header.Set("Accept", media)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("subscribe: %d %s", resp.StatusCode, b)
	}
	s := &sched{url: c.MasterURL() + "/api/v1/scheduler", media: media, streamID: resp.Header.Get("Mesos-Stream-Id"),
		resp: resp, cancel: cancel, wake: make(chan struct{})}
	go s.read()
	return s, nil
}

func encodeFor(media string, m wireMessage) ([]byte, error) {
	if media == mediaProtobuf {
		return m.Marshal()
	}
	return json.Marshal(m)
}

func (s *sched) read() {
	r := recordio.NewReader(s.resp.Body)
	for {
		b, err := r.ReadFrame()
		if err != nil {
			break
		}
		var ev scheduler.Event
		if s.media == mediaProtobuf {
			err = ev.Unmarshal(b)
		} else {
			err = json.Unmarshal(b, &ev)
		}
		if err != nil {
			break
		}
		s.mu.Lock()
		s.events = append(s.events, &ev)
		close(s.wake)
		s.wake = make(chan struct{})
		s.mu.Unlock()
	}
	s.mu.Lock()
	s.done = true
	close(s.wake)
	s.wake = make(chan struct{})
	s.mu.Unlock()
}

func (s *sched) close() {
	s.cancel()
	s.resp.Body.Close()
}

// mark is the index of the next event; waitFrom looks at events from it.
func (s *sched) mark() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.events)
}

func (s *sched) waitFor(d time.Duration, pred func(*scheduler.Event) bool) *scheduler.Event {
	return s.waitFrom(0, d, pred)
}

// waitFrom returns the first event at index >= from that satisfies pred.
func (s *sched) waitFrom(from int, d time.Duration, pred func(*scheduler.Event) bool) *scheduler.Event {
	s.t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		for i := from; i < len(s.events); i++ {
			if pred(s.events[i]) {
				e := s.events[i]
				s.mu.Unlock()
				return e
			}
		}
		from = len(s.events)
		done, wake := s.done, s.wake
		s.mu.Unlock()
		if done {
			s.t.Fatalf("stream ended while waiting for an event")
		}
		select {
		case <-wake:
		case <-deadline.C:
			s.t.Fatalf("no matching event within %v", d)
		}
	}
}

// streamEnded waits for the end of the stream.
func (s *sched) streamEnded(d time.Duration) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		done, wake := s.done, s.wake
		s.mu.Unlock()
		if done {
			return true
		}
		select {
		case <-wake:
		case <-deadline.C:
			return false
		}
	}
}

// eventsSince returns a copy of events from index i.
func (s *sched) eventsSince(i int) []*scheduler.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*scheduler.Event(nil), s.events[i:]...)
}

// call sends a call with the framework id and stream id.
func (s *sched) call(c *scheduler.Call) (int, string) {
	s.t.Helper()
	if c.FrameworkID == nil {
		c.FrameworkID = &mesos.FrameworkID{Value: s.fid}
	}
	body, err := encodeFor(s.media, c)
	if err != nil {
		s.t.Fatal(err)
	}
	code, b, _ := rawPost(s.t, s.url, s.media, body, map[string]string{"Mesos-Stream-Id": s.streamID})
	return code, b
}

// mustCall sends a call that must be answered 202.
func (s *sched) mustCall(c *scheduler.Call) {
	s.t.Helper()
	if code, body := s.call(c); code != http.StatusAccepted {
		s.t.Fatalf("%s: %d %s", c.Type, code, body)
	}
}

func (s *sched) ack(st mesos.TaskStatus) {
	s.t.Helper()
	s.mustCall(&scheduler.Call{Type: scheduler.Call_ACKNOWLEDGE, Acknowledge: &scheduler.Call_Acknowledge{
		AgentID: *st.AgentID, TaskID: st.TaskID, UUID: st.UUID}})
}

// waitOffers waits for an OFFERS event from index from and returns its offers.
func (s *sched) waitOffers(from int) []mesos.Offer {
	s.t.Helper()
	return s.waitFrom(from, 10*time.Second, func(e *scheduler.Event) bool { return e.Type == scheduler.Event_OFFERS }).Offers.Offers
}

// waitUpdate waits for an UPDATE of task with state and acks it if it has
// a uuid.
func (s *sched) waitUpdate(from int, tid string, state mesos.TaskState, ack bool) mesos.TaskStatus {
	s.t.Helper()
	ev := s.waitFrom(from, 20*time.Second, func(e *scheduler.Event) bool {
		return e.Type == scheduler.Event_UPDATE && e.Update.Status.TaskID.Value == tid && e.Update.Status.GetState() == state
	})
	if ack && len(ev.Update.Status.UUID) > 0 {
		s.ack(ev.Update.Status)
	}
	return ev.Update.Status
}

// execInfo is an ExecutorInfo for the test executor.
func execInfo(t testing.TB, id string, env ...string) *mesos.ExecutorInfo {
	var vars []mesos.Environment_Variable
	for i := 0; i+1 < len(env); i += 2 {
		vars = append(vars, mesos.Environment_Variable{Name: env[i], Value: proto.String(env[i+1])})
	}
	return &mesos.ExecutorInfo{
		Type: mesos.ExecutorInfo_CUSTOM, ExecutorID: mesos.ExecutorID{Value: id},
		Command: &mesos.CommandInfo{Value: proto.String(testExecutorPath(t)), Shell: proto.Bool(false),
			Environment: &mesos.Environment{Variables: vars}},
		Resources: []mesos.Resource{scalar("cpus", 0.1), scalar("mem", 32)},
	}
}

func scalar(name string, v float64) mesos.Resource {
	return mesos.Resource{Name: name, Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: v}}
}

// taskInfo builds a task for an offer with the given action.
func taskInfo(id string, o mesos.Offer, e *mesos.ExecutorInfo, action spec, res ...mesos.Resource) mesos.TaskInfo {
	data, _ := json.Marshal(action)
	if len(res) == 0 {
		res = []mesos.Resource{scalar("cpus", 0.5), scalar("mem", 64)}
	}
	return mesos.TaskInfo{Name: id, TaskID: mesos.TaskID{Value: id}, AgentID: o.AgentID, Executor: e, Resources: res, Data: data}
}

// spec mirrors the test executor's task data.
type spec struct {
	Action  string `json:"action,omitempty"`
	Path    string `json:"path,omitempty"`
	Content string `json:"content,omitempty"`
	Code    int    `json:"code,omitempty"`
}

func launch(s *sched, o mesos.Offer, tasks ...mesos.TaskInfo) {
	s.t.Helper()
	s.use(o.ID.Value)
	s.mustCall(&scheduler.Call{Type: scheduler.Call_ACCEPT, Accept: &scheduler.Call_Accept{
		OfferIDs: []mesos.OfferID{o.ID}, Operations: []mesos.Offer_Operation{{Type: mesos.Offer_Operation_LAUNCH,
			Launch: &mesos.Offer_Operation_Launch{TaskInfos: tasks}}},
		Filters: &mesos.Filters{RefuseSeconds: proto.Float64(0.1)}}})
}

func killCall(tid string) *scheduler.Call {
	return &scheduler.Call{Type: scheduler.Call_KILL, Kill: &scheduler.Call_Kill{TaskID: mesos.TaskID{Value: tid}}}
}

// liveGroupMembers lists the processes of group pgid that are not zombies
// (a zombie reparented to init is dead, just not reaped yet).
func liveGroupMembers(pgid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndex(s, ")")
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g == pgid {
			out = append(out, pid)
		}
	}
	return out
}

// use marks an offer as used; isUsed also counts rescinded offers.
func (s *sched) use(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used == nil {
		s.used = map[string]bool{}
	}
	s.used[id] = true
}

func (s *sched) isUsed(id string) bool {
	if s.used[id] {
		return true
	}
	for _, e := range s.events {
		if e.Type == scheduler.Event_RESCIND && e.Rescind.OfferID.Value == id {
			return true
		}
	}
	return false
}

// eventually retries cond every 10ms until it holds or d passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		<-tick.C
	}
}
