package executor

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/arangomesos/arangomesos/executor/spec"
	"github.com/arangomesos/arangomesos/node/cluster"
)

// preStop prepares a node for SIGTERM so that stopping it costs the cluster
// nothing: a DBServer hands the leadership of its shards to in-sync
// followers first (a resignLeadership job), so writes do not stall for the
// Supervision's failover. It gives up quietly at ctx's deadline, when the
// Agency cannot be reached, or when the server is not GOOD (Supervision is
// already failing it over); it never prevents the stop.
func preStop(ctx context.Context, sp *spec.NodeSpec, log *slog.Logger) {
	if sp.Role != string(cluster.RoleDBServer) {
		return
	}
	start := time.Now()
	if err := resignLeadership(ctx, sp); err != nil {
		log.Warn("pre-stop: leaderships not handed over; Supervision will fail them over", "err", err,
			"took", time.Since(start).Round(time.Millisecond))
		return
	}
	log.Info("pre-stop: DBServer leads no shard", "took", time.Since(start).Round(time.Millisecond))
}

// resignLeadership files a resignLeadership job for sp's server unless it
// leads nothing, and waits until it leads nothing.
func resignLeadership(ctx context.Context, sp *spec.NodeSpec) error {
	ac, err := cluster.NewAgencyClient(sp.AgencyEndpoints, &cluster.TokenSource{Secret: cluster.Secret(sp.Secret), ServerID: sp.ServerID})
	if err != nil {
		return err
	}
	led, status, err := leadership(ctx, ac, sp.ServerID)
	if err != nil {
		return err
	}
	if led == 0 {
		return nil
	}
	if status != cluster.StatusGood {
		return fmt.Errorf("server %s is %s, not GOOD", sp.ServerID, status)
	}
	job, err := cluster.CreateJob(ctx, ac, sp.ServerID, cluster.Job{Type: cluster.JobResignLeadership, Server: sp.ServerID})
	if err != nil {
		return err
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("resignLeadership job %s: still leading %d shards: %w", job, led, ctx.Err())
		case <-tick.C:
		}
		// Whether the job ended is read before the Plan, so that a job that
		// finished in between is not taken for one that left shards behind.
		var failed, finished cluster.Job
		hasFailed, _ := ac.Get(ctx, cluster.Join(cluster.TargetFailed, job), &failed)
		hasFinished, _ := ac.Get(ctx, cluster.Join(cluster.TargetFinished, job), &finished)
		if led, _, err = leadership(ctx, ac, sp.ServerID); err == nil && led == 0 {
			return nil
		}
		switch {
		case hasFailed:
			return fmt.Errorf("resignLeadership job %s failed: %s", job, failed.Reason)
		case hasFinished && err == nil:
			return fmt.Errorf("resignLeadership job %s finished, yet the server still leads %d shards", job, led)
		}
	}
}

// leadership returns how many planned shards with followers server id
// leads, and its Supervision health status.
func leadership(ctx context.Context, ac *cluster.AgencyClient, id string) (int, string, error) {
	healthKey := cluster.Join(cluster.SupervisionHealth, id)
	res, err := ac.Read(ctx, cluster.ReadQuery{cluster.PlanCollections, healthKey})
	if err != nil {
		return 0, "", err
	}
	var cols map[string]map[string]*cluster.PlanCollection
	if _, err := cluster.ExtractPath(res[0], cluster.PlanCollections, &cols); err != nil {
		return 0, "", fmt.Errorf("read Plan collections: %w", err)
	}
	var health cluster.HealthRecord
	if _, err := cluster.ExtractPath(res[0], healthKey, &health); err != nil {
		return 0, "", fmt.Errorf("read health: %w", err)
	}
	led := 0
	for _, db := range cols {
		for _, c := range db {
			if c == nil {
				continue
			}
			for _, servers := range c.Shards {
				// A shard without a follower has no one to take over.
				if len(servers) < 2 {
					continue
				}
				if leader, _ := cluster.ResigningLeader(servers[0]); leader == id {
					led++
				}
			}
		}
	}
	return led, health.Status, nil
}
