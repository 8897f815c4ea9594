package scheduler

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// APIError is an error with an HTTP status; the API answers it as
// {"error": message, "code": status}.
type APIError struct {
	Code    int
	Message string
}

func (e *APIError) Error() string { return e.Message }

func apiErr(code int, format string, args ...any) *APIError {
	return &APIError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Handler returns the scheduler's HTTP handler: the /v1 REST API, /metrics
// and the web UI.
func (s *Scheduler) Handler() http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	e.GET("/v1/health", s.getHealth)
	e.GET("/v1/artifacts/arangomesos", s.getArtifact)
	e.GET("/metrics", echo.WrapHandler(s.metricsHandler()))
	v1 := e.Group("/v1", s.authenticate)
	v1.GET("/state", s.getState)
	v1.GET("/endpoints", s.getEndpoints)
	v1.GET("/members", s.getMembers)
	v1.GET("/members/:name", s.getMember)
	v1.POST("/members/:name/restart", s.postRestart)
	v1.POST("/members/:name/replace", s.postReplace)
	v1.PUT("/scale", s.putScale)
	v1.POST("/scale/:role/:dir", s.postScaleStep)
	v1.GET("/autoscale", s.getAutoscale)
	v1.PUT("/autoscale", s.putAutoscale)
	v1.POST("/rebalance", s.postRebalance)
	v1.GET("/shards", s.getShards)
	v1.GET("/events", s.getEvents)
	v1.GET("/uninstall", s.getUninstall)
	v1.POST("/uninstall", s.postUninstall)
	s.mountUI(e)
	return e
}

// errorHandler is the one place where API errors become HTTP answers.
func (s *Scheduler) errorHandler(err error, c echo.Context) {
	code, msg := http.StatusInternalServerError, err.Error()
	var ae *APIError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ae):
		code, msg = ae.Code, ae.Message
	case errors.As(err, &he):
		code, msg = he.Code, fmt.Sprint(he.Message)
	case errors.Is(err, ErrUninstalling):
		code = http.StatusConflict
	}
	if code >= 500 {
		s.log.Error("api", "path", c.Path(), "err", err)
	}
	if !c.Response().Committed {
		_ = c.JSON(code, map[string]any{"error": msg, "code": code})
	}
}

// authenticate accepts "Authorization: Bearer <token>" or basic auth with
// the token as password.
func (s *Scheduler) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		s.mu.Lock()
		token := s.st.APIToken
		s.mu.Unlock()
		got := ""
		h := c.Request().Header.Get("Authorization")
		if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
			got = strings.TrimSpace(h[7:])
		} else if _, pw, ok := c.Request().BasicAuth(); ok {
			got = pw
		} else if t := c.QueryParam("token"); t != "" && c.Request().Method == http.MethodGet {
			got = t // EventSource cannot set headers
		}
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="arangomesos"`)
			return apiErr(http.StatusUnauthorized, "authentication required: a bearer token (or basic auth with the token as password)")
		}
		return next(c)
	}
}

// Status returns the current health.
func (s *Scheduler) Status() Health {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ComputeHealth(s.st, s.view, s.waiting, s.subscribed)
}

func (s *Scheduler) getHealth(c echo.Context) error {
	h := s.Status()
	return c.JSON(h.Code, h)
}

func (s *Scheduler) getArtifact(c echo.Context) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	f, err := os.Open(exe)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(c.Response(), c.Request(), "arangomesos", st.ModTime(), f)
	return nil
}

// MemberView is a member as the API shows it.
type MemberView struct {
	Name          string    `json:"name"`
	Role          string    `json:"role"`
	ServerID      string    `json:"serverId"`
	Host          string    `json:"host,omitempty"`
	Port          int       `json:"port,omitempty"`
	Endpoint      string    `json:"endpoint,omitempty"`
	AgentID       string    `json:"agentId,omitempty"`
	TaskID        string    `json:"taskId,omitempty"`
	TaskState     string    `json:"taskState,omitempty"`
	Healthy       *bool     `json:"healthy,omitempty"`
	Health        string    `json:"health,omitempty"`
	Phase         string    `json:"phase"`
	Restarts      int       `json:"restarts"`
	RunningSince  time.Time `json:"runningSince,omitempty"`
	UptimeSeconds float64   `json:"uptimeSeconds"`
	Waiting       string    `json:"waiting,omitempty"`
	Message       string    `json:"message,omitempty"`
	Retired       string    `json:"retired,omitempty"`
	Volume        string    `json:"volume,omitempty"`
}

func (s *Scheduler) memberView(m *Member, retired bool) MemberView {
	v := MemberView{Name: m.Name, Role: roleName(m.Role), ServerID: m.ServerID, Host: m.Hostname, Port: m.Port,
		Endpoint: m.Endpoint(), AgentID: m.AgentID, TaskID: m.TaskID, TaskState: m.TaskState, Healthy: m.Healthy,
		Phase: m.Phase, Restarts: m.Restarts, Waiting: s.waiting[m.Name], Message: m.LastMessage, Volume: m.PersistenceID}
	if rec, ok := s.view.Health[m.ServerID]; ok {
		v.Health = rec.Status
	} else if m.Role == cluster.RoleAgent && s.view.Pool != nil && s.view.Pool[m.ServerID] != "" && m.Running() {
		v.Health = cluster.StatusGood
	}
	if m.Running() && !m.RunningSince.IsZero() {
		v.RunningSince = m.RunningSince
		v.UptimeSeconds = time.Since(m.RunningSince).Seconds()
	}
	if retired {
		v.Retired = m.ReplaceReason
	}
	return v
}

// StateView is the answer of GET /v1/state.
type StateView struct {
	FrameworkID   string       `json:"frameworkId"`
	FrameworkName string       `json:"frameworkName"`
	Targets       Targets      `json:"targets"`
	Health        Health       `json:"health"`
	Members       []MemberView `json:"members"`
	Retired       []MemberView `json:"retired"`
	Uninstalling  bool         `json:"uninstalling"`
}

// State returns the API's view of the state.
func (s *Scheduler) State() StateView {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := StateView{FrameworkID: s.st.FrameworkID, FrameworkName: s.st.FrameworkName, Targets: s.st.Targets,
		Health: ComputeHealth(s.st, s.view, s.waiting, s.subscribed), Members: []MemberView{}, Retired: []MemberView{},
		Uninstalling: s.st.Uninstalling}
	for _, m := range s.st.Sorted("") {
		v.Members = append(v.Members, s.memberView(m, false))
	}
	for _, m := range s.st.Retired {
		v.Retired = append(v.Retired, s.memberView(m, true))
	}
	return v
}

func (s *Scheduler) getState(c echo.Context) error { return c.JSON(http.StatusOK, s.State()) }

// Endpoints are the addresses of the running members, by role.
type Endpoints struct {
	Coordinators []string `json:"coordinators"`
	DBServers    []string `json:"dbservers"`
	Agents       []string `json:"agents"`
}

// Endpoints returns the http:// addresses of the running members.
func (s *Scheduler) Endpoints() Endpoints {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Endpoints{Coordinators: []string{}, DBServers: []string{}, Agents: []string{}}
	for _, m := range s.st.Sorted("") {
		if !m.Running() {
			continue
		}
		u := "http://" + strings.TrimPrefix(m.Endpoint(), "tcp://")
		switch m.Role {
		case cluster.RoleCoordinator:
			out.Coordinators = append(out.Coordinators, u)
		case cluster.RoleDBServer:
			out.DBServers = append(out.DBServers, u)
		default:
			out.Agents = append(out.Agents, u)
		}
	}
	return out
}

func (s *Scheduler) getEndpoints(c echo.Context) error { return c.JSON(http.StatusOK, s.Endpoints()) }

func (s *Scheduler) getMembers(c echo.Context) error { return c.JSON(http.StatusOK, s.State().Members) }

func (s *Scheduler) getMember(c echo.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.st.Members[c.Param("name")]
	if m == nil {
		return apiErr(http.StatusNotFound, "no member %q", c.Param("name"))
	}
	return c.JSON(http.StatusOK, s.memberView(m, false))
}

// RestartMember restarts a member's task in place: same host, same data,
// same id.
func (s *Scheduler) RestartMember(name string) error {
	s.mu.Lock()
	m := s.st.Members[name]
	switch {
	case s.st.Uninstalling:
		s.mu.Unlock()
		return ErrUninstalling
	case m == nil:
		s.mu.Unlock()
		return apiErr(http.StatusNotFound, "no member %q", name)
	case !m.Running():
		s.mu.Unlock()
		return apiErr(http.StatusConflict, "%s is not running (%s); it is relaunched by itself", name, m.Phase)
	}
	m.Failures = 0
	taskID, agentID := m.TaskID, m.AgentID
	s.record(Event{Kind: EventKill, Member: name, Message: "restart of " + name + " asked by the operator"})
	s.mu.Unlock()
	return s.killTask(contextBackground(), taskID, agentID)
}

// ReplaceMember replaces a member elsewhere: a new server id and a fresh
// volume on another host if there is one; the old incarnation is stopped and
// removed from the cluster, and its data re-replicated by the supervision.
// It fails with a 409 when ReplaceRefusal says the replacement would lose
// data or the Agency's quorum, unless force is set (the operator accepts
// the loss, e.g. the only copy's host is gone for good).
func (s *Scheduler) ReplaceMember(name string, force bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.st.Members[name]
	if s.st.Uninstalling {
		return ErrUninstalling
	}
	if m == nil {
		return apiErr(http.StatusNotFound, "no member %q", name)
	}
	why := ReplaceRefusal(s.st, s.view, m)
	if why != "" && !force {
		return apiErr(http.StatusConflict, "replace %s refused: %s (add ?force=true to replace it anyway)", name, why)
	}
	old, host := m.ServerID, m.Hostname
	if err := s.st.Retire(m, "replaced by the operator", true); err != nil {
		return err
	}
	m.AvoidHost, m.AvoidUntil = host, time.Now().Add(avoidHostFor)
	msg := fmt.Sprintf("replacing %s (%s) with %s, asked by the operator", name, old, m.ServerID)
	if why != "" {
		msg += "; forced although " + why
	}
	s.record(Event{Kind: EventReplace, Member: name, Message: msg})
	s.Kick()
	return s.store.Save(contextBackground(), s.st)
}

// avoidHostFor is how long an operator's replacement waits for a host other
// than its predecessor's.
const avoidHostFor = time.Minute

func (s *Scheduler) postRestart(c echo.Context) error {
	if err := s.RestartMember(c.Param("name")); err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]any{"member": c.Param("name"), "action": "restart"})
}

func (s *Scheduler) postReplace(c echo.Context) error {
	force := false
	if f := c.QueryParam("force"); f != "" {
		var err error
		if force, err = strconv.ParseBool(f); err != nil {
			return apiErr(http.StatusBadRequest, "force must be true or false, not %q", f)
		}
	}
	if err := s.ReplaceMember(c.Param("name"), force); err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]any{"member": c.Param("name"), "action": "replace"})
}

// scaleRequest is the body of PUT /v1/scale; absent roles keep their count.
type scaleRequest struct {
	Coordinators *json.Number `json:"coordinators"`
	DBServers    *json.Number `json:"dbservers"`
	Agents       *json.Number `json:"agents"`
}

func (s *Scheduler) putScale(c echo.Context) error {
	var req scaleRequest
	if err := decodeBody(c, &req); err != nil {
		return err
	}
	want := map[string]int{}
	for name, n := range map[string]*json.Number{"coordinators": req.Coordinators, "dbservers": req.DBServers, "agents": req.Agents} {
		if n == nil {
			continue
		}
		v, err := strconv.Atoi(n.String())
		if err != nil {
			return apiErr(http.StatusBadRequest, "%s must be a whole number, got %s", name, n.String())
		}
		want[name] = v
	}
	if len(want) == 0 {
		return apiErr(http.StatusBadRequest, "give at least one of coordinators, dbservers, agents")
	}
	t, err := s.Scale(c.Request().Context(), want, "the REST API")
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, t)
}

func (s *Scheduler) postScaleStep(c echo.Context) error {
	role, dir := c.Param("role"), c.Param("dir")
	step := map[string]int{"up": 1, "down": -1}[dir]
	if step == 0 {
		return apiErr(http.StatusBadRequest, "direction must be up or down, got %q", dir)
	}
	if role != "coordinators" && role != "dbservers" && role != "agents" {
		return apiErr(http.StatusBadRequest, "unknown role %q: coordinators, dbservers or agents", role)
	}
	t, err := s.ScaleStep(c.Request().Context(), role, step, "the REST API")
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, t)
}

func (s *Scheduler) getAutoscale(c echo.Context) error {
	return c.JSON(http.StatusOK, s.AutoscaleStatus())
}

func (s *Scheduler) putAutoscale(c echo.Context) error {
	var p Policy
	if err := decodeBody(c, &p); err != nil {
		return err
	}
	if err := s.SetPolicy(c.Request().Context(), p); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"policy": p})
}

func (s *Scheduler) postRebalance(c echo.Context) error {
	res, err := s.Rebalance(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, res)
}

// getEvents answers the recent events, or, for "Accept: text/event-stream",
// streams them live as server-sent events.
func (s *Scheduler) getEvents(c echo.Context) error {
	after, _ := strconv.ParseUint(c.QueryParam("after"), 10, 64)
	if !strings.Contains(c.Request().Header.Get("Accept"), "text/event-stream") {
		evs, _ := s.events.Since(after)
		if evs == nil {
			evs = []Event{}
		}
		return c.JSON(http.StatusOK, evs)
	}
	w := c.Response()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	ctx := c.Request().Context()
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	for {
		evs, next := s.events.Since(after)
		for _, e := range evs {
			b, _ := json.Marshal(e)
			fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.Seq, e.Kind, b)
			after = e.Seq
		}
		w.Flush()
		select {
		case <-ctx.Done():
			return nil
		case <-next:
		case <-keepalive.C:
			fmt.Fprint(w, ": keepalive\n\n")
		}
	}
}

func (s *Scheduler) getUninstall(c echo.Context) error {
	return c.JSON(http.StatusOK, s.UninstallStatus())
}

func (s *Scheduler) postUninstall(c echo.Context) error {
	st, err := s.StartUninstall(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, st)
}

// decodeBody parses a JSON body strictly: unknown fields and trailing data
// are errors (400).
func decodeBody(c echo.Context, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, 1<<20))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return apiErr(http.StatusBadRequest, "invalid JSON body: %v", err)
	}
	if dec.More() {
		return apiErr(http.StatusBadRequest, "invalid JSON body: trailing data")
	}
	return nil
}

// APIToken returns the bearer token of the /v1 API.
func (s *Scheduler) APIToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.APIToken
}

// RootPassword returns the database's root password.
func (s *Scheduler) RootPassword() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.RootPassword
}
