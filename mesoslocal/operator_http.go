package mesoslocal

import (
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"
	"time"
)

// handler is the master listener's mux: scheduler API, operator endpoints,
// the control API and a small HTML page.
func (c *Cluster) handler() http.Handler {
	m := c.master
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/scheduler", m.serveScheduler)
	mux.HandleFunc("/master/api/v1/scheduler", m.serveScheduler)
	for _, p := range []string{"/master/state", "/state", "/master/state.json", "/state.json"} {
		mux.HandleFunc(p, m.serveState)
	}
	for _, p := range []string{"/redirect", "/master/redirect"} {
		mux.HandleFunc(p, m.serveRedirect)
	}
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("/master/health", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("/version", serveVersion)
	mux.HandleFunc("/metrics/snapshot", m.serveMetrics)
	mux.Handle("/sim/v1/", http.StripPrefix("/sim/v1", c.controlHandler()))
	mux.HandleFunc("/{$}", m.serveIndex)
	return mux
}

// serveRedirect answers 307 to this (always leading) master, protocol
// relative and without a path, as Mesos does.
func (m *master) serveRedirect(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Location", "//"+m.hostname+":"+strconv.Itoa(m.port))
	w.WriteHeader(http.StatusTemporaryRedirect)
}

// serveStandby is every endpoint of a non-leading master: 307 to the same
// path on the leader (protocol relative), and /redirect to the leader.
func (m *master) serveStandby(w http.ResponseWriter, r *http.Request) {
	loc := "//" + m.hostname + ":" + strconv.Itoa(m.port)
	if r.URL.Path != "/redirect" && r.URL.Path != "/master/redirect" {
		loc += r.URL.RequestURI()
	}
	w.Header().Set("Location", loc)
	w.WriteHeader(http.StatusTemporaryRedirect)
}

func serveVersion(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"version": Version, "build_user": "mesoslocal"})
}

// serveMetrics is a flat JSON map of a few master counters.
func (m *master) serveMetrics(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	running, staging, total := 0, 0, 0
	active := 0
	for _, fw := range m.frameworks {
		if fw.connected() {
			active++
		}
		for _, t := range fw.tasks {
			total++
			switch t.state.String() {
			case "TASK_RUNNING":
				running++
			case "TASK_STAGING":
				staging++
			}
		}
	}
	connected := 0
	for _, a := range m.agents {
		if a.connected {
			connected++
		}
	}
	doc := map[string]float64{
		"master/elected": 1, "master/uptime_secs": float64(int(time.Since(m.start).Seconds())),
		"master/frameworks_active": float64(active), "master/frameworks_inactive": float64(len(m.frameworks) - active),
		"master/frameworks_connected": float64(active), "master/frameworks_disconnected": float64(len(m.frameworks) - active),
		"master/frameworks_completed": float64(len(m.completed)),
		"master/slaves_active":        float64(connected), "master/slaves_connected": float64(connected),
		"master/slaves_inactive": float64(len(m.agents) - connected), "master/slaves_unreachable": float64(len(m.unreachable)),
		"master/tasks_running": float64(running), "master/tasks_staging": float64(staging), "master/tasks_total": float64(total),
		"master/outstanding_offers": float64(len(m.offers)),
	}
	m.mu.Unlock()
	body, _ := json.Marshal(doc)
	writeJSONP(w, r, body)
}

var indexPage = template.Must(template.New("index").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>mesoslocal</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}td,th{border:1px solid #ccc;padding:4px 8px}</style>
</head><body>
<h1>mesoslocal master {{.MasterID}}</h1>
<h2>Agents</h2>
<table><tr><th>name</th><th>id</th><th>endpoint</th><th>connected</th><th>volumes</th></tr>
{{range .Agents}}<tr><td>{{.Name}}</td><td>{{.ID}}</td><td>{{.Endpoint}}</td><td>{{.Connected}}</td><td>{{len .Volumes}}</td></tr>{{end}}
</table>
{{if .UnreachableAgents}}<h2>Unreachable agents</h2><ul>{{range .UnreachableAgents}}<li>{{.Name}} ({{.ID}})</li>{{end}}</ul>{{end}}
<h2>Frameworks</h2>
<table><tr><th>id</th><th>name</th><th>connected</th><th>tasks</th><th>offers</th></tr>
{{range .Frameworks}}<tr><td>{{.ID}}</td><td>{{.Name}}</td><td>{{.Connected}}</td><td>{{len .Tasks}}</td><td>{{len .Offers}}</td></tr>{{end}}
</table>
<h2>Tasks</h2>
<table><tr><th>task</th><th>framework</th><th>agent</th><th>state</th></tr>
{{range .Frameworks}}{{range .Tasks}}<tr><td>{{.ID}}</td><td>{{.FrameworkID}}</td><td>{{.AgentID}}</td><td>{{.State}}</td></tr>{{end}}{{range .UnreachableTasks}}<tr><td>{{.ID}}</td><td>{{.FrameworkID}}</td><td>{{.AgentID}}</td><td>{{.State}}</td></tr>{{end}}{{end}}
</table>
<p>JSON: <a href="/master/state">/master/state</a> · <a href="/sim/v1/agents">/sim/v1/agents</a></p>
</body></html>`))

func (m *master) serveIndex(w http.ResponseWriter, _ *http.Request) {
	m.mu.Lock()
	s := m.stateLocked()
	m.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = indexPage.Execute(w, s)
}
