package supervision

import (
	"github.com/arangomesos/arangomesos/node/cluster"
)

// verdict computes a status from the age of the last heartbeat.
func verdict(age, ok, grace int64) string {
	switch {
	case age <= ok:
		return cluster.StatusGood
	case age <= grace:
		return cluster.StatusBad
	default:
		return cluster.StatusFailed
	}
}

// checkHealth updates the supervisor's memory of heartbeats and decides
// GOOD / BAD / FAILED for every planned DBServer and coordinator
// (reference §3.2):
//   - the age of a heartbeat is measured on the supervisor's clock, from the
//     moment it saw the heartbeat change;
//   - a server never heard from since this agent leads counts from the start
//     of the leadership, so a change of leader declares nobody failed;
//   - a persisted GOOD never jumps to FAILED: it is stored as BAD first;
//   - BAD → FAILED of a DBServer creates a failedServer job and
//     Target/FailedServers/<id>, atomically with the status change;
//   - a server GOOD again is removed from Target/FailedServers.
//
// Persisted records are written on every status change and, to keep their
// times fresh, every Config.HealthRefresh.
func (p *planner) checkHealth() {
	p.health = map[string]string{}
	okMs := p.in.Config.OkThreshold.Milliseconds()
	graceMs := p.in.Config.GracePeriod.Milliseconds()
	planned := map[string]cluster.Role{}
	for _, id := range p.s.DBServers() {
		planned[id] = cluster.RoleDBServer
	}
	for _, id := range p.s.Coordinators() {
		planned[id] = cluster.RoleCoordinator
	}
	for _, id := range sortedKeys(planned) {
		role := planned[id]
		b := p.in.Beats[id]
		// A heartbeat is new when its time (to the second, as ArangoDB
		// writes it) or its status changed: a server's last heartbeat
		// (SHUTDOWN) often follows the one before within the same second.
		if hb, ok := p.in.Heartbeats[id]; ok && (hb.Time != b.SyncTime || hb.Status != b.SyncStatus) {
			b = Beat{SyncTime: hb.Time, SyncStatus: hb.Status, LastAcked: p.in.Now}
		}
		if b.LastAcked.IsZero() {
			b.LastAcked = p.in.LeaderSince
		}
		p.out.Beats[id] = b
		computed := verdict(p.in.Now.Sub(b.LastAcked).Milliseconds(), okMs, graceMs)
		old := p.s.Health[id]
		status := computed
		if status == cluster.StatusFailed && old.Status != cluster.StatusBad && old.Status != cluster.StatusFailed {
			status = cluster.StatusBad // never straight from GOOD (or unknown) to FAILED
		}
		p.health[id] = status
		rec := p.healthRecord(id, role, status, b, old)
		key := cluster.Join(cluster.SupervisionHealth, id)
		switch {
		case role == cluster.RoleDBServer && old.Status == cluster.StatusBad && status == cluster.StatusFailed:
			p.failServer(id, rec)
		case status != old.Status:
			t := newTxn().set(key, rec)
			if status == cluster.StatusGood && p.s.FailedServers[id] {
				t.del(cluster.Join(cluster.TargetFailedServers, id))
			}
			p.write(t, "%s %s is %s (last heartbeat %s ago)", role.HealthName(), id, status,
				p.in.Now.Sub(b.LastAcked).Round(1e8))
		case recordChanged(old, rec) || p.stale(old):
			p.write(newTxn().set(key, rec), "")
		}
	}
	for id := range p.s.Health {
		if _, ok := planned[id]; !ok {
			p.write(newTxn().del(cluster.Join(cluster.SupervisionHealth, id)), "removed the health record of %s, which is no longer planned", id)
		}
	}
}

func (p *planner) healthRecord(id string, role cluster.Role, status string, b Beat, old cluster.HealthRecord) cluster.HealthRecord {
	reg := p.s.Registered[id]
	rec := cluster.HealthRecord{
		ShortName: p.s.ShortNames[id], Endpoint: reg.Endpoint, AdvertisedEndpoint: reg.AdvertisedEndpoint,
		Host: reg.Host, SyncStatus: b.SyncStatus, Status: status, Version: reg.VersionString, Engine: reg.Engine,
		Timestamp: b.SyncTime, SyncTime: b.SyncTime, LastAckedTime: cluster.FormatTime(b.LastAcked), Role: role.HealthName(),
	}
	if rec.SyncStatus == "" {
		rec.SyncStatus = old.SyncStatus
	}
	return rec
}

// recordChanged reports a change of anything but the times.
func recordChanged(a, b cluster.HealthRecord) bool {
	a.Timestamp, a.SyncTime, a.LastAckedTime = "", "", ""
	b.Timestamp, b.SyncTime, b.LastAckedTime = "", "", ""
	return a != b
}

func (p *planner) stale(old cluster.HealthRecord) bool {
	t, err := cluster.ParseTime(old.LastAckedTime)
	if err != nil {
		return true
	}
	return p.in.Now.Sub(t) > p.in.Config.HealthRefresh && old.Status == cluster.StatusGood
}

// failServer marks a BAD DBServer FAILED and creates its failedServer job, in
// one transaction that holds only if the server is still BAD and not yet
// listed as failed.
func (p *planner) failServer(id string, rec cluster.HealthRecord) {
	key := cluster.Join(cluster.SupervisionHealth, id)
	failedKey := cluster.Join(cluster.TargetFailedServers, id)
	t := newTxn().set(key, rec).old(cluster.Join(key, "Status"), cluster.StatusBad)
	if !p.s.FailedServers[id] && p.s.jobOnServer(id, cluster.JobFailedServer) == "" {
		jobID := p.newID()
		if jobID == "" {
			p.health[id] = cluster.StatusBad // no id this round: decide again next round
			return
		}
		t.set(failedKey, []any{}).empty(failedKey)
		t.set(jobKey("ToDo", jobID), &cluster.Job{Type: cluster.JobFailedServer, JobID: jobID,
			Server: id, Creator: "supervision", TimeCreated: p.now})
		p.write(t, "DBServer %s FAILED (no heartbeat for more than %v): created failedServer job %s", id, p.in.Config.GracePeriod, jobID)
		return
	}
	p.write(t, "DBServer %s FAILED", id)
}

// jobOnServer returns a ToDo or Pending job of kind for server, or "".
func (s *Snapshot) jobOnServer(server, kind string) string {
	for _, jobs := range []map[string]*cluster.Job{s.ToDo, s.Pending} {
		for id, j := range jobs {
			if j.Type == kind && j.Server == server {
				return id
			}
		}
	}
	return ""
}
