package supervision

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/arangomesos/arangomesos/node/agency"
	"github.com/arangomesos/arangomesos/node/cluster"
)

// Agency is what the supervision needs of the agent it runs in.
type Agency interface {
	// LeaderTerm is the term of this agent's current leadership, 0 when it
	// does not lead.
	LeaderTerm() uint64
	// FSM gives the replicated tree.
	FSM() *agency.FSM
	// TransientTree returns the leader's transient store.
	TransientTree() (map[string]any, error)
	// Write applies transactions through the log.
	Write(trxs []cluster.Transaction) (*agency.ApplyResult, error)
}

// idBlock is how many job ids the runner reserves at once.
const idBlock = 1000

// Runner runs supervision rounds on the Agency leader, one per Frequency.
// Everything it decides comes from Round; it only reads the snapshot,
// remembers heartbeats between rounds of one leadership, and applies the
// writes.
type Runner struct {
	agency    Agency
	cfg       Config
	frequency time.Duration
	log       *slog.Logger

	term        uint64
	leaderSince time.Time
	beats       map[string]Beat
	ids         IDRange
}

// NewRunner returns a runner for the agent a.
func NewRunner(a Agency, cfg Config, frequency time.Duration, log *slog.Logger) *Runner {
	if frequency <= 0 {
		frequency = time.Second
	}
	if log == nil {
		log = slog.Default()
	}
	return &Runner{agency: a, cfg: cfg, frequency: frequency, log: log.With("component", "supervision")}
}

// Run runs rounds until ctx ends. While the agent does not lead, it waits; a
// new leadership starts with no memory of heartbeats (servers count as heard
// from when it began) and resumes the jobs where the Agency says they stand.
func (r *Runner) Run(ctx context.Context) {
	t := time.NewTicker(r.frequency)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// A round that moved jobs is followed at once by another: a failure
		// goes failedServer → failedLeader → new Plan without waiting a tick
		// per step.
		for i := 0; i < maxFollowUps; i++ {
			progressed, err := r.step(time.Now())
			if err != nil && err != ErrNotLeader {
				r.log.Warn("supervision round failed", "err", err)
			}
			if !progressed {
				break
			}
		}
	}
}

// maxFollowUps bounds the rounds run back to back in one tick.
const maxFollowUps = 5

// Step runs one round at time now, if the agent leads.
func (r *Runner) Step(now time.Time) error {
	_, err := r.step(now)
	return err
}

// step runs one round and reports whether its writes moved jobs (created,
// started or finished one), so that another round can follow at once.
func (r *Runner) step(now time.Time) (bool, error) {
	term := r.agency.LeaderTerm()
	if term == 0 {
		r.term = 0
		return false, ErrNotLeader
	}
	if term != r.term {
		r.term, r.leaderSince, r.beats, r.ids = term, now, map[string]Beat{}, IDRange{}
		r.log.Info("supervision starts on the new agency leader", "term", term)
	}
	tree, _ := r.agency.FSM().Tree()
	snap, err := DecodeSnapshot(tree)
	if err != nil {
		return false, err
	}
	if r.ids.End-r.ids.Next < idBlock/10 {
		if err := r.reserveIDs(); err != nil {
			return false, err
		}
	}
	beats, err := r.heartbeats()
	if err != nil {
		return false, err
	}
	out := Round(Input{Now: now, Snapshot: snap, Heartbeats: beats, Beats: r.beats,
		LeaderSince: r.leaderSince, IDs: r.ids, Config: r.cfg})
	r.beats = out.Beats
	r.ids.Next += out.IDsUsed
	for _, e := range out.Events {
		r.log.Info(e)
	}
	if len(out.Writes) == 0 {
		return false, nil
	}
	res, err := r.agency.Write(out.Writes)
	if err != nil {
		return false, fmt.Errorf("supervision: apply round: %w", err)
	}
	if res.AnyFailed {
		r.log.Debug("some supervision writes met changed preconditions; the next round re-plans")
	}
	return movesJobs(out.Writes), nil
}

// movesJobs reports whether writes create, start or finish a job.
func movesJobs(writes []cluster.Transaction) bool {
	for _, t := range writes {
		for k := range t.Ops {
			for _, state := range []string{cluster.TargetToDo, cluster.TargetPending, cluster.TargetFinished, cluster.TargetFailed} {
				if strings.HasPrefix(k, state+"/") {
					return true
				}
			}
		}
	}
	return false
}

// reserveIDs reserves a block of ids from Sync/LatestID.
func (r *Runner) reserveIDs() error {
	res, err := r.agency.Write([]cluster.Transaction{{Ops: map[string]cluster.Operation{cluster.SyncLatestID: cluster.Increment(idBlock)}}})
	if err != nil {
		return fmt.Errorf("supervision: reserve job ids: %w", err)
	}
	if res.AnyFailed {
		return fmt.Errorf("supervision: reserve job ids: refused")
	}
	tree, _ := r.agency.FSM().Tree()
	v, ok := cluster.TreeLookup(tree, cluster.SplitPath(cluster.SyncLatestID))
	n, isNum := v.(json.Number)
	if !ok || !isNum {
		return fmt.Errorf("supervision: Sync/LatestID is not a number")
	}
	end, err := strconv.ParseUint(string(n), 10, 64)
	if err != nil || end < idBlock {
		return fmt.Errorf("supervision: Sync/LatestID %q: %v", n, err)
	}
	r.ids = IDRange{Next: end - idBlock, End: end}
	return nil
}

// heartbeats decodes Sync/ServerStates from the transient store.
func (r *Runner) heartbeats() (map[string]cluster.ServerState, error) {
	tr, err := r.agency.TransientTree()
	if err != nil {
		return nil, err
	}
	out := map[string]cluster.ServerState{}
	v, ok := cluster.TreeLookup(tr, cluster.SplitPath(cluster.SyncServerStates))
	if !ok {
		return out, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("supervision: decode heartbeats: %w", err)
	}
	return out, nil
}
