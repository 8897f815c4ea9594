// Command testexecutor is the custom executor mesoslocal's tests launch. It
// speaks the v1 executor API through mesos-go only, and does what each
// task's data (JSON, see spec) asks: run until killed, finish, write or
// read a file (e.g. through a persistent volume's symlink), or exit.
//
// Environment (besides the MESOS_* variables the agent sets):
//
//	TESTEXECUTOR_CODEC=json        use JSON instead of protobuf
//	TESTEXECUTOR_NO_SUBSCRIBE=1    never subscribe (registration timeout tests)
//	TESTEXECUTOR_IGNORE_SHUTDOWN=1 ignore SHUTDOWN (grace period tests)
package main

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
	"github.com/mesos/mesos-go/api/v1/lib/executor/calls"
	"github.com/mesos/mesos-go/api/v1/lib/executor/config"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpexec"
)

// spec is what a task asks the executor to do (TaskInfo.data as JSON).
type spec struct {
	Action  string `json:"action"` // run (default), finish, write, read, exit, fail
	Path    string `json:"path"`   // write/read: file relative to the sandbox
	Content string `json:"content"`
	Code    int    `json:"code"` // exit: exit status
}

type state struct {
	mu             sync.Mutex
	cfg            config.Config
	sender         calls.Sender
	unackedTasks   map[string]mesos.TaskInfo
	unackedUpdates map[string]executor.Call_Update
	running        map[string]bool
	quit           bool
}

func main() {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	cfg, err := config.FromEnv()
	if err != nil {
		log.Printf("failed to load configuration: %v", err)
		os.Exit(2)
	}
	log.Printf("configuration loaded: %+v", cfg)
	env, _ := json.Marshal(os.Environ())
	_ = os.WriteFile(filepath.Join(cfg.Sandbox, "env.json"), env, 0o644)
	if os.Getenv("TESTEXECUTOR_NO_SUBSCRIBE") == "1" {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM)
		<-sig
		return
	}
	codec := codecs.ByMediaType[codecs.MediaTypeProtobuf]
	if os.Getenv("TESTEXECUTOR_CODEC") == "json" {
		codec = codecs.ByMediaType[codecs.MediaTypeJSON]
	}
	u := url.URL{Scheme: "http", Host: cfg.AgentEndpoint, Path: "/api/v1/executor"}
	cli := httpcli.New(httpcli.Endpoint(u.String()), httpcli.Codec(codec), httpcli.Do(httpcli.With(httpcli.Timeout(10*time.Second))))
	opts := executor.CallOptions{calls.Framework(cfg.FrameworkID), calls.Executor(cfg.ExecutorID)}
	st := &state{cfg: cfg, sender: calls.SenderWith(httpexec.NewSender(cli.Send), opts...),
		unackedTasks: map[string]mesos.TaskInfo{}, unackedUpdates: map[string]executor.Call_Update{}, running: map[string]bool{}}
	subscriber := calls.SenderWith(httpexec.NewSender(cli.Send, httpcli.Close(true)), opts...)
	disconnected := time.Now()
	backoff := 100 * time.Millisecond
	for {
		st.mu.Lock()
		var tasks []mesos.TaskInfo
		for _, t := range st.unackedTasks {
			tasks = append(tasks, t)
		}
		var updates []executor.Call_Update
		for _, u := range st.unackedUpdates {
			updates = append(updates, u)
		}
		st.mu.Unlock()
		resp, err := subscriber.Send(context.Background(), calls.NonStreaming(calls.Subscribe(tasks, updates)))
		if err == nil {
			backoff = 100 * time.Millisecond
			err = st.loop(resp)
			resp.Close()
			disconnected = time.Now()
		}
		log.Printf("subscription ended: %v", err)
		st.mu.Lock()
		quit := st.quit
		st.mu.Unlock()
		if quit {
			log.Printf("shutting down")
			return
		}
		if !cfg.Checkpoint {
			log.Printf("exiting: framework does not checkpoint")
			return
		}
		if time.Since(disconnected) > cfg.RecoveryTimeout {
			log.Printf("recovery timeout")
			return
		}
		time.Sleep(backoff)
		if backoff *= 2; backoff > cfg.SubscriptionBackoffMax {
			backoff = cfg.SubscriptionBackoffMax
		}
	}
}

func (st *state) loop(dec mesos.Response) error {
	for {
		var e executor.Event
		if err := dec.Decode(&e); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		switch e.Type {
		case executor.Event_SUBSCRIBED:
			log.Printf("SUBSCRIBED container %s", e.Subscribed.GetContainerID().GetValue())
		case executor.Event_LAUNCH:
			st.launch(e.Launch.Task)
		case executor.Event_LAUNCH_GROUP:
			for _, t := range e.LaunchGroup.TaskGroup.Tasks {
				st.launch(t)
			}
		case executor.Event_KILL:
			tid := e.Kill.TaskID.Value
			log.Printf("KILL %s policy %v", tid, e.Kill.KillPolicy)
			go func() {
				if kp := e.Kill.KillPolicy; kp != nil && kp.GracePeriod != nil {
					// Honour the grace period: a real task would get SIGTERM now
					// and SIGKILL when it ends; this one stops within it.
					time.Sleep(time.Duration(kp.GracePeriod.Nanoseconds) / 10)
				}
				st.update(tid, mesos.TASK_KILLED, "killed", nil)
			}()
		case executor.Event_ACKNOWLEDGED:
			st.mu.Lock()
			delete(st.unackedTasks, e.Acknowledged.TaskID.Value)
			delete(st.unackedUpdates, string(e.Acknowledged.UUID))
			st.mu.Unlock()
		case executor.Event_MESSAGE:
			data := append([]byte("echo:"), e.Message.Data...)
			if resp, err := st.sender.Send(context.Background(), calls.NonStreaming(calls.Message(data))); err == nil {
				resp.Close()
			} else {
				log.Printf("MESSAGE reply: %v", err)
			}
		case executor.Event_SHUTDOWN:
			log.Printf("SHUTDOWN")
			if os.Getenv("TESTEXECUTOR_IGNORE_SHUTDOWN") == "1" {
				continue
			}
			st.mu.Lock()
			var ids []string
			for id := range st.running {
				ids = append(ids, id)
			}
			st.quit = true
			st.mu.Unlock()
			for _, id := range ids {
				st.update(id, mesos.TASK_KILLED, "executor shut down", nil)
			}
			return nil
		case executor.Event_ERROR:
			return nil
		case executor.Event_HEARTBEAT:
		}
	}
}

func (st *state) launch(t mesos.TaskInfo) {
	st.mu.Lock()
	st.unackedTasks[t.TaskID.Value] = t
	st.running[t.TaskID.Value] = true
	st.mu.Unlock()
	var sp spec
	if len(t.Data) > 0 {
		if err := json.Unmarshal(t.Data, &sp); err != nil {
			st.update(t.TaskID.Value, mesos.TASK_FAILED, "bad task data: "+err.Error(), nil)
			return
		}
	}
	tid := t.TaskID.Value
	st.update(tid, mesos.TASK_STARTING, "", nil)
	st.update(tid, mesos.TASK_RUNNING, "", nil)
	switch sp.Action {
	case "finish":
		st.update(tid, mesos.TASK_FINISHED, "", nil)
	case "fail":
		st.update(tid, mesos.TASK_FAILED, "asked to fail", nil)
	case "write":
		p := filepath.Join(st.cfg.Sandbox, sp.Path)
		if err := os.WriteFile(p, []byte(sp.Content), 0o644); err != nil {
			st.update(tid, mesos.TASK_FAILED, err.Error(), nil)
			return
		}
		st.update(tid, mesos.TASK_FINISHED, "wrote "+sp.Path, nil)
	case "read":
		b, err := os.ReadFile(filepath.Join(st.cfg.Sandbox, sp.Path))
		if err != nil {
			st.update(tid, mesos.TASK_FAILED, err.Error(), nil)
			return
		}
		st.update(tid, mesos.TASK_FINISHED, string(b), b)
	case "exit":
		log.Printf("exiting with %d as task %s asks", sp.Code, tid)
		os.Exit(sp.Code)
	}
}

func (st *state) update(tid string, s mesos.TaskState, msg string, data []byte) {
	id := uuid.New()
	eid := mesos.ExecutorID{Value: st.cfg.ExecutorID}
	status := mesos.TaskStatus{TaskID: mesos.TaskID{Value: tid}, State: s.Enum(), Source: mesos.SOURCE_EXECUTOR.Enum(),
		ExecutorID: &eid, UUID: id[:], Data: data}
	if msg != "" {
		status.Message = &msg
	}
	upd := calls.Update(status)
	st.mu.Lock()
	st.unackedUpdates[string(id[:])] = *upd.Update
	if s != mesos.TASK_RUNNING && s != mesos.TASK_STARTING {
		delete(st.running, tid)
	}
	st.mu.Unlock()
	resp, err := st.sender.Send(context.Background(), calls.NonStreaming(upd))
	if resp != nil {
		resp.Close()
	}
	if err != nil {
		log.Printf("update %s %s: %v (kept for resubscription)", tid, s, err)
	}
}
