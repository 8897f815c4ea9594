package mesoslocal

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
	"github.com/mesos/mesos-go/api/v1/lib/recordio"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// T-2: every status-code row of the scheduler endpoint (spec §1.3).
func TestSchedulerEndpointStatusCodes(t *testing.T) {
	c := startCluster(t, Config{AgentCount: 1})
	s := subscribe(t, c, frameworkInfo("rows"), mediaJSON)
	gone := subscribe(t, c, frameworkInfo("gone"), mediaJSON)
	gone.close()
	if _, err := c.WaitUntil(testCtx(t, 10*time.Second), func(st State) bool {
		fw, ok := st.Framework(gone.fid)
		return ok && !fw.Connected
	}); err != nil {
		t.Fatal(err)
	}
	url := c.MasterURL() + "/api/v1/scheduler"
	pb := func(c *scheduler.Call) string { b, _ := c.Marshal(); return string(b) }
	js := func(c *scheduler.Call) string { b, _ := json.Marshal(c); return string(b) }
	fid := &mesos.FrameworkID{Value: s.fid}
	revive := &scheduler.Call{FrameworkID: fid, Type: scheduler.Call_REVIVE}
	sub := &scheduler.Call{Type: scheduler.Call_SUBSCRIBE, Subscribe: &scheduler.Call_Subscribe{FrameworkInfo: &mesos.FrameworkInfo{User: "u", Name: "n"}}}
	cases := []struct {
		name        string
		method      string
		path        string
		ct, body    string
		header      map[string]string
		status      int
		msg         string // exact body, or prefix when it ends in '…'
		contentType string
	}{
		{name: "3 method", method: http.MethodGet, status: 405},
		{name: "4 no content type", body: js(revive), status: 400, msg: "Expecting 'Content-Type' to be present"},
		{name: "5 bad protobuf", ct: mediaProtobuf, body: "\xff\xff\xff", status: 400, msg: "Failed to parse body into Call protobuf"},
		{name: "5b bad JSON", ct: mediaJSON, body: "{not json", status: 400, msg: "Failed to parse body into JSON: …"},
		{name: "5b JSON not a Call", ct: mediaJSON, body: `{"type":"NO_SUCH_CALL"}`, status: 400, msg: "Failed to convert JSON into Call protobuf: …"},
		{name: "5b JSON array", ct: mediaJSON, body: `[1]`, status: 400, msg: "Failed to convert JSON into Call protobuf: …"},
		{name: "6 content type", ct: "text/plain", body: "x", status: 415, msg: "Expecting 'Content-Type' of application/json or application/x-protobuf"},
		{name: "7 no type", ct: mediaJSON, body: `{}`, status: 400, msg: "Failed to validate scheduler::Call: Expecting 'type' to be present"},
		{name: "7 no type protobuf", ct: mediaProtobuf, body: "", status: 400, msg: "Failed to validate scheduler::Call: Expecting 'type' to be present"},
		{name: "7 subscribe missing", ct: mediaJSON, body: `{"type":"SUBSCRIBE"}`, status: 400, msg: "Failed to validate scheduler::Call: Expecting 'subscribe' to be present"},
		{name: "7 framework id differs", ct: mediaJSON, body: js(&scheduler.Call{Type: scheduler.Call_SUBSCRIBE, FrameworkID: fid,
			Subscribe: &scheduler.Call_Subscribe{FrameworkInfo: &mesos.FrameworkInfo{User: "u", Name: "n"}}}),
			status: 400, msg: "Failed to validate scheduler::Call: 'framework_id' differs from 'subscribe.framework_info.id'"},
		{name: "7 no framework id", ct: mediaJSON, body: `{"type":"REVIVE"}`, status: 400, msg: "Failed to validate scheduler::Call: Expecting 'framework_id' to be present"},
		{name: "7 accept missing", ct: mediaJSON, body: js(&scheduler.Call{FrameworkID: fid, Type: scheduler.Call_ACCEPT}), status: 400,
			msg: "Failed to validate scheduler::Call: Expecting 'accept' to be present"},
		{name: "7 ack uuid", ct: mediaJSON, body: js(&scheduler.Call{FrameworkID: fid, Type: scheduler.Call_ACKNOWLEDGE,
			Acknowledge: &scheduler.Call_Acknowledge{UUID: []byte("short")}}), status: 400, msg: "Failed to validate scheduler::Call: Not a valid UUID"},
		{name: "8 accept header", ct: mediaJSON, body: js(sub), header: map[string]string{"Accept": "text/html"}, status: 406,
			msg: "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'"},
		{name: "9 stream id on subscribe", ct: mediaJSON, body: js(sub), header: map[string]string{"Mesos-Stream-Id": "x"}, status: 400,
			msg: "Subscribe calls should not include the 'Mesos-Stream-Id' header"},
		{name: "11 unknown framework", ct: mediaJSON, body: js(&scheduler.Call{FrameworkID: &mesos.FrameworkID{Value: "nope"}, Type: scheduler.Call_REVIVE}),
			header: map[string]string{"Mesos-Stream-Id": s.streamID}, status: 400, msg: "Framework cannot be found"},
		{name: "13 not subscribed", ct: mediaJSON, body: js(&scheduler.Call{FrameworkID: &mesos.FrameworkID{Value: gone.fid}, Type: scheduler.Call_REVIVE}),
			header: map[string]string{"Mesos-Stream-Id": gone.streamID}, status: 403, msg: "Framework is not subscribed"},
		{name: "15 no stream id", ct: mediaJSON, body: js(revive), status: 400, msg: "All non-subscribe calls should include the 'Mesos-Stream-Id' header"},
		{name: "16 wrong stream id", ct: mediaJSON, body: js(revive), header: map[string]string{"Mesos-Stream-Id": "bogus"}, status: 400,
			msg: "The stream ID 'bogus' included in this request didn't match the stream ID currently associated with framework ID " + s.fid},
		{name: "17 unknown call", ct: mediaJSON, body: `{"type":"UNKNOWN","framework_id":{"value":"` + s.fid + `"}}`,
			header: map[string]string{"Mesos-Stream-Id": s.streamID}, status: 501},
		{name: "18 revive json", ct: mediaJSON, body: js(revive), header: map[string]string{"Mesos-Stream-Id": s.streamID}, status: 202, msg: ""},
		{name: "18 revive protobuf", ct: mediaProtobuf, body: pb(revive), header: map[string]string{"Mesos-Stream-Id": s.streamID}, status: 202, msg: ""},
		{name: "18 master path", path: "/master/api/v1/scheduler", ct: mediaJSON, body: js(revive), header: map[string]string{"Mesos-Stream-Id": s.streamID}, status: 202},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			u := url
			if tc.path != "" {
				u = c.MasterURL() + tc.path
			}
			req, _ := http.NewRequest(method, u, strings.NewReader(tc.body))
			if tc.ct != "" {
				req.Header.Set("Content-Type", tc.ct)
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b := new(strings.Builder)
			_, _ = bufio.NewReader(resp.Body).WriteTo(b)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tc.status, b)
			}
			if strings.HasSuffix(tc.msg, "…") {
				if !strings.HasPrefix(b.String(), strings.TrimSuffix(tc.msg, "…")) {
					t.Fatalf("body %q, want prefix %q", b, tc.msg)
				}
			} else if tc.msg != "" && b.String() != tc.msg {
				t.Fatalf("body %q, want %q", b, tc.msg)
			}
		})
	}
}

// Row 10: the SUBSCRIBE response, for both media types and Accept forms.
func TestSubscribeResponse(t *testing.T) {
	c := startCluster(t, Config{AgentCount: 1})
	for _, tc := range []struct{ ct, accept, want string }{
		{mediaJSON, "", mediaJSON},
		{mediaJSON, "*/*", mediaJSON},
		{mediaProtobuf, mediaProtobuf, mediaProtobuf},
		{mediaProtobuf, "application/x-protobuf, application/json;q=0.5", mediaJSON},
	} {
		t.Run(tc.ct+"→"+tc.accept, func(t *testing.T) {
			// offer_filters:null is what ffjson sends (§7.14).
			body := `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"root","name":"x","failover_timeout":0,"offer_filters":null}}}`
			var b []byte
			if tc.ct == mediaProtobuf {
				var call scheduler.Call
				if err := json.Unmarshal([]byte(body), &call); err != nil {
					t.Fatal(err)
				}
				b, _ = call.Marshal()
			} else {
				b = []byte(body)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.MasterURL()+"/api/v1/scheduler", strings.NewReader(string(b)))
			req.Header.Set("Content-Type", tc.ct)
			if tc.accept != "" {
				req.Header.Set("Accept", tc.accept)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tc.want || resp.ContentLength != -1 {
				t.Fatalf("status %d content-type %q length %d", resp.StatusCode, resp.Header.Get("Content-Type"), resp.ContentLength)
			}
			if id := resp.Header.Get("Mesos-Stream-Id"); len(id) != 36 {
				t.Fatalf("stream id %q", id)
			}
			r := recordio.NewReader(resp.Body)
			var types []string
			for len(types) < 2 {
				frame, err := r.ReadFrame()
				if err != nil {
					t.Fatal(err)
				}
				var ev scheduler.Event
				if tc.want == mediaJSON {
					err = json.Unmarshal(frame, &ev)
				} else {
					err = ev.Unmarshal(frame)
				}
				if err != nil {
					t.Fatal(err)
				}
				types = append(types, ev.Type.String())
				if ev.Type == scheduler.Event_SUBSCRIBED {
					sub := ev.Subscribed
					if sub.GetHeartbeatIntervalSeconds() != c.cfg.Timers.Heartbeat.Seconds() || sub.MasterInfo == nil ||
						!strings.HasPrefix(sub.FrameworkID.Value, c.State().MasterID+"-") {
						t.Fatalf("SUBSCRIBED %v", sub)
					}
				}
			}
			if strings.Join(types, ",") != "SUBSCRIBED,HEARTBEAT" {
				t.Fatalf("first events %v", types)
			}
		})
	}
}

// T-2 for the executor endpoint (spec §2.1).
func TestExecutorEndpointStatusCodes(t *testing.T) {
	c := startCluster(t, Config{AgentCount: 1})
	s := subscribe(t, c, frameworkInfo("exec-rows"), mediaJSON)
	o := s.waitOffers(0)[0]
	ei := execInfo(t, "silent", "TESTEXECUTOR_NO_SUBSCRIBE", "1")
	launch(s, o, taskInfo("t1", o, ei, spec{}))
	agent := c.Agents()[0]
	if _, err := c.WaitUntil(testCtx(t, 10*time.Second), func(State) bool { return len(agent.ExecutorPIDs()) == 1 }); err != nil {
		t.Fatal(err)
	}
	url := "http://" + agent.Endpoint() + "/api/v1/executor"
	fid := mesos.FrameworkID{Value: s.fid}
	eid := mesos.ExecutorID{Value: "silent"}
	js := func(c *executor.Call) string { b, _ := json.Marshal(c); return string(b) }
	good := func() mesos.TaskStatus {
		return mesos.TaskStatus{TaskID: mesos.TaskID{Value: "t1"}, State: mesos.TASK_RUNNING.Enum(), Source: mesos.SOURCE_EXECUTOR.Enum(), UUID: newUUIDBytes()}
	}
	update := func(mod func(*mesos.TaskStatus)) string {
		st := good()
		if mod != nil {
			mod(&st)
		}
		return js(&executor.Call{FrameworkID: fid, ExecutorID: eid, Type: executor.Call_UPDATE, Update: &executor.Call_Update{Status: st}})
	}
	post := func(t *testing.T, ct, body string, status int, msg string) {
		t.Helper()
		code, b, _ := rawPost(t, url, ct, []byte(body), nil)
		if code != status || (msg != "" && b != msg) {
			t.Fatalf("got %d %q, want %d %q", code, b, status, msg)
		}
	}
	t.Run("405", func(t *testing.T) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 405 {
			t.Fatal(resp.StatusCode)
		}
	})
	t.Run("400 content type", func(t *testing.T) { post(t, "", "{}", 400, "Expecting 'Content-Type' to be present") })
	t.Run("415", func(t *testing.T) {
		post(t, "text/plain", "x", 415, "Expecting 'Content-Type' of application/json or application/x-protobuf")
	})
	t.Run("400 protobuf", func(t *testing.T) { post(t, mediaProtobuf, "\x0a", 400, "Failed to parse body into Call protobuf") })
	t.Run("400 no type", func(t *testing.T) {
		post(t, mediaJSON, `{"executor_id":{"value":"silent"},"framework_id":{"value":"`+s.fid+`"}}`, 400,
			"Failed to validate Executor::Call: Expecting 'type' to be present")
	})
	t.Run("202 heartbeat", func(t *testing.T) {
		post(t, mediaJSON, js(&executor.Call{FrameworkID: fid, ExecutorID: eid, Type: executor.Call_HEARTBEAT}), 202, "")
	})
	t.Run("400 unknown framework", func(t *testing.T) {
		post(t, mediaJSON, js(&executor.Call{FrameworkID: mesos.FrameworkID{Value: "nope"}, ExecutorID: eid, Type: executor.Call_UPDATE,
			Update: &executor.Call_Update{Status: good()}}), 400, "Framework cannot be found")
	})
	t.Run("400 unknown executor", func(t *testing.T) {
		post(t, mediaJSON, js(&executor.Call{FrameworkID: fid, ExecutorID: mesos.ExecutorID{Value: "nope"}, Type: executor.Call_UPDATE,
			Update: &executor.Call_Update{Status: good()}}), 400, "Executor cannot be found")
	})
	t.Run("403 not subscribed", func(t *testing.T) { post(t, mediaJSON, update(nil), 403, "Executor is not subscribed") })
	t.Run("406", func(t *testing.T) {
		code, _, _ := rawPost(t, url, mediaJSON, []byte(js(&executor.Call{FrameworkID: fid, ExecutorID: eid, Type: executor.Call_SUBSCRIBE,
			Subscribe: &executor.Call_Subscribe{}})), map[string]string{"Accept": "text/html"})
		if code != 406 {
			t.Fatal(code)
		}
	})
	// Subscribe on the silent executor's behalf: SUBSCRIBED, then the queued LAUNCH.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(js(&executor.Call{FrameworkID: fid, ExecutorID: eid,
		Type: executor.Call_SUBSCRIBE, Subscribe: &executor.Call_Subscribe{}})))
	req.Header.Set("Content-Type", mediaJSON)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != mediaJSON || resp.Header.Get("Mesos-Stream-Id") != "" {
		t.Fatalf("subscribe: %d %v", resp.StatusCode, resp.Header)
	}
	r := recordio.NewReader(resp.Body)
	next := func() *executor.Event {
		b, err := r.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		var ev executor.Event
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatal(err)
		}
		return &ev
	}
	if ev := next(); ev.Type != executor.Event_SUBSCRIBED || ev.Subscribed.ContainerID == nil ||
		ev.Subscribed.FrameworkInfo.GetID().GetValue() != s.fid || ev.Subscribed.AgentInfo.GetID().GetValue() != agent.ID() {
		t.Fatalf("first event %v", ev)
	}
	if ev := next(); ev.Type != executor.Event_LAUNCH || ev.Launch.Task.TaskID.Value != "t1" {
		t.Fatalf("second event %v", ev)
	}
	for _, tc := range []struct {
		name string
		mod  func(*mesos.TaskStatus)
		msg  string
	}{
		{"no uuid", func(st *mesos.TaskStatus) { st.UUID = nil }, "Expecting 'uuid' to be present"},
		{"short uuid", func(st *mesos.TaskStatus) { st.UUID = []byte("x") }, "Not a valid UUID"},
		{"source", func(st *mesos.TaskStatus) { st.Source = mesos.SOURCE_MASTER.Enum() },
			"Received Call from executor silent of framework " + s.fid + " with invalid source, expecting 'SOURCE_EXECUTOR'"},
		{"staging", func(st *mesos.TaskStatus) { st.State = mesos.TASK_STAGING.Enum() },
			"Received TASK_STAGING from executor silent of framework " + s.fid + " which is not allowed"},
		{"executor id", func(st *mesos.TaskStatus) { st.ExecutorID = &mesos.ExecutorID{Value: "other"} },
			"ExecutorID in Call: silent does not match ExecutorID in TaskStatus: other"},
	} {
		t.Run("400 "+tc.name, func(t *testing.T) {
			post(t, mediaJSON, update(tc.mod), 400, "Failed to validate Executor::Call: "+tc.msg)
		})
	}
	t.Run("202 update and ACKNOWLEDGED", func(t *testing.T) {
		st := good()
		body := js(&executor.Call{FrameworkID: fid, ExecutorID: eid, Type: executor.Call_UPDATE, Update: &executor.Call_Update{Status: st}})
		post(t, mediaJSON, body, 202, "")
		ev := next()
		if ev.Type != executor.Event_ACKNOWLEDGED || string(ev.Acknowledged.UUID) != string(st.UUID) {
			t.Fatalf("want ACKNOWLEDGED, got %v", ev)
		}
		u := s.waitUpdate(0, "t1", mesos.TASK_RUNNING, false)
		if u.AgentID.GetValue() != agent.ID() || u.ExecutorID.GetValue() != "silent" || u.Timestamp == nil || string(u.UUID) != string(st.UUID) {
			t.Fatalf("forwarded update %v", u)
		}
	})
	t.Run("202 message", func(t *testing.T) {
		post(t, mediaJSON, js(&executor.Call{FrameworkID: fid, ExecutorID: eid, Type: executor.Call_MESSAGE,
			Message: &executor.Call_Message{Data: []byte("hi")}}), 202, "")
		ev := s.waitFor(10*time.Second, func(e *scheduler.Event) bool { return e.Type == scheduler.Event_MESSAGE })
		if string(ev.Message.Data) != "hi" || ev.Message.ExecutorID.Value != "silent" || ev.Message.AgentID.Value != agent.ID() {
			t.Fatalf("MESSAGE %v", ev.Message)
		}
	})
	t.Run("subscribe while terminating gets SHUTDOWN", func(t *testing.T) {
		s.mustCall(&scheduler.Call{Type: scheduler.Call_SHUTDOWN, Shutdown: &scheduler.Call_Shutdown{ExecutorID: eid, AgentID: mesos.AgentID{Value: agent.ID()}}})
		if ev := next(); ev.Type != executor.Event_SHUTDOWN {
			t.Fatalf("want SHUTDOWN, got %v", ev)
		}
		code, b, _ := rawPost(t, url, mediaJSON, []byte(js(&executor.Call{FrameworkID: fid, ExecutorID: eid, Type: executor.Call_SUBSCRIBE,
			Subscribe: &executor.Call_Subscribe{}})), nil)
		if code == 200 && !strings.Contains(b, "SHUTDOWN") {
			t.Fatalf("resubscribe while terminating: %d %q", code, b)
		}
	})
}

// S-1.7: UPDATE_FRAMEWORK answers 200 with no Content-Type, 400 for the
// fields it may not change.
func TestUpdateFramework(t *testing.T) {
	c := startCluster(t, Config{AgentCount: 1})
	fi := frameworkInfo("upd")
	s := subscribe(t, c, fi, mediaJSON)
	fi.ID = &mesos.FrameworkID{Value: s.fid}
	call := func(info mesos.FrameworkInfo) (int, string, http.Header) {
		b, _ := json.Marshal(&scheduler.Call{FrameworkID: fi.ID, Type: scheduler.Call_UPDATE_FRAMEWORK,
			UpdateFramework: &scheduler.Call_UpdateFramework{FrameworkInfo: info}})
		return rawPost(t, s.url, mediaJSON, b, map[string]string{"Mesos-Stream-Id": s.streamID})
	}
	renamed := fi
	renamed.Name = "renamed"
	if code, body, h := call(renamed); code != 200 || body != "" || h.Get("Content-Type") != "" {
		t.Fatalf("update: %d %q %q", code, body, h.Get("Content-Type"))
	}
	if fw, _ := c.State().Framework(s.fid); fw.Name != "renamed" {
		t.Fatalf("name %q", fw.Name)
	}
	user := fi
	user.User = "someone-else"
	if code, body, _ := call(user); code != 400 || body != "Updating 'FrameworkInfo.user' is unsupported" {
		t.Fatalf("user change: %d %q", code, body)
	}
}
