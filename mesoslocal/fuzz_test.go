package mesoslocal

import (
	"encoding/json"
	"testing"

	"github.com/gogo/protobuf/proto"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// The request decoders and validators must answer every input without
// panicking; `go test -fuzz FuzzX` shakes them, the seeds run always.

func FuzzSchedulerCall(f *testing.F) {
	sub := &scheduler.Call{Type: scheduler.Call_SUBSCRIBE, Subscribe: &scheduler.Call_Subscribe{
		FrameworkInfo: &mesos.FrameworkInfo{User: "u", Name: "n", Roles: []string{"a"}}}}
	ack := &scheduler.Call{Type: scheduler.Call_ACKNOWLEDGE, FrameworkID: &mesos.FrameworkID{Value: "f"},
		Acknowledge: &scheduler.Call_Acknowledge{UUID: newUUIDBytes()}}
	for _, c := range []*scheduler.Call{sub, ack, {Type: scheduler.Call_REVIVE}} {
		b, _ := c.Marshal()
		f.Add(mediaProtobuf, b)
		j, _ := json.Marshal(c)
		f.Add(mediaJSON, j)
	}
	f.Add(mediaJSON, []byte(`{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"root","name":"x","offer_filters":null}}}`))
	f.Add(mediaJSON, []byte(`{"type":"ACCEPT","framework_id":{"value":"x"},"accept":{"offer_ids":[{"value":"o"}],"operations":[{"type":"LAUNCH"}]}}`))
	f.Add("text/plain", []byte("x"))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		call, derr := decodeSchedulerCall(ct, body)
		if derr != nil {
			return
		}
		_ = validateSchedulerCall(call)
		if call.Subscribe != nil && call.Subscribe.FrameworkInfo != nil {
			info := *proto.Clone(call.Subscribe.FrameworkInfo).(*mesos.FrameworkInfo)
			_ = validateFrameworkInfo(&info, call.Subscribe.SuppressedRoles)
		}
		if call.Accept != nil {
			for _, op := range call.Accept.Operations {
				for _, ti := range launchedTasks(op) {
					for _, r := range ti.Resources {
						rr := toInternal(r)
						_ = rr.Validate()
						_ = validateVolume(&rr)
					}
				}
			}
		}
	})
}

func FuzzExecutorCall(f *testing.F) {
	upd := &executor.Call{Type: executor.Call_UPDATE, FrameworkID: mesos.FrameworkID{Value: "f"}, ExecutorID: mesos.ExecutorID{Value: "e"},
		Update: &executor.Call_Update{Status: mesos.TaskStatus{TaskID: mesos.TaskID{Value: "t"}, State: mesos.TASK_RUNNING.Enum(), UUID: newUUIDBytes()}}}
	sub := &executor.Call{Type: executor.Call_SUBSCRIBE, FrameworkID: mesos.FrameworkID{Value: "f"}, ExecutorID: mesos.ExecutorID{Value: "e"},
		Subscribe: &executor.Call_Subscribe{}}
	for _, c := range []*executor.Call{upd, sub} {
		b, _ := c.Marshal()
		f.Add(mediaProtobuf, b)
		j, _ := json.Marshal(c)
		f.Add(mediaJSON, j)
	}
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		var call executor.Call
		if decodeCall(ct, body, &call) != nil {
			return
		}
		_ = validateExecutorCall(&call, hasTopField(ct, body, "type", 3))
	})
}

func FuzzParseResources(f *testing.F) {
	for _, s := range []string{"cpus:4;mem:8192;disk:20480;ports:[31000-32000]", "cpus(eng):1,mem:{a,b}", "[]", `[{"name":"x"}]`, "ports:[1-2,3-4]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := ParseResources(s)
		if err != nil {
			return
		}
		_ = resourceMap(rs)
		_ = containsAll(rs, rs)
		_, _ = ParseAttributes(s)
	})
}

// FuzzAccept feeds arbitrary ACCEPT calls (JSON) to a master with one agent
// and one outstanding offer: whatever the operations, the master answers
// with updates or drops them, and never panics.
func FuzzAccept(f *testing.F) {
	for _, s := range []string{
		`{"offer_ids":[{"value":"M-O0"}],"operations":[{"type":"LAUNCH","launch":{"task_infos":[{"name":"t","task_id":{"value":"t"},"agent_id":{"value":"M-S0"},"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":1}}],"executor":{"executor_id":{"value":"e"},"command":{"value":"x"}}}]}}]}`,
		`{"offer_ids":[{"value":"M-O0"}],"operations":[{"type":"RESERVE","reserve":{"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"role":"eng","reservation":{"principal":"p"}}]}},{"type":"CREATE","create":{"volumes":[{"name":"disk","type":"SCALAR","scalar":{"value":1},"role":"eng","reservation":{},"disk":{"persistence":{"id":"v"},"volume":{"container_path":"d","mode":"RW"}}}]}}]}`,
		`{"offer_ids":[{"value":"M-O0"},{"value":"M-O0"}],"operations":[{"type":"UNRESERVE","unreserve":{"resources":[{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":5,"end":1}]}}]}}]}`,
		`{"offer_ids":[{"value":"M-O0"}],"operations":[{"type":"LAUNCH_GROUP","launch_group":{"executor":{"type":"CUSTOM","executor_id":{"value":"e"}},"task_group":{"tasks":[{"name":"t","task_id":{"value":"t"},"agent_id":{"value":"M-S0"}}]}}},{"type":"DESTROY","destroy":{"volumes":[{"name":"disk","type":"SET","set":{"item":["a","a"]}}]}}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var acc scheduler.Call_Accept
		if json.Unmarshal(body, &acc) != nil {
			return
		}
		cfg, _ := Config{MasterID: "M", AgentCount: -1}.withDefaults()
		m := newMaster(cfg, newTap(), "127.0.0.1", 5050)
		l := newLink(func(any) {}, func(any) {})
		defer l.sever()
		total, _ := ParseResources("cpus:4;mem:1024;disk:1024;ports:[31000-31999];cpus(eng):1")
		a := &agentEntry{id: "M-S0", name: "a", ip: "127.0.1.1", total: total, link: l, connected: true,
			info:      mesos.AgentInfo{Hostname: "h"},
			executors: map[string]map[string]mesos.ExecutorInfo{}, tasks: map[string]map[string]*task{},
			kills: map[string]map[string]*mesos.KillPolicy{}}
		m.agents[a.id] = a
		info := frameworkInfo("fuzz")
		info.ID, info.Role, info.Principal = &mesos.FrameworkID{Value: "M-0000"}, proto.String("eng"), proto.String("p")
		fw := &framework{id: "M-0000", info: info, tasks: map[string]*task{}, unreachableTasks: map[string]*task{},
			suppressed: map[string]bool{}, filters: map[filterKey]*refusal{}}
		m.frameworks[fw.id] = fw
		m.offers["M-O0"] = &offer{id: "M-O0", fid: fw.id, agentID: a.id, role: "eng", resources: allocatableTo(total, "eng")}
		m.mu.Lock()
		defer m.mu.Unlock()
		m.acceptLocked(fw, &acc)
		_ = m.stateLocked()
		_ = m.stateJSONLocked()
		m.allocateLocked()
	})
}
