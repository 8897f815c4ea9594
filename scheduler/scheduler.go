package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// Scheduler is the running framework. Its state is guarded by mu; every
// change is saved to the store before the side effects it leads to are sent
// (a crash between the two repeats an action, never loses a launch).
type Scheduler struct {
	cfg    Config
	log    *slog.Logger
	store  Store
	events *EventLog
	agency *agencyWatch
	tf     TaskFactory
	// Listener is the bound listener of the API (for tests and dev).
	Listener net.Listener
	// URL is the scheduler's advertised base URL.
	URL string

	mu         sync.Mutex
	st         *State
	view       AgencyView
	mesosView  MesosView
	waiting    Waiting
	held       map[string]heldOffer
	caller     calls.Caller
	subscribed bool
	suppressed bool
	lastEvent  time.Time
	hbInterval time.Duration
	uninstall  *uninstallRun
	stop       context.CancelFunc
	as         autoscaler
	metrics    *metrics
	// targetsIndex is the Raft index of the scheduler's last write of the
	// Agency's Target; a view of the Agency older than it does not move the
	// targets back (see step).
	targetsIndex uint64

	// scaleMu makes scale requests one at a time.
	scaleMu sync.Mutex

	kick chan struct{}
	// slowBusy is set while a round's slow actions run in the background
	// (startSlow); slowWG waits for them when the scheduler stops.
	slowBusy bool
	slowWG   sync.WaitGroup
}

type heldOffer struct {
	offer mesos.Offer
	since time.Time
}

// New opens the state store and prepares a scheduler; Run starts it. It
// fails on an invalid configuration, a state store that belongs to another
// framework, a corrupt state, or an API address that cannot be bound.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Scheduler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	log = log.With("framework", cfg.FrameworkName)
	var store Store
	var err error
	if cfg.ZK != "" {
		zctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		store, err = OpenZKStore(zctx, cfg.ZK, cfg.FrameworkName, log)
		cancel()
	} else {
		store, err = OpenBuntStore(cfg.StateDir, cfg.FrameworkName)
	}
	if err != nil {
		return nil, err
	}
	st, err := store.Load(ctx)
	if err != nil {
		store.Close()
		return nil, err
	}
	if st == nil {
		if st, err = NewState(cfg); err != nil {
			store.Close()
			return nil, err
		}
		log.Info("new framework state")
	} else {
		log.Info("resuming from the saved state", "framework_id", st.FrameworkID, "members", len(st.Members))
	}
	if cfg.AuthTokenFile != "" {
		if st.APIToken, err = readTrimmed(cfg.AuthTokenFile); err != nil {
			store.Close()
			return nil, err
		}
	}
	if cfg.RootPasswordFile != "" {
		if st.RootPassword, err = readTrimmed(cfg.RootPasswordFile); err != nil {
			store.Close()
			return nil, err
		}
	}
	if err := store.Save(ctx, st); err != nil {
		store.Close()
		return nil, fmt.Errorf("scheduler: save state: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("scheduler: listen on %s: %w", cfg.Listen, err)
	}
	s := &Scheduler{cfg: cfg, log: log, store: store, st: st, events: NewEventLog(1000),
		agency: newAgencyWatch(log, &cluster.TokenSource{Secret: cluster.Secret(st.Secret), ServerID: "CRDN-scheduler"}),
		held:   map[string]heldOffer{}, waiting: Waiting{}, kick: make(chan struct{}, 1), Listener: ln,
		mesosView: MesosView{GoneAgents: map[string]bool{}}}
	s.metrics = newMetrics(s)
	s.URL = advertiseURL(cfg, ln)
	s.tf = TaskFactory{Config: cfg, ArtifactURL: cfg.ArtifactURL}
	if s.tf.ArtifactURL == "" {
		s.tf.ArtifactURL = s.URL + "/v1/artifacts/arangomesos"
	}
	return s, nil
}

func readTrimmed(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("scheduler: %w", err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("%w: %s is empty", ErrConfig, path)
	}
	return v, nil
}

func advertiseURL(cfg Config, ln net.Listener) string {
	if cfg.AdvertiseURL != "" {
		return strings.TrimSuffix(cfg.AdvertiseURL, "/")
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = cfg.Hostname
		if host == "" {
			host, _ = os.Hostname()
		}
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Run runs the framework until ctx ends: the API server, the Agency watch,
// the decision loop and the Mesos subscription. After a completed uninstall
// it keeps answering the API ({"done": true} on /v1/uninstall) until ctx
// ends: a scheduler that exited would be restarted by Marathon and, with its
// state deleted, install a new cluster.
func (s *Scheduler) Run(parent context.Context) error {
	defer s.store.Close()
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	s.mu.Lock()
	s.stop = cancel
	s.mu.Unlock()
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(s.Listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("api server", "err", err)
		}
	}()
	defer func() {
		sctx, c := context.WithTimeout(context.Background(), 2*time.Second)
		defer c()
		_ = srv.Shutdown(sctx)
	}()
	s.log.Info("scheduler API and web UI", "url", s.URL)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.decideLoop(ctx)
	}()
	asDone := make(chan struct{})
	go func() {
		defer close(asDone)
		s.autoscaleLoop(ctx)
	}()
	err := s.runMesos(ctx, cancel)
	cancel()
	<-done
	<-asDone
	s.slowWG.Wait()
	if s.uninstalled() {
		s.log.Info("uninstall done; serving the API until stopped (remove the Marathon app now)")
		<-parent.Done()
		return nil
	}
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// Kick asks the decision loop for a round now.
func (s *Scheduler) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// decideLoop runs Decide every second, on every kick and on every Agency
// change, and carries out the actions.
func (s *Scheduler) decideLoop(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		s.step(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
		case <-s.agency.changed():
		}
	}
}

// step is one round: refresh the views, decide, save, act.
func (s *Scheduler) step(ctx context.Context) {
	s.mu.Lock()
	eps := s.st.AgentEndpoints()
	s.mu.Unlock()
	s.agency.ensure(ctx, eps)
	view := s.agency.view(ctx, time.Now())
	s.mu.Lock()
	if view.Index < s.targetsIndex {
		// The view predates the scheduler's own scale write: its Target
		// counts are the old ones, which must not undo the new.
		view.NumDBServers, view.NumCoordinators = nil, nil
	}
	s.view = view
	if s.uninstall != nil {
		s.uninstallStep()
	}
	acts, evs := Decide(s.st, s.world())
	s.record(evs...)
	pending := s.pendingLocked()
	err := s.store.Save(ctx, s.st)
	s.mu.Unlock()
	if err != nil {
		s.log.Error("save state", "err", err)
		return
	}
	s.act(ctx, acts)
	s.offerFlow(ctx, pending)
	s.mu.Lock()
	finish := s.uninstall != nil && s.uninstall.ready && !s.uninstall.Done
	s.mu.Unlock()
	if finish {
		if err := s.finishUninstall(ctx); err != nil {
			s.log.Error("finish uninstall", "err", err)
			return
		}
		s.mu.Lock()
		stop := s.stop
		s.mu.Unlock()
		stop()
	}
}

func (s *Scheduler) world() World {
	return World{Now: time.Now(), Agency: s.view, Mesos: s.mesosView, Config: s.cfg}
}

// record adds events to the log and the structured log.
func (s *Scheduler) record(evs ...Event) {
	for _, e := range evs {
		s.events.Add(e)
		s.metrics.events.WithLabelValues(e.Kind).Inc()
		s.log.Info(e.Message, "event", e.Kind, "member", e.Member)
	}
}

// pendingLocked reports whether a member waits for an offer.
func (s *Scheduler) pendingLocked() bool {
	if s.st.Uninstalling {
		for _, r := range s.st.Retired {
			if r.Reserved {
				return true
			}
		}
		return false
	}
	for _, m := range s.st.Members {
		// A member lost with its host comes back when the host offers
		// again (after a reboot, under a new agent id).
		if m.Phase == PhasePending || m.Phase == PhaseLost {
			return true
		}
	}
	for _, r := range s.st.Retired {
		if r.Reserved && (r.TaskID == "" || IsTerminal(r.TaskState)) {
			return true
		}
	}
	return false
}

// offerFlow revives offers when something waits for one and suppresses
// them when nothing does, so a quiet cluster costs Mesos nothing.
func (s *Scheduler) offerFlow(ctx context.Context, pending bool) {
	s.mu.Lock()
	caller, subscribed, suppressed := s.caller, s.subscribed, s.suppressed
	s.mu.Unlock()
	if caller == nil || !subscribed || pending == !suppressed {
		return
	}
	call := calls.Suppress()
	if pending {
		call = calls.Revive()
	}
	if err := calls.CallNoData(ctx, caller, call); err != nil {
		s.log.Warn("revive/suppress", "err", err)
		return
	}
	s.mu.Lock()
	s.suppressed = !pending
	s.mu.Unlock()
}

// act carries out the actions of a round. Failures are logged; the next
// round decides again. Kills and the Target write are quick and done at
// once; the actions that call a coordinator or change the Agency's
// membership (slowAction) run in the background, so that a hung
// coordinator or a slow Agency change never holds up the rounds that
// relaunch failed tasks.
func (s *Scheduler) act(ctx context.Context, acts []Action) {
	var slow []Action
	for _, a := range acts {
		var err error
		switch {
		case slowAction(a.Kind):
			slow = append(slow, a)
			continue
		case a.Kind == ActKill:
			err = s.killTask(ctx, a.Member.TaskID, a.Member.AgentID)
		case a.Kind == ActWriteTargets:
			err = s.writeTargets(ctx)
		}
		if err != nil {
			s.log.Warn("action failed; retrying next round", "action", a.Kind, "member", memberName(a.Member), "err", err)
		}
	}
	if len(slow) > 0 {
		s.startSlow(ctx, slow)
	}
}

// slowAction reports whether an action of kind may take seconds: it calls
// a coordinator or changes the Agency's membership.
func slowAction(kind string) bool {
	switch kind {
	case ActAgencyJoin, ActAgencyLeave, ActRemoveServer, ActRebalance:
		return true
	}
	return false
}

// startSlow runs a round's slow actions in the background, one after the
// other, unless those of an earlier round still run: then they wait for a
// later round, which decides them again (a rebalance is marked pending
// again for it). So at most one Agency membership change or coordinator
// call of the scheduler runs at a time.
func (s *Scheduler) startSlow(ctx context.Context, acts []Action) {
	s.mu.Lock()
	if s.slowBusy {
		for _, a := range acts {
			if a.Kind == ActRebalance {
				s.st.RebalancePending = true
			}
		}
		s.mu.Unlock()
		return
	}
	s.slowBusy = true
	s.mu.Unlock()
	s.slowWG.Add(1)
	go func() {
		defer s.slowWG.Done()
		s.runSlow(ctx, acts)
		s.mu.Lock()
		s.slowBusy = false
		s.mu.Unlock()
		s.Kick() // the next round sees what they did
	}()
}

// runSlow carries out slow actions in order. An agent leaves the Agency
// only when the agents that joined before it in the same round did.
func (s *Scheduler) runSlow(ctx context.Context, acts []Action) {
	joinFailed := false
	for _, a := range acts {
		var err error
		switch a.Kind {
		case ActAgencyJoin:
			err = s.agencyJoin(ctx, a.Member)
			joinFailed = joinFailed || err != nil
		case ActAgencyLeave:
			if joinFailed {
				continue // never shrink the Agency while its replacement is not in
			}
			err = s.agencyLeave(ctx, a.Member)
		case ActRemoveServer:
			err = s.removeServer(ctx, a.Member)
		case ActRebalance:
			if _, err = s.Rebalance(ctx); err != nil {
				s.mu.Lock()
				s.st.RebalancePending = true
				s.mu.Unlock()
			}
		}
		if err != nil {
			s.log.Warn("action failed; retrying next round", "action", a.Kind, "member", memberName(a.Member), "err", err)
		}
	}
}

func memberName(m *Member) string {
	if m == nil {
		return ""
	}
	return m.Name
}

func (s *Scheduler) killTask(ctx context.Context, taskID, agentID string) error {
	s.mu.Lock()
	caller := s.caller
	s.mu.Unlock()
	if caller == nil {
		return errors.New("not subscribed")
	}
	return calls.CallNoData(ctx, caller, calls.Kill(taskID, agentID))
}

// writeTargets publishes the desired counts in the Agency, where Target was
// not set yet (a value already there, e.g. from ArangoDB's numberOfServers,
// wins).
func (s *Scheduler) writeTargets(ctx context.Context) error {
	client := s.agency.Client()
	if client == nil {
		return errors.New("no agency")
	}
	s.mu.Lock()
	t := s.st.Targets
	s.mu.Unlock()
	_, err := client.Write(ctx,
		cluster.Transaction{Ops: map[string]cluster.Operation{cluster.TargetNumDBServers: cluster.Set(t.DBServers)},
			Preconds: map[string]cluster.Precondition{cluster.TargetNumDBServers: cluster.Old(nil)}},
		cluster.Transaction{Ops: map[string]cluster.Operation{cluster.TargetNumCoordinators: cluster.Set(t.Coordinators)},
			Preconds: map[string]cluster.Precondition{cluster.TargetNumCoordinators: cluster.Old(nil)}})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.st.TargetsInAgency = true
	s.mu.Unlock()
	return nil
}

// agencyJoinAttempt bounds one attempt to add a new agent. The Agency's
// leader adds it as a non-voter and promotes it once it caught up; an
// agent that is not up (its process failed right after starting) would
// hold the call, and with it this round, until the timeout. A later round
// tries again; the non-voter keeps catching up meanwhile.
const agencyJoinAttempt = 10 * time.Second

func (s *Scheduler) agencyJoin(ctx context.Context, m *Member) error {
	client := s.agency.Client()
	if client == nil {
		return errors.New("no agency")
	}
	jctx, cancel := context.WithTimeout(ctx, agencyJoinAttempt)
	defer cancel()
	if err := client.ChangeMembership(jctx, m.ServerID, m.Endpoint(), ""); err != nil {
		return err
	}
	s.agency.poolChanged()
	s.mu.Lock()
	s.record(Event{Kind: EventReplace, Member: m.Name, Message: fmt.Sprintf("agent %s (%s) joined the Agency", m.Name, m.ServerID)})
	s.mu.Unlock()
	return nil
}

func (s *Scheduler) agencyLeave(ctx context.Context, m *Member) error {
	client := s.agency.Client()
	if client == nil {
		return errors.New("no agency")
	}
	jctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := client.ChangeMembership(jctx, "", "", m.ServerID); err != nil && !strings.Contains(err.Error(), "not a member") {
		return err
	}
	s.agency.poolChanged()
	s.mu.Lock()
	m.RemovedFromCluster = true
	s.record(Event{Kind: EventRemoved, Member: m.Name, Message: fmt.Sprintf("agent %s (%s) left the Agency", m.Name, m.ServerID)})
	s.mu.Unlock()
	return nil
}
