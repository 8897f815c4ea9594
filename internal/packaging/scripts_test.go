package packaging

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/internal/testharness"
)

var scriptsDir = filepath.Join("..", "..", "scripts")

// runScript runs one of scripts/*.sh with the test's arangomesos binary, from
// a directory other than the repository (the scripts must not depend on the
// caller's working directory), and returns stdout, stderr and the error.
func runScript(t *testing.T, script string, env []string, args ...string) (string, string, error) {
	t.Helper()
	abs, err := filepath.Abs(filepath.Join(scriptsDir, script))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(abs, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), append([]string{"ARANGOMESOS_BIN=" + testharness.Binary(t)}, env...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("%s did not finish: %s", script, stderr.String())
	}
	return stdout.String(), stderr.String(), err
}

// render-universe.sh renders like dcos package install --options, from any
// directory, and refuses bad options with the reason.
func TestRenderScript(t *testing.T) {
	opts, _ := filepath.Abs(plainOptions)
	out, stderr, err := runScript(t, "render-universe.sh", nil, opts)
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	if out != string(readFile(t, plainApp)) {
		t.Errorf("render-universe.sh marathon/options.json differs from marathon/arangomesos.json")
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	for opts, want := range map[string]string{
		`{"agents":{"count":2}}`: "one of 1, 3, 5, 7, 9",
		// Beyond what a JSON schema says: the scheduler's own validation.
		`{"autoscale":{"coordinators_min":5,"coordinators_max":2}}`:                        "autoscale bounds",
		`{"database":{"supervision_ok_threshold":"30s","supervision_grace_period":"10s"}}`: "supervision",
	} {
		if err := os.WriteFile(bad, []byte(opts), 0o644); err != nil {
			t.Fatal(err)
		}
		_, stderr, err := runScript(t, "render-universe.sh", nil, bad)
		if err == nil || !strings.Contains(stderr, want) {
			t.Errorf("options %s: err %v, stderr %q, want %q", opts, err, stderr, want)
		}
	}
	out2 := filepath.Join(dir, "app.json")
	if _, stderr, err := runScript(t, "render-universe.sh", nil, nonDefaultOptions2(t), out2); err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	if app, err := ParseApp(readFile(t, out2)); err != nil || app.ID != "/orders-db" {
		t.Fatalf("rendered to a file: %v %v", app, err)
	}
}

func nonDefaultOptions2(t *testing.T) string {
	abs, err := filepath.Abs(nonDefaultOptions)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// stubScheduler answers /v1/health and /v1/uninstall as the scheduler's API
// contract says, to test the scripts' side of it: health 202 (deploying),
// then 200; uninstall needs
// the bearer token, POST starts it, GET reports done after a few polls.
type stubScheduler struct {
	srv    *httptest.Server
	token  string
	mu     sync.Mutex
	posts  int
	gets   int
	health int
	calls  []string
}

func newStubScheduler(t *testing.T, token string) *stubScheduler {
	s := &stubScheduler{token: token}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.calls = append(s.calls, r.Method+" "+r.URL.Path)
		if r.URL.Path == "/v1/health" {
			// Deploying (202, healthy for Mesos) a few times, then serving.
			s.health++
			if s.health < 4 {
				writeJSON(w, 202, map[string]string{"status": "deploying", "reason": "launching agent-1"})
				return
			}
			writeJSON(w, 200, map[string]string{"status": "healthy"})
			return
		}
		if r.URL.Path != "/v1/uninstall" {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+s.token {
			writeJSON(w, 401, map[string]string{"message": "unauthorized"})
			return
		}
		switch r.Method {
		case http.MethodPost:
			s.posts++
			writeJSON(w, 202, map[string]any{"done": false})
		case http.MethodGet:
			if s.posts == 0 {
				writeJSON(w, 200, map[string]any{"done": false, "uninstalling": false})
				return
			}
			s.gets++
			writeJSON(w, 200, map[string]any{"done": s.gets >= 3, "tasks": 3 - s.gets})
		}
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *stubScheduler) hostPort() string { return strings.TrimPrefix(s.srv.URL, "http://") }

func (s *stubScheduler) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// deploy-marathon.sh posts the app, refuses to overwrite an existing one
// unless --update, and waits for the health check; remove-marathon.sh
// uninstalls through the scheduler before it deletes the app, and keeps the
// app when the uninstall cannot run.
func TestDeployAndRemoveScripts(t *testing.T) {
	sched := newStubScheduler(t, "tok-1")
	m := newSimMarathon(t)
	m.stubTask = sched.hostPort()
	app, _ := filepath.Abs(plainApp)

	out, stderr, err := runScript(t, "deploy-marathon.sh", []string{"ARANGOMESOS_AUTHORIZATION=token=abc", "ARANGOMESOS_POLL=100ms"}, m.URL(), app, "--wait", "1m")
	if err != nil {
		t.Fatalf("deploy: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, "the cluster serves; scheduler at "+sched.srv.URL) || !strings.Contains(stderr, "HTTP 202 deploying") {
		t.Errorf("deploy output %q, log %q", out, stderr)
	}
	if a := m.app("/arangomesos"); a == nil || a.version != 1 {
		t.Fatalf("app not created: %v", m.Calls())
	}
	if _, stderr, err := runScript(t, "deploy-marathon.sh", nil, m.URL(), app); err == nil || !strings.Contains(stderr, "--update") {
		t.Errorf("second deploy: %v %s", err, stderr)
	}
	if _, stderr, err := runScript(t, "deploy-marathon.sh", nil, m.URL(), app, "--update", "--wait", "0"); err != nil {
		t.Fatalf("deploy --update: %v %s", err, stderr)
	}
	if a := m.app("/arangomesos"); a == nil || a.version != 2 {
		t.Fatalf("app not updated")
	}

	// Wrong token: the uninstall fails, and the app stays.
	_, stderr, err = runScript(t, "remove-marathon.sh", []string{"ARANGOMESOS_TOKEN=wrong"}, m.URL(), "/arangomesos", "--timeout", "30s")
	if err == nil || !strings.Contains(stderr, "401") || m.app("/arangomesos") == nil {
		t.Fatalf("remove with a wrong token: %v, app %v, %s", err, m.app("/arangomesos"), stderr)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("tok-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, err = runScript(t, "remove-marathon.sh", []string{"ARANGOMESOS_POLL=100ms"}, m.URL(), "/arangomesos", "--token-file", tokenFile)
	if err != nil {
		t.Fatalf("remove: %v\n%s", err, stderr)
	}
	if m.app("/arangomesos") != nil || !strings.Contains(out, "removed /arangomesos") {
		t.Fatalf("app still there: %s %s", out, stderr)
	}
	// The order: uninstall done before the delete.
	calls := strings.Join(sched.Calls(), ",")
	if !strings.Contains(calls, "POST /v1/uninstall") {
		t.Fatalf("no uninstall: %s", calls)
	}
	mc := m.Calls()
	if last := mc[len(mc)-2]; !strings.HasPrefix(last, "DELETE /v2/apps/arangomesos") {
		t.Errorf("marathon calls end with %v", mc[len(mc)-3:])
	}
	if sched.gets < 3 {
		t.Errorf("the app was deleted before the scheduler reported done (%d polls)", sched.gets)
	}
}

// Marathon refuses an app that breaks its schema, and deploy says why.
func TestDeployReportsMarathonRefusal(t *testing.T) {
	m := newSimMarathon(t)
	var app map[string]any
	if err := json.Unmarshal(readFile(t, plainApp), &app); err != nil {
		t.Fatal(err)
	}
	app["upgradeStrategy"] = map[string]any{"minimumHealthCapacity": 2}
	b, _ := json.Marshal(app)
	file := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := runScript(t, "deploy-marathon.sh", nil, m.URL(), file)
	if err == nil || !strings.Contains(stderr, "HTTP 422") {
		t.Fatalf("err %v, stderr %s", err, stderr)
	}
}
