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
