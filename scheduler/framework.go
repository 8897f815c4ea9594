package scheduler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/backoff"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/extras/scheduler/callrules"
	"github.com/mesos/mesos-go/api/v1/lib/extras/scheduler/controller"
	"github.com/mesos/mesos-go/api/v1/lib/extras/scheduler/eventrules"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpsched"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/events"
)

// Refuse filters for declined offers: short while something waits for an
// offer (another host may come), long when nothing does.
const (
	refuseBusy = 2 * time.Second
	refuseIdle = 60 * time.Second
	// holdLimit is how long offers are held for the agents of a new Agency.
	holdLimit = 30 * time.Second
	// missedHeartbeats without any event make the scheduler resubscribe.
	missedHeartbeats = 5
)

// frameworkInfo builds the FrameworkInfo the scheduler subscribes with.
func (s *Scheduler) frameworkInfo() *mesos.FrameworkInfo {
	failover := s.cfg.FailoverTimeout.Seconds()
	checkpoint := true
	name := "root"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host := s.cfg.Hostname
	if host == "" {
		host, _ = os.Hostname()
	}
	fi := &mesos.FrameworkInfo{
		User: name, Name: s.cfg.FrameworkName, Role: strp(s.cfg.Role), Principal: strp(s.cfg.Principal),
		Checkpoint: &checkpoint, FailoverTimeout: &failover, Hostname: strp(host), WebUiURL: strp(s.URL + "/"),
		Capabilities: []mesos.FrameworkInfo_Capability{{Type: mesos.FrameworkInfo_Capability_PARTITION_AWARE}},
	}
	s.mu.Lock()
	if s.st.FrameworkID != "" {
		fi.ID = &mesos.FrameworkID{Value: s.st.FrameworkID}
	}
	s.mu.Unlock()
	return fi
}

func (s *Scheduler) frameworkID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.FrameworkID
}

// runMesos subscribes to the master and handles its events until ctx ends.
// A subscription that stays silent for missedHeartbeats heartbeat intervals
// is dropped and made again.
func (s *Scheduler) runMesos(ctx context.Context, stop context.CancelFunc) error {
	endpoint, err := masterEndpoint(ctx, s.cfg.Master, s.log)
	if err != nil {
		return err
	}
	opts := []httpcli.ConfigOpt{httpcli.Timeout(20 * time.Second)}
	if s.cfg.SecretFile != "" {
		secret, err := readTrimmed(s.cfg.SecretFile)
		if err != nil {
			return err
		}
		opts = append(opts, httpcli.BasicAuth(s.cfg.Principal, secret))
	}
	cli := httpcli.New(httpcli.Endpoint(endpoint), httpcli.Codec(codecs.ByMediaType[codecs.MediaTypeProtobuf]),
		httpcli.Do(httpcli.With(opts...)))
	caller := callrules.New(callrules.WithFrameworkID(s.frameworkID)).Caller(httpsched.NewCaller(cli,
		httpsched.Listener(func(n httpsched.Notification) {
			s.log.Debug("mesos connection", "notification", fmt.Sprintf("%+v", n))
		})))
	s.mu.Lock()
	s.caller = caller
	s.mu.Unlock()
	tokens := backoff.Notifier(time.Second, 15*time.Second, ctx.Done())
	for ctx.Err() == nil {
		subCtx, cancel := context.WithCancel(ctx)
		go s.watchdog(subCtx, cancel)
		err := controller.Run(subCtx, s.frameworkInfo(), caller,
			controller.WithEventHandler(s.handler(caller)),
			controller.WithFrameworkID(s.frameworkID),
			controller.WithRegistrationTokens(tokens),
			controller.WithSubscriptionTerminated(func(err error) {
				s.mu.Lock()
				s.subscribed = false
				s.mu.Unlock()
				if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, context.Canceled) {
					s.log.Warn("mesos subscription ended", "err", err)
				}
			}))
		cancel()
		if errors.Is(err, errFrameworkRemoved) {
			if s.uninstalled() {
				return nil
			}
			stop()
			return err
		}
	}
	return nil
}

// errFrameworkRemoved: Mesos removed the framework (its failover timeout
// passed, or it was torn down); it can never subscribe again under its id.
var errFrameworkRemoved = errors.New("scheduler: Mesos removed the framework")

// watchdog cancels a subscription that receives no event (not even a
// heartbeat) for missedHeartbeats heartbeat intervals.
func (s *Scheduler) watchdog(ctx context.Context, cancel context.CancelFunc) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		silent := s.subscribed && s.hbInterval > 0 && time.Since(s.lastEvent) > missedHeartbeats*s.hbInterval
		s.mu.Unlock()
		if silent {
			s.log.Warn("no event from the master for too long; subscribing again")
			cancel()
			return
		}
	}
}

// handler is the event-handler map keyed by event type.
func (s *Scheduler) handler(caller calls.Caller) events.Handler {
	return eventrules.New(s.noteEvent, s.checkError).Handle(events.Handlers{
		scheduler.Event_SUBSCRIBED: events.HandlerFunc(s.onSubscribed),
		scheduler.Event_OFFERS:     events.HandlerFunc(s.onOffers),
		scheduler.Event_UPDATE:     controller.AckStatusUpdates(caller).AndThen().HandleF(s.onUpdate),
		scheduler.Event_RESCIND:    events.HandlerFunc(s.onRescind),
		scheduler.Event_FAILURE:    events.HandlerFunc(s.onFailure),
	}.Otherwise(func(context.Context, *scheduler.Event) error { return nil }))
}

func (s *Scheduler) noteEvent(ctx context.Context, e *scheduler.Event, err error, ch eventrules.Chain) (context.Context, *scheduler.Event, error) {
	s.mu.Lock()
	s.lastEvent = time.Now()
	s.mu.Unlock()
	return ch(ctx, e, err)
}

// checkError turns an ERROR event into the end of the subscription; a
// removed framework ends the scheduler.
func (s *Scheduler) checkError(ctx context.Context, e *scheduler.Event, err error, ch eventrules.Chain) (context.Context, *scheduler.Event, error) {
	if e.GetType() == scheduler.Event_ERROR {
		msg := e.GetError().GetMessage()
		s.mu.Lock()
		s.record(Event{Kind: EventFramework, Message: "master error: " + msg})
		s.mu.Unlock()
		if strings.Contains(msg, "removed") {
			return ctx, e, errFrameworkRemoved
		}
		return ctx, e, errors.New("master error: " + msg)
	}
	return ch(ctx, e, err)
}

func (s *Scheduler) onSubscribed(ctx context.Context, e *scheduler.Event) error {
	sub := e.GetSubscribed()
	fid := sub.GetFrameworkID().GetValue()
	s.mu.Lock()
	if s.st.FrameworkID != "" && s.st.FrameworkID != fid {
		s.mu.Unlock()
		return fmt.Errorf("scheduler: subscribed as %s, but the state belongs to framework %s", fid, s.st.FrameworkID)
	}
	first := s.st.FrameworkID == ""
	s.st.FrameworkID = fid
	s.subscribed, s.suppressed = true, false
	s.hbInterval = time.Duration(sub.GetHeartbeatIntervalSeconds() * float64(time.Second))
	s.held = map[string]heldOffer{}
	tasks := map[string]string{}
	for _, m := range s.st.Members {
		if m.TaskID != "" {
			tasks[m.TaskID] = m.AgentID
		}
	}
	for _, m := range s.st.Retired {
		if m.TaskID != "" && !IsTerminal(m.TaskState) {
			tasks[m.TaskID] = m.AgentID
		}
	}
	verb := "resubscribed"
	if first {
		verb = "subscribed"
	}
	s.record(Event{Kind: EventFramework, Message: fmt.Sprintf("%s to Mesos as framework %s", verb, fid)})
	err := s.store.Save(ctx, s.st)
	caller := s.caller
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("scheduler: save framework id: %w", err)
	}
	// Explicit reconciliation of every task we know, then an implicit one,
	// as Mesos' reconciliation guide recommends; and offers anew.
	go func() {
		if len(tasks) > 0 {
			_ = calls.CallNoData(ctx, caller, calls.Reconcile(calls.ReconcileTasks(tasks)))
		}
		_ = calls.CallNoData(ctx, caller, calls.Reconcile(calls.ReconcileTasks(nil)))
		_ = calls.CallNoData(ctx, caller, calls.Revive())
	}()
	s.Kick()
	return nil
}

func (s *Scheduler) onOffers(ctx context.Context, e *scheduler.Event) error {
	now := time.Now()
	s.mu.Lock()
	offers := append([]mesos.Offer(nil), e.GetOffers().GetOffers()...)
	var expired []mesos.OfferID
	for id, h := range s.held {
		if now.Sub(h.since) > holdLimit {
			expired = append(expired, h.offer.ID)
		} else {
			offers = append(offers, h.offer)
		}
		delete(s.held, id)
	}
	s.metrics.offers.WithLabelValues("received").Add(float64(len(e.GetOffers().GetOffers())))
	plans, waiting := MatchOffers(s.st, offers, s.world(), s.tf)
	s.waiting = waiting
	for _, p := range plans {
		if p.Hold {
			since := now
			if h, ok := s.held[p.Offer.ID.Value]; ok {
				since = h.since
			}
			s.held[p.Offer.ID.Value] = heldOffer{offer: p.Offer, since: since}
		}
	}
	pending := s.pendingLocked()
	err := s.store.Save(ctx, s.st)
	caller := s.caller
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("scheduler: save placements: %w", err)
	}
	refuse := refuseIdle
	if pending {
		refuse = refuseBusy
	}
	var decline []mesos.OfferID
	for _, p := range plans {
		switch {
		case p.Hold:
			s.metrics.offers.WithLabelValues("held").Inc()
		case len(p.Ops) > 0:
			s.metrics.offers.WithLabelValues("accepted").Inc()
			call := calls.Accept(calls.OfferOperations(p.Ops).WithOffers(p.Offer.ID)).With(calls.RefuseSeconds(refuseBusy))
			if err := calls.CallNoData(ctx, caller, call); err != nil {
				s.log.Warn("accept offer", "offer", p.Offer.ID.Value, "err", err)
			}
		default:
			decline = append(decline, p.Offer.ID)
		}
	}
	decline = append(decline, expired...)
	s.metrics.offers.WithLabelValues("declined").Add(float64(len(decline)))
	if len(decline) > 0 {
		if err := calls.CallNoData(ctx, caller, calls.Decline(decline...).With(calls.RefuseSeconds(refuse))); err != nil {
			s.log.Warn("decline offers", "err", err)
		}
	}
	return nil
}

func (s *Scheduler) onRescind(_ context.Context, e *scheduler.Event) error {
	s.mu.Lock()
	delete(s.held, e.GetRescind().GetOfferID().Value)
	s.mu.Unlock()
	return nil
}

func (s *Scheduler) onFailure(_ context.Context, e *scheduler.Event) error {
	f := e.GetFailure()
	if f.ExecutorID == nil && f.AgentID != nil {
		s.mu.Lock()
		s.record(Event{Kind: EventLost, Message: fmt.Sprintf("Mesos agent %s is lost", f.AgentID.Value)})
		s.mu.Unlock()
		s.Kick()
	}
	return nil
}

func (s *Scheduler) onUpdate(ctx context.Context, e *scheduler.Event) error {
	st := e.GetUpdate().GetStatus()
	upd := Status{TaskID: st.TaskID.Value, State: st.State.String(), Message: st.GetMessage(), AgentID: st.GetAgentID().GetValue()}
	if st.Reason != nil {
		upd.Reason = st.Reason.String()
	}
	if st.Healthy != nil {
		h := *st.Healthy
		upd.Healthy = &h
	}
	s.mu.Lock()
	if upd.State == "TASK_GONE_BY_OPERATOR" && upd.AgentID != "" {
		s.mesosView.GoneAgents[upd.AgentID] = true
	}
	m, _ := s.st.ByTask(upd.TaskID)
	var stray bool
	if m == nil || m.TaskID != upd.TaskID {
		stray = !IsTerminal(upd.State) && upd.State != "TASK_UNREACHABLE"
	}
	s.record(ApplyStatus(s.st, upd, time.Now())...)
	err := s.store.Save(ctx, s.st)
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("scheduler: save task state: %w", err)
	}
	if stray {
		// A task we do not own (an old launch that came back): stop it.
		s.log.Warn("killing a task that no member owns", "task", upd.TaskID, "state", upd.State)
		_ = s.killTask(ctx, upd.TaskID, upd.AgentID)
	}
	s.Kick()
	return nil
}
