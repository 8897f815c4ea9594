package mesoslocal

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// serveState is /master/state, /state, /master/state.json and /state.json:
// the JSON of Mesos's readonly state handler, with ?jsonp=.
func (m *master) serveState(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET")
		plainError(w, http.StatusMethodNotAllowed, "")
		return
	}
	m.mu.Lock()
	doc := m.stateJSONLocked()
	m.mu.Unlock()
	body, err := json.Marshal(doc)
	if err != nil {
		plainError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSONP(w, r, body)
}

var jsonpName = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$.]*$`)

// writeJSONP writes JSON, wrapped as JSONP when ?jsonp= names a callback.
func writeJSONP(w http.ResponseWriter, r *http.Request, body []byte) {
	if cb := r.URL.Query().Get("jsonp"); cb != "" {
		if !jsonpName.MatchString(cb) {
			plainError(w, http.StatusBadRequest, "Invalid 'jsonp' callback name")
			return
		}
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = w.Write([]byte(cb + "(" + string(body) + ");"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func (m *master) stateJSONLocked() map[string]any {
	start := float64(m.start.UnixNano()) / 1e9
	active, inactive := 0, 0
	var slaves []any
	for _, a := range m.sortedAgentsLocked() {
		if a.connected {
			active++
		} else {
			inactive++
		}
		slaves = append(slaves, m.slaveJSONLocked(a))
	}
	frameworks := []any{}
	for _, id := range sortedIDs(m.frameworks) {
		frameworks = append(frameworks, m.frameworkJSONLocked(m.frameworks[id]))
	}
	completed := []any{}
	for _, fw := range m.completed {
		completed = append(completed, m.frameworkJSONLocked(fw))
	}
	if slaves == nil {
		slaves = []any{}
	}
	return map[string]any{
		"version": Version, "build_date": "", "build_time": start, "build_user": "mesoslocal",
		"start_time": start, "elected_time": start,
		"id": m.id, "pid": m.pid(), "hostname": m.hostname,
		"capabilities":     []string{"AGENT_UPDATE", "AGENT_DRAINING"},
		"activated_slaves": active, "deactivated_slaves": inactive, "unreachable_slaves": len(m.unreachable),
		"leader":      m.pid(),
		"leader_info": map[string]any{"id": m.id, "pid": m.pid(), "port": m.port, "hostname": m.hostname, "ip": m.masterInfo().IP},
		"flags": map[string]string{
			"allocation_interval": stoutDuration(m.cfg.Timers.AllocationInterval),
			"agent_ping_timeout":  stoutDuration(m.cfg.Timers.AgentPingTimeout),
			"max_agent_ping_timeouts": func() string {
				b, _ := json.Marshal(m.cfg.Timers.MaxAgentPingTimeouts)
				return string(b)
			}(),
			"agent_reregister_timeout": stoutDuration(m.cfg.Timers.AgentReregisterTimeout),
		},
		"slaves": slaves, "recovered_slaves": []any{}, "frameworks": frameworks, "completed_frameworks": completed,
		"orphan_tasks": []any{}, "unregistered_frameworks": []any{},
	}
}

func attributesJSON(attrs []mesos.Attribute) map[string]any {
	out := map[string]any{}
	for _, a := range attrs {
		switch a.Type {
		case mesos.SCALAR:
			out[a.Name] = a.GetScalar().GetValue()
		case mesos.TEXT:
			out[a.Name] = a.GetText().GetValue()
		case mesos.RANGES:
			out[a.Name] = resourceMap(mesos.Resources{{Name: "r", Type: mesos.RANGES.Enum(), Ranges: a.Ranges}})["r"]
		case mesos.SET:
			out[a.Name] = "{" + strings.Join(a.GetSet().GetItem(), ",") + "}"
		}
	}
	return out
}

func (m *master) slaveJSONLocked(a *agentEntry) map[string]any {
	ip, port := a.addr()
	used := sumResources(m.usedLocked(a, "")...)
	var off mesos.Resources
	for _, o := range m.offers {
		if o.agentID == a.id {
			off = append(off, o.resources...)
		}
	}
	reserved := map[string]any{}
	byRole := map[string]mesos.Resources{}
	var unreserved mesos.Resources
	for i := range a.total {
		r := a.total[i]
		if role := reservationRole(&r); role != "" {
			byRole[role] = append(byRole[role], r)
		} else {
			unreserved = append(unreserved, r)
		}
	}
	for role, rs := range byRole {
		reserved[role] = resourceMap(rs)
	}
	doc := map[string]any{
		"id": a.id, "hostname": a.info.Hostname, "port": port, "attributes": attributesJSON(a.info.Attributes),
		"pid": "slave(1)@" + ip + ":" + itoa(port), "registered_time": float64(a.registered.UnixNano()) / 1e9,
		"resources": resourceMap(a.total), "used_resources": resourceMap(used), "offered_resources": resourceMap(sumResources(off...)),
		"unreserved_resources": resourceMap(unreserved), "reserved_resources": reserved,
		"active": a.connected, "deactivated": !a.connected, "version": Version,
		"capabilities": []string{"MULTI_ROLE", "HIERARCHICAL_ROLE", "RESERVATION_REFINEMENT"},
	}
	if !a.rereg.IsZero() {
		doc["reregistered_time"] = float64(a.rereg.UnixNano()) / 1e9
	}
	return doc
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func (m *master) frameworkJSONLocked(fw *framework) map[string]any {
	var used, offered mesos.Resources
	for _, a := range m.agents {
		used = append(used, m.usedLocked(a, fw.id)...)
	}
	offers := []any{}
	for _, id := range sortedIDs(m.offers) {
		o := m.offers[id]
		if o.fid != fw.id {
			continue
		}
		offered = append(offered, o.resources...)
		offers = append(offers, map[string]any{"id": o.id, "framework_id": fw.id, "slave_id": o.agentID,
			"allocation_info": map[string]any{"role": o.role}, "resources": resourceMap(o.resources)})
	}
	caps := []string{}
	for _, c := range fw.info.Capabilities {
		caps = append(caps, c.Type.String())
	}
	counts := map[string]int{}
	tasks := []any{}
	for _, t := range sortedTasks(fw.tasks) {
		counts[t.state.String()]++
		tasks = append(tasks, taskJSON(t))
	}
	unreachable := []any{}
	for _, t := range sortedTasks(fw.unreachableTasks) {
		unreachable = append(unreachable, taskJSON(t))
	}
	completedTasks := []any{}
	for _, t := range fw.completedTasks {
		completedTasks = append(completedTasks, taskJSON(t))
	}
	executors := []any{}
	for _, a := range m.sortedAgentsLocked() {
		for _, eid := range sortedIDs(a.executors[fw.id]) {
			e := a.executors[fw.id][eid]
			b, _ := json.Marshal(&e)
			var doc map[string]any
			_ = json.Unmarshal(b, &doc)
			doc["slave_id"] = a.id
			executors = append(executors, doc)
		}
	}
	doc := map[string]any{
		"id": fw.id, "name": fw.info.Name, "used_resources": resourceMap(sumResources(used...)),
		"offered_resources": resourceMap(sumResources(offered...)),
		"resources":         resourceMap(sumResources(append(used, offered...)...)),
		"capabilities":      caps, "hostname": fw.info.GetHostname(), "webui_url": fw.info.GetWebUiURL(),
		"active": fw.connected(), "connected": fw.connected(), "recovered": fw.recovered,
		"user": fw.info.User, "failover_timeout": fw.info.GetFailoverTimeout(), "checkpoint": fw.info.GetCheckpoint(),
		"registered_time": float64(fw.registered.UnixNano()) / 1e9, "unregistered_time": 0.0,
		"tasks": tasks, "unreachable_tasks": unreachable, "completed_tasks": completedTasks,
		"offers": offers, "executors": executors, "offer_constraints": map[string]any{},
	}
	if !fw.unregistered.IsZero() && !fw.connected() {
		doc["unregistered_time"] = float64(fw.unregistered.UnixNano()) / 1e9
	}
	if !fw.reregistered.IsZero() {
		doc["reregistered_time"] = float64(fw.reregistered.UnixNano()) / 1e9
	}
	if p := fw.info.GetPrincipal(); p != "" {
		doc["principal"] = p
	}
	if fw.multiRole() {
		doc["roles"] = fw.roles()
	} else {
		doc["role"] = fw.primaryRole()
	}
	if fw.info.Labels != nil {
		doc["labels"] = fw.info.Labels.Labels
	}
	for _, s := range []mesos.TaskState{mesos.TASK_STAGING, mesos.TASK_STARTING, mesos.TASK_RUNNING, mesos.TASK_KILLING,
		mesos.TASK_FINISHED, mesos.TASK_KILLED, mesos.TASK_FAILED, mesos.TASK_LOST, mesos.TASK_ERROR, mesos.TASK_UNREACHABLE} {
		doc[s.String()] = counts[s.String()]
	}
	return doc
}

func taskJSON(t *task) map[string]any {
	statuses := []any{}
	for _, s := range t.statuses {
		st := map[string]any{"state": s.GetState().String(), "timestamp": s.GetTimestamp()}
		if s.Healthy != nil {
			st["healthy"] = s.GetHealthy()
		}
		if s.ContainerStatus != nil {
			st["container_status"] = s.ContainerStatus
		}
		statuses = append(statuses, st)
	}
	doc := map[string]any{
		"id": t.info.TaskID.Value, "name": t.info.Name, "framework_id": t.fid, "executor_id": t.executorID,
		"slave_id": t.agentID, "state": t.state.String(), "resources": resourceMap(t.resources), "role": t.role,
		"statuses": statuses,
	}
	if t.info.Labels != nil {
		doc["labels"] = t.info.Labels.Labels
	}
	if t.info.Discovery != nil {
		doc["discovery"] = t.info.Discovery
	}
	if t.info.Container != nil {
		doc["container"] = t.info.Container
	}
	if t.info.HealthCheck != nil {
		doc["health_check"] = t.info.HealthCheck
	}
	return doc
}
