package agency_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/internal/testharness"
	"github.com/arangomesos/arangomesos/node/agency"
	"github.com/arangomesos/arangomesos/node/agency/agencytest"
	"github.com/arangomesos/arangomesos/node/cluster"
)

func TestMain(m *testing.M) { testharness.Main(m) }

// post sends a raw request to one agent, without following redirects.
func post(t *testing.T, endpoint, path, body string) (int, http.Header, []byte) {
	t.Helper()
	base, _ := cluster.BaseURL(endpoint)
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	method := http.MethodPost
	if strings.Contains(path, "/poll") || strings.HasSuffix(path, "/config") || strings.HasSuffix(path, "/stores") {
		method = http.MethodGet
	}
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func TestReadAfterWriteFromAnyAgentAndRedirects(t *testing.T) {
	c := agencytest.New(t, 3, agencytest.Options{})
	ctx := testharness.Context(t, 30*time.Second)
	leader := c.WaitLeader()
	for _, f := range c.Followers() {
		code, hdr, _ := post(t, f.Endpoint, "/_api/agency/write", `[[{"/x":1}]]`)
		lhp, _ := agency.HostPort(leader.Endpoint)
		if code != http.StatusTemporaryRedirect || hdr.Get("Location") != "http://"+lhp+"/_api/agency/write" {
			t.Fatalf("follower %s: HTTP %d Location %q, want 307 to the leader %s", f.ID, code, hdr.Get("Location"), lhp)
		}
	}
	// Every agent's clients see their own writes at once, whichever agent
	// they start from: a client is given only that agent's endpoint.
	for i, a := range c.Agents {
		cl, err := cluster.NewAgencyClient([]string{a.Endpoint}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j < 20; j++ {
			key := fmt.Sprintf("/rw/%d", i)
			res, err := cl.Write(ctx, cluster.Transaction{Ops: map[string]cluster.Operation{key: cluster.Set(j)}})
			if err != nil || !res.OK() {
				t.Fatalf("write via %s: %v %v", a.ID, res, err)
			}
			var got int
			if ok, err := cl.Get(ctx, key, &got); err != nil || !ok || got != j {
				t.Fatalf("read via %s after write of %d: got %d ok=%v err=%v", a.ID, j, got, ok, err)
			}
		}
	}
}

func TestInitialLayout(t *testing.T) {
	c := agencytest.New(t, 1, agencytest.Options{})
	ctx := testharness.Context(t, 20*time.Second)
	cl := c.Client()
	var plan struct {
		Version   int
		Databases map[string]map[string]any
	}
	if ok, err := cl.Get(ctx, cluster.Plan, &plan); err != nil || !ok {
		t.Fatalf("Plan: %v %v", ok, err)
	}
	if plan.Version != 1 || plan.Databases[cluster.SystemDatabase] == nil {
		t.Fatalf("Plan = %+v", plan)
	}
	for _, key := range []string{cluster.CurrentVersion, cluster.TargetToDo, cluster.SupervisionHealth, cluster.SyncLatestID, cluster.ClusterIDKey} {
		if ok, err := cl.Get(ctx, key, nil); err != nil || !ok {
			t.Errorf("%s missing: %v", key, err)
		}
	}
}

func TestWritePreconditionsAndTransact(t *testing.T) {
	c := agencytest.New(t, 3, agencytest.Options{})
	leader := c.WaitLeader()
	code, _, b := post(t, leader.Endpoint, "/_api/agency/write", `[[{"/a/b/c":{"op":"set","new":[1,2,3]}}]]`)
	if code != 200 || !bytes.Contains(b, []byte(`"results":[`)) {
		t.Fatalf("write: %d %s", code, b)
	}
	body := `[[{"/a/b/c":{"op":"set","new":[1,2,3,4]}},{"/a/b/c":{"old":[1,2,3]}}]]`
	if code, _, b = post(t, leader.Endpoint, "/_api/agency/write", body); code != 200 {
		t.Fatalf("conditional write: %d %s", code, b)
	}
	code, _, b = post(t, leader.Endpoint, "/_api/agency/write", body)
	if code != http.StatusPreconditionFailed || string(b) != `{"results":[0]}` {
		t.Fatalf("repeated conditional write: %d %s, want 412 {\"results\":[0]}", code, b)
	}
	// transact: a write, a read that sees it, a failed write with the values
	// at its precondition keys.
	code, _, b = post(t, leader.Endpoint, "/_api/agency/transact",
		`[[{"/t":{"op":"increment"}}],["/t"],[{"/u":1},{"/t":{"old":7}}]]`)
	if code != http.StatusPreconditionFailed {
		t.Fatalf("transact: %d %s", code, b)
	}
	var res []json.RawMessage
	if err := json.Unmarshal(b, &res); err != nil || len(res) != 3 {
		t.Fatalf("transact answer %s", b)
	}
	if string(res[1]) != `{"t":1}` || string(res[2]) != `{"t":1}` {
		t.Fatalf("transact read %s, failed-write info %s", res[1], res[2])
	}
}

func TestInquire(t *testing.T) {
	c := agencytest.New(t, 3, agencytest.Options{})
	leader := c.WaitLeader()
	code, _, b := post(t, leader.Endpoint, "/_api/agency/write", `[[{"/q":1},{},"cid-1"]]`)
	if code != 200 {
		t.Fatalf("write: %d %s", code, b)
	}
	var w struct{ Results []uint64 }
	_ = json.Unmarshal(b, &w)
	code, _, b = post(t, leader.Endpoint, "/_api/agency/inquire", `["cid-1"]`)
	if code != 200 || string(b) != fmt.Sprintf(`{"inquired":true,"results":[%d]}`, w.Results[0]) {
		t.Fatalf("inquire known: %d %s", code, b)
	}
	code, _, b = post(t, leader.Endpoint, "/_api/agency/inquire", `["cid-unknown"]`)
	if code != 404 || string(b) != `{"inquired":true,"results":[0]}` {
		t.Fatalf("inquire unknown: %d %s", code, b)
	}
}

func TestPollLongPollAndSnapshotMode(t *testing.T) {
	c := agencytest.New(t, 3, agencytest.Options{})
	ctx := testharness.Context(t, 30*time.Second)
	cl := c.Client()
	first, err := cl.Poll(ctx, 0, time.Second)
	if err != nil || first.ReadDB == nil || first.ReadDB["arango"] == nil {
		t.Fatalf("poll from 0 must give the whole tree: %+v %v", first, err)
	}
	type pollAnswer struct {
		r   cluster.PollResult
		err error
	}
	ch := make(chan pollAnswer, 1)
	go func() {
		r, err := cl.Poll(ctx, first.CommitIndex+1, 20*time.Second)
		ch <- pollAnswer{r, err}
	}()
	res, err := cl.Write(ctx, cluster.Transaction{Ops: map[string]cluster.Operation{
		"/watch/x": cluster.Set(map[string]any{"y": 1}), "/watch/gone": cluster.Delete()}})
	if err != nil || !res.OK() {
		t.Fatal(res, err)
	}
	select {
	case p := <-ch:
		if p.err != nil || len(p.r.Log) == 0 {
			t.Fatalf("long poll: %+v %v", p.r, p.err)
		}
		e := p.r.Log[len(p.r.Log)-1]
		if e.Index != res.Index() || len(e.Changes) != 1 || e.Changes[0].Key != "/watch/x" || e.Changes[0].Op != "set" {
			t.Fatalf("poll entry %+v, write index %d", e, res.Index())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("long poll did not wake up on a write")
	}
	// A poll with nothing new returns empty after its timeout.
	last, _ := cl.Poll(ctx, 0, 0)
	empty, err := cl.Poll(ctx, last.CommitIndex+1, 100*time.Millisecond)
	if err != nil || len(empty.Log) != 0 {
		t.Fatalf("idle poll: %+v %v", empty, err)
	}
}

func TestTransientStore(t *testing.T) {
	c := agencytest.New(t, 3, agencytest.Options{})
	leader := c.WaitLeader()
	code, _, b := post(t, leader.Endpoint, "/_api/agency/transient",
		`[[{"/arango/Sync/ServerStates/PRMR-1":{"status":"SERVING","time":"2024-01-01T12:00:00Z"}}]]`)
	if code != 200 {
		t.Fatalf("transient: %d %s", code, b)
	}
	_, _, b = post(t, leader.Endpoint, "/_api/agency/read", `[["/arango/Sync/ServerStates"]]`)
	if bytes.Contains(b, []byte("PRMR-1")) {
		t.Fatalf("a transient write must not reach the replicated store: %s", b)
	}
	_, _, b = post(t, leader.Endpoint, "/_api/agency/stores", ``)
	var st struct{ Transient map[string]any }
	if err := json.Unmarshal(b, &st); err != nil || !strings.Contains(fmt.Sprint(st.Transient), "PRMR-1") {
		t.Fatalf("stores: %s", b)
	}
}

func TestTTLExpiresThroughTheLog(t *testing.T) {
	c := agencytest.New(t, 3, agencytest.Options{})
	ctx := testharness.Context(t, 30*time.Second)
	cl := c.Client()
	res, err := cl.Write(ctx, cluster.Transaction{Ops: map[string]cluster.Operation{"/ttl/k": cluster.SetTTL("v", time.Second)}})
	if err != nil || !res.OK() {
		t.Fatal(res, err)
	}
	testharness.Eventually(t, 10*time.Second, func() error {
		p, err := cl.Poll(ctx, res.Index()+1, 200*time.Millisecond)
		if err != nil {
			return err
		}
		for _, e := range p.Log {
			for _, ch := range e.Changes {
				if ch.Key == "/ttl/k" && ch.Op == "delete" {
					return nil
				}
			}
		}
		return errors.New("no delete of /ttl/k in the log yet")
	})
	// Every agent's state machine lost the key, not only the leader's view.
	for _, a := range c.Agents {
		testharness.Eventually(t, 5*time.Second, func() error {
			if !a.Agency().FSM().Empty("/ttl/k") {
				return fmt.Errorf("%s still has /ttl/k", a.ID)
			}
			return nil
		})
	}
}

func TestObserverCallback(t *testing.T) {
	c := agencytest.New(t, 3, agencytest.Options{})
	ctx := testharness.Context(t, 30*time.Second)
	got := make(chan map[string]any, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		_ = json.NewDecoder(r.Body).Decode(&m)
		got <- m
	}))
	defer srv.Close()
	cl := c.Client()
	if _, err := cl.Write(ctx, cluster.Transaction{Ops: map[string]cluster.Operation{"/obs/a": cluster.Observe(srv.URL + "/cb")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Write(ctx, cluster.Transaction{Ops: map[string]cluster.Operation{"/obs/a/b": cluster.Set(1)}}); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if _, ok := m["/obs/a"].(map[string]any)["/obs/a/b"]; !ok || m["index"] == nil {
			t.Fatalf("callback body %v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no observer callback")
	}
}

func TestLeaderFailoverAndCatchUp(t *testing.T) {
	c := agencytest.New(t, 3, agencytest.Options{})
	ctx := testharness.Context(t, 60*time.Second)
	cl := c.Client()
	for i := 0; i < 50; i++ {
		if _, err := cl.Write(ctx, cluster.Transaction{Ops: map[string]cluster.Operation{fmt.Sprintf("/f/%d", i): cluster.Set(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	old := c.WaitLeader()
	old.Stop()
	newLeader := c.WaitLeader()
	if newLeader == old {
		t.Fatal("stopped agent still leads")
	}
	for i := 50; i < 100; i++ {
		if _, err := cl.Write(ctx, cluster.Transaction{Ops: map[string]cluster.Operation{fmt.Sprintf("/f/%d", i): cluster.Set(i)}}); err != nil {
			t.Fatalf("write after failover: %v", err)
		}
	}
	old.Start()
	testharness.Eventually(t, 20*time.Second, func() error {
		tree, _ := old.Agency().FSM().Tree()
		f, _ := tree["f"].(map[string]any)
		if len(f) != 100 {
			return fmt.Errorf("restarted agent has %d of 100 keys", len(f))
		}
		return nil
	})
}

func TestSnapshotsAndRestartKeepData(t *testing.T) {
	c := agencytest.New(t, 3, agencytest.Options{SnapshotThreshold: 64})
	ctx := testharness.Context(t, 60*time.Second)
	cl := c.Client()
	for i := 0; i < 400; i++ {
		if _, err := cl.Write(ctx, cluster.Transaction{Ops: map[string]cluster.Operation{"/s/n": cluster.Increment(1)}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range c.Agents {
		a.Stop()
	}
	for _, a := range c.Agents {
		a.Start()
	}
	c.WaitLeader()
	var n int
	if ok, err := cl.Get(ctx, "/s/n", &n); err != nil || !ok || n != 400 {
		t.Fatalf("after a full restart /s/n = %d (ok=%v err=%v), want 400", n, ok, err)
	}
}

func TestReplaceDeadAgentKeepsQuorum(t *testing.T) {
	c := agencytest.New(t, 3, agencytest.Options{})
	ctx := testharness.Context(t, 90*time.Second)
	cl := c.Client()
	dead := c.Followers()[0]
	dead.Stop()
	// The replacement is started like the others but joins instead of
	// bootstrapping, because the Agency it finds does not list it.
	joined := c.AddAgent("AGNT-replacement")
	if err := cl.ChangeMembership(ctx, joined.ID, joined.Endpoint, dead.ID); err != nil {
		t.Fatalf("replace: %v", err)
	}
	leader := c.WaitLeader()
	conf := leader.Agency().Config()
	if _, ok := conf.Configuration.Pool[dead.ID]; ok || len(conf.Configuration.Active) != 3 {
		t.Fatalf("pool after replacement: %v active %v", conf.Configuration.Pool, conf.Configuration.Active)
	}
	// The Agency now survives the loss of one more of the original agents.
	leader.Stop()
	c.WaitLeader()
	if res, err := cl.Write(ctx, cluster.Transaction{Ops: map[string]cluster.Operation{"/after": cluster.Set(1)}}); err != nil || !res.OK() {
		t.Fatalf("write after replacement and another loss: %v %v", res, err)
	}
	// Refusals: removing an unknown agent, and replacing an agent by itself.
	if err := cl.ChangeMembership(ctx, "", "", "AGNT-nope"); !errors.Is(err, cluster.ErrAgencyRequest) {
		t.Fatalf("remove unknown: %v", err)
	}
}

func TestBadInputIsRefusedAndChangesNothing(t *testing.T) {
	c := agencytest.New(t, 1, agencytest.Options{})
	leader := c.WaitLeader()
	before, _ := leader.Agency().FSM().Tree()
	deep := strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100)
	cases := []struct {
		path, body string
		errNum     int
	}{
		{"/_api/agency/write", ``, 600},
		{"/_api/agency/write", `not json`, 600},
		{"/_api/agency/write", `[[{"/a":1}]`, 600},
		{"/_api/agency/write", `[[{"/deep":` + deep + `}]]`, 600},
		{"/_api/agency/write", `{"a":1}`, 400},
		{"/_api/agency/write", `[["not an object"]]`, 400},
		{"/_api/agency/write", `[[{"/a":{"op":"explode"}}]]`, 400},
		{"/_api/agency/write", `[[{"/a":1},["x"]]]`, 400},
		{"/_api/agency/write", `[[{"/a":1},{"/b":{"old":1,"bogus":2}}]]`, 400},
		{"/_api/agency/read", `[["/a", 5]]`, 400},
		{"/_api/agency/read", `[]`, 400},
		{"/_api/agency/transact", `[5]`, 400},
		{"/_api/agency/inquire", `[1]`, 400},
		{"/_api/agency/write", `[[{"/big":"` + strings.Repeat("x", agency.MaxRequestSize) + `"}]]`, 400},
	}
	for _, tc := range cases {
		code, hdr, b := post(t, leader.Endpoint, tc.path, tc.body)
		var e struct {
			Error        bool
			Code         int
			ErrorNum     int
			ErrorMessage string
		}
		if err := json.Unmarshal(b, &e); err != nil || code != 400 || !e.Error || e.Code != 400 || e.ErrorNum != tc.errNum || e.ErrorMessage == "" ||
			!strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
			t.Errorf("%s %.60q: HTTP %d %s", tc.path, tc.body, code, b)
		}
	}
	after, _ := leader.Agency().FSM().Tree()
	bb, _ := json.Marshal(before)
	ab, _ := json.Marshal(after)
	if !bytes.Equal(bb, ab) {
		t.Fatal("bad input changed the store")
	}
	if code, _, b := post(t, leader.Endpoint, "/_api/agency/nothing", `[]`); code != 404 || !bytes.Contains(b, []byte(`"errorNum":404`)) {
		t.Errorf("unknown path: %d %s", code, b)
	}
	if code, _, _ := post(t, leader.Endpoint, "/_api/agency/poll?index=x", ``); code != 400 {
		t.Errorf("bad poll index: %d", code)
	}
}

func TestAuthentication(t *testing.T) {
	secret := cluster.Secret("test-secret")
	c := agencytest.New(t, 3, agencytest.Options{Secret: secret})
	ctx := testharness.Context(t, 20*time.Second)
	leader := c.WaitLeader()
	code, _, b := post(t, leader.Endpoint, "/_api/agency/read", `[["/"]]`)
	if code != 401 || !bytes.Contains(b, []byte(`"error":true`)) {
		t.Fatalf("no token: %d %s", code, b)
	}
	wrong, _ := cluster.SuperuserToken(cluster.Secret("other"), "AGNT-x")
	base, _ := cluster.BaseURL(leader.Endpoint)
	req, _ := http.NewRequest(http.MethodPost, base+"/_api/agency/read", strings.NewReader(`[["/"]]`))
	req.Header.Set("Authorization", "bearer "+wrong)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 401 {
		t.Fatalf("wrong token: %v %v", resp, err)
	}
	resp.Body.Close()
	user, _ := cluster.UserToken(secret, "root", time.Hour)
	req.Header.Set("Authorization", "Bearer "+user)
	req.Body = io.NopCloser(strings.NewReader(`[["/"]]`))
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Fatalf("user token on an agent: %v %v", resp, err)
	}
	resp.Body.Close()
	if _, err := c.Client().Write(ctx, cluster.Transaction{Ops: map[string]cluster.Operation{"/ok": cluster.Set(1)}}); err != nil {
		t.Fatalf("signed client: %v", err)
	}
	// A Raft connection without a valid token is closed before Raft sees it.
	hp, _ := agency.HostPort(leader.Endpoint)
	conn, err := net.Dial("tcp", hp)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = conn.Write([]byte{0xA5, 0, 3, 'b', 'a', 'd'})
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Fatal("raft connection with a bad token was not closed")
	}
}

func TestConcurrentWritersAllApplied(t *testing.T) {
	c := agencytest.New(t, 3, agencytest.Options{})
	ctx := testharness.Context(t, 60*time.Second)
	cl := c.Client()
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				if _, err := cl.Write(ctx, cluster.Transaction{Ops: map[string]cluster.Operation{"/cnt": cluster.Increment(1)}}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var n int
	if _, err := cl.Get(context.Background(), "/cnt", &n); err != nil || n != 800 {
		t.Fatalf("counter = %d, %v; want 800", n, err)
	}
}

// Concurrent write requests share log entries; each still gets the results
// of its own transactions, and 412 only when one of its own preconditions
// failed.
func TestConcurrentWritesGetTheirOwnResults(t *testing.T) {
	c := agencytest.New(t, 3, agencytest.Options{})
	leader := c.WaitLeader()
	var wg sync.WaitGroup
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				body := fmt.Sprintf(`[[{"/own/%d":%d}]]`, w, i)
				wantCode, wantN := http.StatusOK, 1
				if w%2 == 1 {
					body = fmt.Sprintf(`[[{"/own/%d":%d}],[{"/never":1},{"/missing/%d":{"oldEmpty":false}}]]`, w, i, w)
					wantCode, wantN = http.StatusPreconditionFailed, 2
				}
				code, _, b := post(t, leader.Endpoint, "/_api/agency/write", body)
				var res struct{ Results []uint64 }
				if err := json.Unmarshal(b, &res); err != nil || code != wantCode || len(res.Results) != wantN ||
					res.Results[0] == 0 || (wantN == 2 && res.Results[1] != 0) {
					t.Errorf("writer %d: HTTP %d %s, want %d with %d results (the second 0)", w, code, b, wantCode, wantN)
					return
				}
			}
		}()
	}
	wg.Wait()
	ctx := testharness.Context(t, 10*time.Second)
	for w := 0; w < 32; w++ {
		var got int
		if ok, err := c.Client().Get(ctx, fmt.Sprintf("/own/%d", w), &got); err != nil || !ok || got != 9 {
			t.Fatalf("/own/%d = %d (exists %v, %v), want 9", w, got, ok, err)
		}
	}
	if ok, err := c.Client().Get(ctx, "/never", nil); err != nil || ok {
		t.Fatalf("/never exists (%v, %v): a failed transaction was applied", ok, err)
	}
}
