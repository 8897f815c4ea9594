package packaging

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/internal/testharness"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// simMarathon stands in for Marathon's REST API (Marathon itself, a JVM
// service, is not available to the tests). It implements the calls that
// `arangomesos package deploy|remove` make, validates posted apps against
// Marathon 1.7's AppDefinition.json as Marathon does, and either runs each
// app's task as Marathon would on a Mesos agent (launch: fetch the URIs into a
// fresh sandbox, set the environment with PORT0, HOST and MESOS_SANDBOX, and
// run cmd with /bin/sh -c in the sandbox), or, for tests of the client alone,
// reports a task at a fixed address.
type simMarathon struct {
	t      *testing.T
	srv    *httptest.Server
	schema *jsonschema.Schema
	// secrets is the secret store: source → value.
	secrets map[string]string
	// stubTask, when set, is the host:port of every app's task instead of a
	// launched process.
	stubTask string

	mu    sync.Mutex
	apps  map[string]*simApp
	calls []string
}

type simApp struct {
	app     *App
	task    *simTask
	version int
}

type simTask struct {
	proc    *testharness.Process
	host    string
	port    int
	sandbox string
}

func newSimMarathon(t *testing.T) *simMarathon {
	m := &simMarathon{t: t, schema: compile(t, marathonSchema, ""), secrets: map[string]string{}, apps: map[string]*simApp{}}
	m.srv = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(func() {
		m.srv.Close()
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, a := range m.apps {
			m.stopTask(a)
		}
	})
	return m
}

func (m *simMarathon) URL() string { return m.srv.URL }

func (m *simMarathon) Calls() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.calls...)
}

func (m *simMarathon) app(id string) *simApp {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.apps["/"+strings.Trim(id, "/")]
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (m *simMarathon) serve(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, r.Method+" "+r.URL.RequestURI())
	rest, ok := strings.CutPrefix(r.URL.Path, "/v2/apps")
	if !ok {
		writeJSON(w, 404, map[string]string{"message": "not found"})
		return
	}
	if r.Method == http.MethodPost && (rest == "" || rest == "/") {
		body, _ := io.ReadAll(r.Body)
		app, msg := m.validate(body)
		if app == nil {
			writeJSON(w, 422, map[string]string{"message": msg})
			return
		}
		if _, exists := m.apps[app.ID]; exists {
			writeJSON(w, 409, map[string]string{"message": "An app with id [" + app.ID + "] already exists."})
			return
		}
		a := &simApp{app: app, version: 1}
		m.apps[app.ID] = a
		m.startTask(a)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		_, _ = w.Write(body)
		return
	}
	tasks := strings.HasSuffix(rest, "/tasks")
	id := "/" + strings.Trim(strings.TrimSuffix(rest, "/tasks"), "/")
	a := m.apps[id]
	if a == nil {
		writeJSON(w, 404, map[string]string{"message": "App '" + id + "' does not exist"})
		return
	}
	switch {
	case r.Method == http.MethodGet && tasks:
		var list []map[string]any
		if a.task != nil {
			list = append(list, map[string]any{"id": fmt.Sprintf("%s.%d", strings.Trim(id, "/"), a.version), "host": a.task.host,
				"ports": []int{a.task.port}, "state": "TASK_RUNNING",
				"healthCheckResults": []map[string]any{{"alive": m.healthy(a)}}})
		}
		writeJSON(w, 200, map[string]any{"tasks": list})
	case r.Method == http.MethodGet:
		running, healthy := 0, 0
		if a.task != nil {
			running = 1
			if m.healthy(a) {
				healthy = 1
			}
		}
		writeJSON(w, 200, map[string]any{"app": map[string]any{"id": id, "instances": 1, "tasksRunning": running,
			"tasksHealthy": healthy, "deployments": []any{}}})
	case r.Method == http.MethodPut:
		body, _ := io.ReadAll(r.Body)
		app, msg := m.validate(body)
		if app == nil {
			writeJSON(w, 422, map[string]string{"message": msg})
			return
		}
		// upgradeStrategy 0/0: the old task goes before the new one starts.
		m.stopTask(a)
		a.app, a.version = app, a.version+1
		m.startTask(a)
		writeJSON(w, 200, map[string]any{"deploymentId": "d" + strconv.Itoa(a.version), "version": a.version})
	case r.Method == http.MethodDelete:
		m.stopTask(a)
		delete(m.apps, id)
		writeJSON(w, 200, map[string]any{"deploymentId": "delete", "version": a.version})
	default:
		writeJSON(w, 405, map[string]string{"message": "method not allowed"})
	}
}

func (m *simMarathon) validate(body []byte) (*App, string) {
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(string(body)))
	if err != nil {
		return nil, err.Error()
	}
	if err := m.schema.Validate(inst); err != nil {
		return nil, "Object is not valid: " + err.Error()
	}
	app, err := ParseApp(body)
	if err != nil {
		return nil, err.Error()
	}
	app.ID = "/" + strings.Trim(app.ID, "/")
	return app, ""
}

// healthy runs the app's first health check now: a MESOS_HTTP check is
// healthy on a 2xx or 3xx answer.
func (m *simMarathon) healthy(a *simApp) bool {
	if a.task == nil || len(a.app.HealthChecks) == 0 {
		return false
	}
	h := a.app.HealthChecks[0]
	c := &http.Client{Timeout: time.Duration(max(h.TimeoutSeconds, 1)) * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://%s:%d%s", a.task.host, a.task.port, h.Path))
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 400
}

func (m *simMarathon) startTask(a *simApp) {
	if m.stubTask != "" {
		host, port, _ := strings.Cut(m.stubTask, ":")
		p, _ := strconv.Atoi(port)
		a.task = &simTask{host: host, port: p}
		return
	}
	task, err := launchTask(m.t, a.app, m.secrets, fmt.Sprintf("%s-%d", strings.Trim(a.app.ID, "/"), a.version))
	if err != nil {
		m.t.Errorf("launch %s: %v", a.app.ID, err)
		return
	}
	a.task = task
}

func (m *simMarathon) stopTask(a *simApp) {
	if a.task != nil && a.task.proc != nil {
		a.task.proc.Stop(time.Duration(max(a.app.TaskKillGracePeriodSeconds, 3)) * time.Second)
	}
	a.task = nil
}

// launchTask runs an app's task as Marathon does through Mesos's command
// executor: a fresh sandbox, the fetch URIs downloaded into it (named by
// destPath or the URI's last segment, executable when asked), the app's
// environment with its secrets resolved from the store, plus what Mesos and
// Marathon add (HOST, PORT0, PORT, PORTS, MESOS_SANDBOX, MARATHON_APP_ID,
// MESOS_TASK_ID), and cmd run by /bin/sh -c in the sandbox. Nothing of the
// test process's environment leaks in but PATH.
func launchTask(t *testing.T, app *App, secrets map[string]string, name string) (*simTask, error) {
	sandbox := t.TempDir()
	for _, f := range app.Fetch {
		dst := f.DestPath
		if dst == "" {
			dst = path.Base(f.URI)
		}
		if err := fetchURI(f.URI, filepath.Join(sandbox, dst), f.Executable); err != nil {
			return nil, err
		}
	}
	port := testharness.FreePort(t)
	resolved := map[string]string{}
	for decl, s := range app.Secrets {
		if v, ok := secrets[s.Source]; ok {
			resolved[decl] = v
		}
	}
	env := app.PlainEnv(resolved)
	for k, v := range map[string]string{
		"HOST": "127.0.0.1", "PORT0": strconv.Itoa(port), "PORT": strconv.Itoa(port), "PORTS": strconv.Itoa(port),
		"MESOS_SANDBOX": sandbox, "MARATHON_APP_ID": app.ID, "MESOS_TASK_ID": name,
		"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": sandbox,
	} {
		env[k] = v
	}
	args := []string{"-i"}
	for _, k := range sortedKeys(env) {
		args = append(args, k+"="+env[k])
	}
	args = append(args, "/bin/sh", "-c", `cd "$MESOS_SANDBOX" && exec /bin/sh -c "$0"`, app.Cmd)
	proc := testharness.StartProcess(t, name, "/usr/bin/env", args)
	return &simTask{proc: proc, host: "127.0.0.1", port: port, sandbox: sandbox}, nil
}

func fetchURI(uri, dst string, executable bool) error {
	resp, err := http.Get(uri)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", uri, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("fetch %s: HTTP %d", uri, resp.StatusCode)
	}
	mode := os.FileMode(0o644)
	if executable {
		mode = 0o755
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// serveFile serves one local file over HTTP, as the artifact store behind a
// fetch URI; it returns the file's URL.
func serveFile(t *testing.T, file string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, file)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/" + filepath.Base(file)
}
