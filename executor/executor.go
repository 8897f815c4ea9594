package executor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"sync"
	"time"

	"github.com/google/uuid"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
	"github.com/mesos/mesos-go/api/v1/lib/executor/calls"
	"github.com/mesos/mesos-go/api/v1/lib/executor/events"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpexec"
)

// Errors of the executor.
var (
	// ErrEnv: the process environment is not a Mesos executor's.
	ErrEnv = errors.New("executor: bad Mesos environment")
	// ErrBadTask: a launched task cannot be run (no or bad node spec, an
	// unsupported health check); it gets TASK_FAILED and nothing starts.
	ErrBadTask = errors.New("executor: bad task")
	// ErrAgentGone: the agent did not come back within the recovery
	// timeout (or the framework does not checkpoint); the node was stopped.
	ErrAgentGone = errors.New("executor: lost the agent")
)

// errFinished ends the event loop once nothing is left to do.
var errFinished = errors.New("executor: finished")

// callTimeout bounds the response headers of one call to the agent.
const callTimeout = 10 * time.Second

// Executor is the Mesos executor of one arangomesos task: it subscribes to
// its agent, runs the task's node (task.go), and sends the task's status
// updates reliably — each one kept until the agent acknowledges it and
// resent in every SUBSCRIBE after a lost connection.
type Executor struct {
	cfg    Config
	log    *slog.Logger
	calls  calls.Sender // UPDATE and MESSAGE, one request each
	stream calls.Sender // SUBSCRIBE, the long-lived event stream
	ledger *ledger
	wake   chan struct{}

	// life ends every goroutine of the executor; stop cancels it.
	life context.Context
	stop context.CancelFunc

	mu         sync.Mutex
	subscribed bool
	agentID    *mesos.AgentID
	framework  mesos.FrameworkInfo
	task       *task
	taskID     string
	shutdown   bool
}

// New returns an executor for cfg.
func New(cfg Config, log *slog.Logger) *Executor {
	u := url.URL{Scheme: "http", Host: cfg.AgentEndpoint, Path: "/api/v1/executor"}
	client := httpcli.New(
		httpcli.Endpoint(u.String()),
		httpcli.Codec(codecs.ByMediaType[codecs.MediaTypeProtobuf]),
		httpcli.Do(httpcli.With(httpcli.Timeout(callTimeout))),
	)
	opts := executor.CallOptions{calls.Framework(cfg.FrameworkID), calls.Executor(cfg.ExecutorID)}
	return &Executor{
		cfg:    cfg,
		log:    log.With("executor", cfg.ExecutorID),
		calls:  calls.SenderWith(httpexec.NewSender(client.Send), opts...),
		stream: calls.SenderWith(httpexec.NewSender(client.Send, httpcli.Close(true)), opts...),
		ledger: newLedger(),
		wake:   make(chan struct{}, 1),
	}
}

// Run serves the agent until the task has ended and the agent has its
// terminal update, or SHUTDOWN without a task. ctx ending (SIGTERM) acts as
// SHUTDOWN. After a lost connection it resubscribes with backoff for up to
// MESOS_RECOVERY_TIMEOUT; past that, or at once when the framework does not
// checkpoint, it stops the node and fails with ErrAgentGone.
func (e *Executor) Run(ctx context.Context) error {
	e.life, e.stop = context.WithCancel(context.Background())
	defer e.stop()
	go e.sendLoop()
	go func() {
		select {
		case <-ctx.Done():
			e.beginShutdown("the executor received SIGTERM")
		case <-e.life.Done():
		}
	}()
	var lostAt time.Time
	for attempt := 0; ; attempt++ {
		connected, err := e.session()
		if e.life.Err() != nil {
			e.log.Info("executor done", "pending_updates", e.ledger.pending())
			return nil
		}
		if connected {
			attempt, lostAt = 0, time.Now()
		} else if lostAt.IsZero() {
			lostAt = time.Now()
		}
		e.log.Warn("agent connection lost", "err", err, "since", time.Since(lostAt).Round(time.Millisecond))
		switch {
		case !e.cfg.Checkpoint:
			return e.giveUp("the framework does not checkpoint, so the executor does not wait for its agent")
		case time.Since(lostAt) > e.cfg.RecoveryTimeout:
			return e.giveUp(fmt.Sprintf("the agent did not come back within MESOS_RECOVERY_TIMEOUT (%v)", e.cfg.RecoveryTimeout))
		}
		select {
		case <-time.After(e.cfg.backoff(attempt, rand.Float64())):
		case <-e.life.Done():
			return nil
		}
	}
}

// giveUp stops the node after the agent is gone for good.
func (e *Executor) giveUp(why string) error {
	e.log.Error("giving up", "why", why)
	e.mu.Lock()
	t := e.task
	e.mu.Unlock()
	if t != nil {
		t.kill(killRequest{grace: t.grace, why: "the executor lost its agent"})
		<-t.Done()
	}
	return fmt.Errorf("%w: %s", ErrAgentGone, why)
}

// session subscribes and handles events until the stream ends; connected
// says whether the agent answered SUBSCRIBED.
func (e *Executor) session() (connected bool, err error) {
	ctx, cancel := context.WithCancel(e.life)
	defer cancel()
	tasks, updates, seq := e.ledger.subscribeLists()
	resp, err := e.stream.Send(ctx, calls.NonStreaming(calls.Subscribe(tasks, updates)))
	if resp != nil {
		defer resp.Close()
	}
	if err != nil {
		return false, fmt.Errorf("subscribe: %w", err)
	}
	defer e.setSubscribed(false)
	handler := e.handlers(seq, len(tasks), len(updates), &connected)
	for {
		var ev executor.Event
		if err := resp.Decode(&ev); err != nil {
			return connected, fmt.Errorf("event stream: %w", err)
		}
		if err := handler.HandleEvent(ctx, &ev); err != nil {
			if errors.Is(err, errFinished) {
				e.stop()
			}
			return connected, err
		}
	}
}

// handlers maps each event type to its handler, for the subscription
// that carried the ledger up to seq.
func (e *Executor) handlers(seq uint64, tasks, updates int, connected *bool) events.Handler {
	return events.HandlerFuncs{
		executor.Event_SUBSCRIBED: func(_ context.Context, ev *executor.Event) error {
			s := ev.GetSubscribed()
			e.mu.Lock()
			e.agentID, e.framework = s.AgentInfo.ID, s.FrameworkInfo
			e.mu.Unlock()
			e.ledger.subscribed(seq)
			*connected = true
			e.setSubscribed(true)
			e.log.Info("subscribed", "agent", s.AgentInfo.ID.GetValue(), "host", s.AgentInfo.Hostname,
				"resent_tasks", tasks, "resent_updates", updates)
			if e.finished() {
				return errFinished
			}
			return nil
		},
		executor.Event_LAUNCH: func(_ context.Context, ev *executor.Event) error {
			e.launch(ev.GetLaunch().Task)
			return nil
		},
		executor.Event_LAUNCH_GROUP: func(_ context.Context, ev *executor.Event) error {
			for _, t := range ev.GetLaunchGroup().TaskGroup.Tasks {
				e.ledger.addTask(t)
				e.send(t.TaskID.Value, statusReport{State: mesos.TASK_FAILED, Reason: mesos.REASON_TASK_GROUP_INVALID.Enum(),
					Message: "arangomesos executor runs single tasks (LAUNCH), not task groups"})
			}
			return nil
		},
		executor.Event_KILL: func(_ context.Context, ev *executor.Event) error {
			k := ev.GetKill()
			e.kill(k.TaskID.Value, k.KillPolicy)
			return nil
		},
		executor.Event_ACKNOWLEDGED: func(_ context.Context, ev *executor.Event) error {
			a := ev.GetAcknowledged()
			e.ledger.ack(a.TaskID.Value, a.UUID)
			if e.finished() {
				return errFinished
			}
			return nil
		},
		executor.Event_MESSAGE: func(_ context.Context, ev *executor.Event) error {
			e.log.Info("message from the scheduler (ignored)", "bytes", len(ev.GetMessage().Data))
			return nil
		},
		executor.Event_SHUTDOWN: func(context.Context, *executor.Event) error {
			e.beginShutdown("the agent sent SHUTDOWN")
			if e.finished() {
				return errFinished
			}
			return nil
		},
		executor.Event_ERROR: func(_ context.Context, ev *executor.Event) error {
			return fmt.Errorf("the agent sent ERROR %q; resubscribing", ev.GetError().Message)
		},
		executor.Event_HEARTBEAT: func(context.Context, *executor.Event) error { return nil },
	}.Otherwise(func(_ context.Context, ev *executor.Event) error {
		e.log.Warn("unknown event ignored", "type", ev.GetType().String())
		return nil
	})
}

// launch starts the executor's one task; a second task, or one that cannot
// run, gets TASK_FAILED and starts nothing.
func (e *Executor) launch(info mesos.TaskInfo) {
	id := info.TaskID.Value
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.taskID == id:
		e.log.Warn("duplicate LAUNCH ignored", "task", id)
		return
	case e.taskID != "":
		e.ledger.addTask(info)
		e.sendLocked(id, statusReport{State: mesos.TASK_FAILED, Reason: mesos.REASON_TASK_INVALID.Enum(),
			Message: fmt.Sprintf("executor %s already runs task %s; it runs one task, so this LAUNCH is refused", e.cfg.ExecutorID, e.taskID)})
		return
	case e.shutdown:
		e.ledger.addTask(info)
		e.sendLocked(id, statusReport{State: mesos.TASK_KILLED, Reason: mesos.REASON_TASK_KILLED_DURING_LAUNCH.Enum(),
			Message: "the executor is shutting down"})
		return
	}
	e.taskID = id
	e.ledger.addTask(info)
	t, err := newTask(info, e.cfg, e.log, func(r statusReport) { e.send(id, r) })
	if err != nil {
		e.log.Error("task refused", "task", id, "err", err)
		e.sendLocked(id, statusReport{State: mesos.TASK_FAILED, Reason: mesos.REASON_TASK_INVALID.Enum(), Message: err.Error()})
		t = &task{done: make(chan struct{})}
		close(t.done)
		e.task = t
		return
	}
	e.task = t
	go t.run(e.life)
}

// kill handles KILL: the task's grace period is the KILL's kill policy, or
// the task's, or the default.
func (e *Executor) kill(id string, policy *mesos.KillPolicy) {
	e.mu.Lock()
	t, known := e.task, e.taskID == id
	killing := e.hasCapability(mesos.FrameworkInfo_Capability_TASK_KILLING_STATE)
	if !known {
		st := mesos.TASK_LOST
		if e.hasCapability(mesos.FrameworkInfo_Capability_PARTITION_AWARE) {
			st = mesos.TASK_DROPPED
		}
		e.log.Warn("KILL for a task this executor does not run", "task", id, "runs", e.taskID)
		e.sendLocked(id, statusReport{State: st, Reason: mesos.REASON_TASK_UNKNOWN.Enum(),
			Message: fmt.Sprintf("executor %s does not run task %s", e.cfg.ExecutorID, id)})
		e.mu.Unlock()
		return
	}
	e.mu.Unlock()
	if t.spec == nil { // refused at launch: already terminal
		return
	}
	grace := t.grace
	if g := policy.GetGracePeriod(); g != nil {
		grace = time.Duration(g.Nanoseconds)
	}
	t.kill(killRequest{grace: grace, why: "killed by the scheduler", killing: killing})
}

// beginShutdown stops the task within the agent's shutdown grace period
// (keeping a second to report), then lets Run return once the agent has
// the terminal update, or when the grace period is over.
func (e *Executor) beginShutdown(why string) {
	e.mu.Lock()
	if e.shutdown {
		e.mu.Unlock()
		return
	}
	e.shutdown = true
	t := e.task
	e.mu.Unlock()
	e.log.Info("shutting down", "why", why, "grace", e.cfg.ExecutorShutdownGracePeriod)
	if t == nil || t.spec == nil {
		if e.finished() {
			e.stop()
		}
	} else {
		grace := min(t.grace, max(e.cfg.ExecutorShutdownGracePeriod-time.Second, 0))
		t.kill(killRequest{grace: grace, why: why})
	}
	time.AfterFunc(e.cfg.ExecutorShutdownGracePeriod, e.stop)
}

// finished says whether the executor has nothing left to do: its task
// ended and the agent acknowledged every update, or it was shut down
// without a task.
func (e *Executor) finished() bool {
	e.mu.Lock()
	t, shutdown := e.task, e.shutdown
	e.mu.Unlock()
	if t == nil {
		return shutdown
	}
	select {
	case <-t.Done():
		return e.ledger.empty()
	default:
		return false
	}
}

func (e *Executor) hasCapability(c mesos.FrameworkInfo_Capability_Type) bool {
	for _, fc := range e.framework.Capabilities {
		if fc.Type == c {
			return true
		}
	}
	return false
}

// send records a status update of task id in the ledger and wakes the
// sender.
func (e *Executor) send(id string, r statusReport) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sendLocked(id, r)
}

func (e *Executor) sendLocked(id string, r statusReport) {
	u := uuid.New()
	st := mesos.TaskStatus{
		TaskID: mesos.TaskID{Value: id}, State: r.State.Enum(), Source: mesos.SOURCE_EXECUTOR.Enum(),
		ExecutorID: &mesos.ExecutorID{Value: e.cfg.ExecutorID}, AgentID: e.agentID, UUID: u[:],
		Timestamp: float64Ptr(float64(time.Now().UnixNano()) / 1e9), Healthy: r.Healthy, Reason: r.Reason,
	}
	if r.Message != "" {
		st.Message = stringPtr(truncate(r.Message, 4000))
	}
	e.ledger.add(st)
	attrs := []any{"task", id, "state", r.State.String(), "msg", r.Message}
	if r.Healthy != nil {
		attrs = append(attrs, "healthy", *r.Healthy)
	}
	e.log.Info("status update", attrs...)
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (e *Executor) setSubscribed(b bool) {
	e.mu.Lock()
	e.subscribed = b
	e.mu.Unlock()
	if b {
		select {
		case e.wake <- struct{}{}:
		default:
		}
	}
}

// sendLoop sends the ledger's updates in order while subscribed, retrying
// every second after a failure; updates made while the agent is away wait
// for the next SUBSCRIBE, which carries them.
func (e *Executor) sendLoop() {
	retry := time.NewTicker(time.Second)
	defer retry.Stop()
	for {
		select {
		case <-e.life.Done():
			return
		case <-e.wake:
		case <-retry.C:
		}
		for {
			e.mu.Lock()
			subscribed := e.subscribed
			e.mu.Unlock()
			if !subscribed {
				break
			}
			u, seq, ok := e.ledger.nextUnsent()
			if !ok {
				break
			}
			if err := e.post(calls.Update(u.Status)); err != nil {
				e.log.Warn("update not delivered; will retry", "task", u.Status.TaskID.Value,
					"state", u.Status.GetState().String(), "err", err)
				break
			}
			e.ledger.markSent(seq)
		}
	}
}

// post sends one non-streaming call.
func (e *Executor) post(c *executor.Call) error {
	ctx, cancel := context.WithTimeout(e.life, callTimeout)
	defer cancel()
	resp, err := e.calls.Send(ctx, calls.NonStreaming(c))
	if resp != nil {
		resp.Close()
	}
	return err
}

func float64Ptr(f float64) *float64 { return &f }
func stringPtr(s string) *string    { return &s }

// truncate keeps the end of s (a log tail's newest lines matter most).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
