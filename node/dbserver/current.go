package dbserver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// errNotLeaderAnymore: the Plan no longer names this server the shard's
// leader, so it must not write the shard's Current.
var errNotLeaderAnymore = errors.New("dbserver: no longer the planned leader")

// publishCurrent writes the shard's Current entry as its leader: servers is
// [leader (or "_"+leader when resigned), in-sync followers…], and so are
// the failover candidates. The write is a compare-and-set on the previous
// Current value and on the Plan's server list of the shard, so a leader the
// Plan has replaced cannot overwrite its successor's Current. It fails with
// errNotLeaderAnymore when the Plan names another leader. It returns once
// the server's own view of the Agency shows the write, so that maintenance
// never acts on the Current it has just replaced.
func (sh *shard) publishCurrent(ctx context.Context, servers []string, resigned bool) error {
	idx, err := sh.writeCurrent(ctx, servers, resigned)
	if err != nil {
		return err
	}
	_, err = sh.srv.view.WaitIndex(ctx, idx)
	return err
}

// writeCurrent is publishCurrent without waiting for the view; it returns
// the index of the write.
func (sh *shard) writeCurrent(ctx context.Context, servers []string, resigned bool) (uint64, error) {
	curKey := cluster.Join(cluster.CurrentCollections, sh.db, sh.cid, sh.name)
	planKey := cluster.Join(cluster.PlanCollections, sh.db, sh.cid, "shards", sh.name)
	want := sh.srv.id
	if resigned {
		want = "_" + sh.srv.id
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for attempt := 0; ; attempt++ {
		res, err := sh.srv.agency.Read(ctx, cluster.ReadQuery{curKey, planKey})
		if err != nil {
			return 0, fmt.Errorf("dbserver: read Current of %s: %w", sh.name, err)
		}
		var plan []any
		if ok, err := cluster.ExtractPath(res[0], planKey, &plan); err != nil || !ok {
			return 0, fmt.Errorf("%w: %s is not in the Plan", errNotLeaderAnymore, sh.name)
		}
		if len(plan) == 0 || plan[0] != want {
			return 0, fmt.Errorf("%w: Plan of %s is %v", errNotLeaderAnymore, sh.name, plan)
		}
		var old any
		had, _ := cluster.ExtractPath(res[0], curKey, &old)
		value := cluster.CurrentShard{Servers: servers, FailoverCandidates: candidates(servers),
			Indexes: sh.currentIndexes()}
		pre := map[string]cluster.Precondition{planKey: cluster.Old(plan)}
		if had {
			pre[curKey] = cluster.Old(old)
		} else {
			pre[curKey] = cluster.OldEmpty(true)
		}
		w, err := sh.srv.agency.Write(ctx, cluster.Transaction{
			Ops:      map[string]cluster.Operation{curKey: cluster.Set(value), cluster.CurrentVersion: cluster.Increment(1)},
			Preconds: pre})
		if err != nil {
			return 0, fmt.Errorf("dbserver: write Current of %s: %w", sh.name, err)
		}
		if w.OK() {
			sh.log.Debug("published Current", "servers", servers)
			return w.Index(), nil
		}
		if attempt > 20 {
			return 0, fmt.Errorf("dbserver: write Current of %s: preconditions keep failing", sh.name)
		}
	}
}

// candidates are the failover candidates of an in-sync list: the same
// servers, with a resigned leader's "_" removed.
func candidates(servers []string) []string {
	out := make([]string, 0, len(servers))
	for _, s := range servers {
		id, _ := cluster.ResigningLeader(s)
		out = append(out, id)
	}
	return out
}

// currentIndexes lists the shard's indexes as Current reports them.
func (sh *shard) currentIndexes() []cluster.Index {
	out := []cluster.Index{{ID: "0", Type: "primary", Name: "primary", Fields: []string{"_key"}, Unique: true}}
	for _, ix := range sh.store.Indexes() {
		out = append(out, cluster.Index{ID: ix.ID, Type: "persistent", Name: ix.Name, Fields: ix.Fields,
			Unique: ix.Unique, Sparse: ix.Sparse})
	}
	sh.fmu.Lock()
	for _, ix := range sh.indexErrs {
		out = append(out, ix)
	}
	sh.fmu.Unlock()
	return out
}

// inCurrent reports whether Current lists server among the shard's
// servers.
func inCurrent(cs cluster.CurrentShard, server string) bool {
	return slices.Contains(cs.Servers, server)
}
