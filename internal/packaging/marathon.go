package packaging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Marathon is a client of the few Marathon REST calls that deploying and
// removing the scheduler need.
type Marathon struct {
	// URL is Marathon's base URL, e.g. http://marathon:8080 or, on DC/OS,
	// https://<dcos>/service/marathon.
	URL string
	// Authorization, when set, is sent as the Authorization header (on
	// DC/OS: "token=<DC/OS ACS token>").
	Authorization string
	// Client defaults to an http.Client with a 30 s timeout per request.
	Client *http.Client
	// Log receives progress lines; nil discards them.
	Log io.Writer
	// Poll is the interval between status requests; default 2 s.
	Poll time.Duration
}

// ErrExists is returned by Deploy when the app exists and update is false.
var ErrExists = errors.New("marathon: the app exists already")

// MarathonError is a non-success answer from Marathon.
type MarathonError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *MarathonError) Error() string {
	return fmt.Sprintf("marathon: %s %s: HTTP %d: %s", e.Method, e.Path, e.Status, strings.TrimSpace(e.Body))
}

func (m *Marathon) logf(format string, args ...any) {
	if m.Log != nil {
		fmt.Fprintf(m.Log, format+"\n", args...)
	}
}

func (m *Marathon) client() *http.Client {
	if m.Client != nil {
		return m.Client
	}
	return &http.Client{Timeout: 30 * time.Second}
}

func (m *Marathon) poll() time.Duration {
	if m.Poll > 0 {
		return m.Poll
	}
	return 2 * time.Second
}

// appPath is /v2/apps/<id> for an app id like "/arangomesos" or "/dev/db".
func appPath(id string) string {
	return "/v2/apps/" + strings.Trim(id, "/")
}

func (m *Marathon) do(ctx context.Context, method, path string, body []byte, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(m.URL, "/")+path, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if m.Authorization != "" {
		req.Header.Set("Authorization", m.Authorization)
	}
	resp, err := m.client().Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, &MarathonError{Method: method, Path: path, Status: resp.StatusCode, Body: string(b)}
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("marathon: %s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

func status(err error) int {
	var me *MarathonError
	if errors.As(err, &me) {
		return me.Status
	}
	return 0
}

// Task is a running task of an app, as Marathon lists it.
type Task struct {
	ID                 string `json:"id"`
	Host               string `json:"host"`
	Ports              []int  `json:"ports"`
	State              string `json:"state"`
	HealthCheckResults []struct {
		Alive bool `json:"alive"`
	} `json:"healthCheckResults"`
}

// Healthy reports whether every health check of the task passes (and there
// is at least one).
func (t Task) Healthy() bool {
	if len(t.HealthCheckResults) == 0 {
		return false
	}
	for _, h := range t.HealthCheckResults {
		if !h.Alive {
			return false
		}
	}
	return true
}

// URL is http://host:port of the task's first port: the scheduler's API and
// UI.
func (t Task) URL() (string, error) {
	if t.Host == "" || len(t.Ports) == 0 {
		return "", fmt.Errorf("task %s has no host or port yet", t.ID)
	}
	return "http://" + net.JoinHostPort(t.Host, strconv.Itoa(t.Ports[0])), nil
}

// Tasks lists the app's tasks.
func (m *Marathon) Tasks(ctx context.Context, appID string) ([]Task, error) {
	var out struct {
		Tasks []Task `json:"tasks"`
	}
	_, err := m.do(ctx, http.MethodGet, appPath(appID)+"/tasks", nil, &out)
	return out.Tasks, err
}

// appStatus is what GET /v2/apps/<id> tells about progress.
type appStatus struct {
	App struct {
		Instances       int               `json:"instances"`
		TasksHealthy    int               `json:"tasksHealthy"`
		TasksRunning    int               `json:"tasksRunning"`
		Deployments     []json.RawMessage `json:"deployments"`
		LastTaskFailure *struct {
			Message string `json:"message"`
			State   string `json:"state"`
		} `json:"lastTaskFailure"`
	} `json:"app"`
}

// Deploy creates the app (POST /v2/apps); when it exists, it updates it
// (PUT /v2/apps/<id>) if update is set and fails with ErrExists otherwise.
// With wait > 0 it then waits until Marathon reports the deployment done and
// the scheduler's task healthy (its /v1/health answers 200: the cluster
// serves), and returns the scheduler's URL.
func (m *Marathon) Deploy(ctx context.Context, appJSON []byte, update bool, wait time.Duration) (string, error) {
	app, err := ParseApp(appJSON)
	if err != nil {
		return "", err
	}
	_, err = m.do(ctx, http.MethodPost, "/v2/apps", appJSON, nil)
	switch {
	case err == nil:
		m.logf("created Marathon app %s", app.ID)
	case status(err) == http.StatusConflict && update:
		if _, err := m.do(ctx, http.MethodPut, appPath(app.ID), appJSON, nil); err != nil {
			return "", err
		}
		m.logf("updated Marathon app %s (upgradeStrategy 0/0: the old scheduler stops before the new one starts)", app.ID)
	case status(err) == http.StatusConflict:
		return "", fmt.Errorf("%w: %s (deploy with --update to replace its definition)", ErrExists, app.ID)
	default:
		return "", err
	}
	if wait <= 0 {
		return "", nil
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	url, err := m.WaitHealthy(ctx, app.ID, wait)
	if err != nil {
		return "", err
	}
	m.logf("Marathon reports the scheduler healthy at %s; waiting for the cluster to serve", url)
	return url, m.WaitServing(ctx, url, wait)
}

// WaitServing waits until the scheduler's GET /v1/health answers 200: the
// whole cluster runs and serves. Marathon's health check passes earlier:
// a Mesos HTTP check takes every 2xx and 3xx as healthy, and the scheduler
// answers 202 while it deploys.
func (m *Marathon) WaitServing(ctx context.Context, schedulerURL string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last string
	for {
		now := ""
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, schedulerURL+"/v1/health", nil)
		if err != nil {
			return err
		}
		resp, err := m.client().Do(req)
		if err != nil {
			now = err.Error()
		} else {
			var h struct {
				Status string `json:"status"`
				Reason string `json:"reason"`
			}
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			_ = json.Unmarshal(b, &h)
			now = fmt.Sprintf("HTTP %d %s: %s", resp.StatusCode, h.Status, h.Reason)
		}
		if now != last {
			m.logf("health: %s", now)
			last = now
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the cluster does not serve after %v (%s)", timeout, last)
		case <-time.After(m.poll()):
		}
	}
}

// WaitHealthy waits until the app has no deployment in progress and a
// healthy task, and returns that task's URL.
func (m *Marathon) WaitHealthy(ctx context.Context, appID string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last string
	for {
		var st appStatus
		_, err := m.do(ctx, http.MethodGet, appPath(appID), nil, &st)
		if err == nil {
			tasks, terr := m.Tasks(ctx, appID)
			err = terr
			if err == nil {
				for _, t := range tasks {
					if t.Healthy() && len(st.App.Deployments) == 0 {
						return t.URL()
					}
				}
				now := fmt.Sprintf("%s: %d running, %d healthy, %d deployments in progress", appID,
					st.App.TasksRunning, st.App.TasksHealthy, len(st.App.Deployments))
				if f := st.App.LastTaskFailure; f != nil {
					now += fmt.Sprintf("; last task failure: %s %s", f.State, f.Message)
				}
				if now != last {
					m.logf("%s", now)
					last = now
				}
			}
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return "", fmt.Errorf("%s not healthy in %v: %w", appID, timeout, err)
			}
			return "", fmt.Errorf("%s not healthy in %v (%s)", appID, timeout, last)
		case <-time.After(m.poll()):
		}
	}
}

// SchedulerURL finds the scheduler through Marathon: the first port of the
// app's running task.
func (m *Marathon) SchedulerURL(ctx context.Context, appID string) (string, error) {
	tasks, err := m.Tasks(ctx, appID)
	if err != nil {
		return "", err
	}
	for _, t := range tasks {
		if u, err := t.URL(); err == nil {
			return u, nil
		}
	}
	return "", fmt.Errorf("app %s has no running task with a port", appID)
}

// Delete deletes the app and waits until Marathon no longer knows it. A
// deployment in progress is overridden (force=true) when it blocks the
// delete.
func (m *Marathon) Delete(ctx context.Context, appID string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err := m.do(ctx, http.MethodDelete, appPath(appID), nil, nil)
	if status(err) == http.StatusConflict {
		m.logf("a deployment of %s is in progress; deleting with force=true", appID)
		_, err = m.do(ctx, http.MethodDelete, appPath(appID)+"?force=true", nil, nil)
	}
	if status(err) == http.StatusNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	for {
		_, err := m.do(ctx, http.MethodGet, appPath(appID), nil, nil)
		if status(err) == http.StatusNotFound {
			m.logf("deleted Marathon app %s", appID)
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("app %s still present after %v", appID, timeout)
		case <-time.After(m.poll()):
		}
	}
}

// Uninstaller drives the scheduler's uninstall: POST /v1/uninstall starts it
// (kill every task, destroy the volumes, unreserve, tear the framework down,
// delete the state); GET /v1/uninstall reports {"done": true} when it is
// finished. Only then may the Marathon app go: a scheduler deleted earlier
// leaves reservations and volumes behind, and one that Marathon restarts
// after its state is gone would install a new cluster.
type Uninstaller struct {
	// SchedulerURL is the scheduler's base URL (http://host:port, or through
	// DC/OS's admin router https://<dcos>/service/<name>).
	SchedulerURL string
	// Token is the bearer token of the scheduler's /v1 API.
	Token  string
	Client *http.Client
	Log    io.Writer
	Poll   time.Duration
	// Unreachable is how long the scheduler may stop answering during the
	// uninstall before Run gives up (default 30 s): a scheduler that went
	// away before it reported done may have left everything behind.
	Unreachable time.Duration
}

// UninstallStatus is the answer of GET /v1/uninstall.
type UninstallStatus struct {
	Done bool `json:"done"`
	// Whatever else the scheduler reports (phase, tasks left, ...) is logged.
	Raw json.RawMessage `json:"-"`
}

func (u *Uninstaller) call(ctx context.Context, method string) (UninstallStatus, error) {
	var st UninstallStatus
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(u.SchedulerURL, "/")+"/v1/uninstall", nil)
	if err != nil {
		return st, err
	}
	req.Header.Set("Accept", "application/json")
	if u.Token != "" {
		req.Header.Set("Authorization", "Bearer "+u.Token)
	}
	c := u.Client
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return st, err
	}
	if resp.StatusCode/100 != 2 {
		return st, fmt.Errorf("scheduler: %s /v1/uninstall: HTTP %d: %s", method, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	if len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &st); err != nil {
			return st, fmt.Errorf("scheduler: %s /v1/uninstall: %w", method, err)
		}
	}
	st.Raw = b
	return st, nil
}

// Run starts the uninstall and waits until the scheduler reports it done.
func (u *Uninstaller) Run(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	logf := func(format string, args ...any) {
		if u.Log != nil {
			fmt.Fprintf(u.Log, format+"\n", args...)
		}
	}
	if _, err := u.call(ctx, http.MethodPost); err != nil {
		return err
	}
	logf("uninstall started at %s", u.SchedulerURL)
	poll := u.Poll
	if poll <= 0 {
		poll = 2 * time.Second
	}
	unreachable := u.Unreachable
	if unreachable <= 0 {
		unreachable = 30 * time.Second
	}
	var last, answer string
	lastAnswer := time.Now()
	for {
		st, err := u.call(ctx, http.MethodGet)
		if err == nil && st.Done {
			logf("uninstall done")
			return nil
		}
		now := strings.TrimSpace(string(st.Raw))
		if err != nil {
			now = err.Error()
			var netErr net.Error
			if errors.As(err, &netErr) {
				if time.Since(lastAnswer) > unreachable {
					return fmt.Errorf("the scheduler stopped answering (%v) before it reported the uninstall done; its last answer: %s", err, answer)
				}
			}
		} else {
			lastAnswer, answer = time.Now(), now
		}
		if now != last {
			logf("uninstalling: %s", now)
			last = now
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("uninstall not done after %v (last: %s)", timeout, last)
		case <-time.After(poll):
		}
	}
}

// SchedulerBase checks a scheduler URL given by a user.
func SchedulerBase(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("scheduler URL %q: want http(s)://host[:port][/path]", raw)
	}
	return strings.TrimRight(raw, "/"), nil
}
