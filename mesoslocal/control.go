package mesoslocal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// AgentInfo describes an agent in the control API.
type AgentInfo struct {
	Name     string `json:"name"`
	ID       string `json:"id"`
	Endpoint string `json:"endpoint"`
	Hostname string `json:"hostname"`
	Link     string `json:"link"`
	WorkDir  string `json:"work_dir"`
}

// AgentInfos lists the agents for the control API.
func (c *Cluster) AgentInfos() []AgentInfo {
	var out []AgentInfo
	for _, h := range c.Agents() {
		out = append(out, h.Info())
	}
	return out
}

// Info describes the agent as the control API does.
func (h *Agent) Info() AgentInfo {
	return AgentInfo{Name: h.Name(), ID: h.ID(), Endpoint: h.Endpoint(), Hostname: h.Hostname(), Link: h.Link(), WorkDir: h.WorkDir()}
}

// DisconnectFramework closes a framework's subscription stream, as if the
// scheduler crashed; its failover timer starts. It fails with
// ErrUnknownFramework when the framework is not subscribed.
func (c *Cluster) DisconnectFramework(id string) error {
	m := c.master
	m.mu.Lock()
	defer m.mu.Unlock()
	fw := m.frameworks[id]
	if fw == nil || fw.sub == nil {
		return fmt.Errorf("disconnect %s: %w", id, ErrUnknownFramework)
	}
	m.disconnectFrameworkLocked(fw)
	m.notifyLocked()
	return nil
}

// controlHandler is the control API under /sim/v1:
//
//	GET  /agents                      list agents
//	POST /agents/add                  body: AgentSpec JSON (optional)
//	POST /agents/{name}/kill|partition|heal|restart|reboot|gone
//	POST /frameworks/{id}/disconnect
//
// Answers are JSON; errors are {"error": "..."} with 404 for unknown
// names and 409 for a fault the agent's state does not allow.
func (c *Cluster) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /agents", func(w http.ResponseWriter, _ *http.Request) {
		writeControl(w, http.StatusOK, c.AgentInfos())
	})
	mux.HandleFunc("POST /agents/add", func(w http.ResponseWriter, r *http.Request) {
		var spec AgentSpec
		if r.ContentLength != 0 {
			if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&spec); err != nil {
				writeControl(w, http.StatusBadRequest, map[string]string{"error": "bad agent spec: " + err.Error()})
				return
			}
		}
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		h, err := c.AddAgent(ctx, spec)
		if err != nil {
			writeControl(w, controlStatus(err), map[string]string{"error": err.Error()})
			return
		}
		writeControl(w, http.StatusOK, h.Info())
	})
	mux.HandleFunc("POST /agents/{name}/{fault}", func(w http.ResponseWriter, r *http.Request) {
		h := c.Agent(r.PathValue("name"))
		if h == nil {
			writeControl(w, http.StatusNotFound, map[string]string{"error": ErrUnknownAgent.Error()})
			return
		}
		var err error
		switch r.PathValue("fault") {
		case "kill":
			err = h.Kill()
		case "partition":
			err = h.Partition()
		case "heal":
			err = h.Heal()
		case "restart":
			err = h.Restart()
		case "reboot":
			err = h.Reboot()
		case "gone":
			err = h.MarkGone()
		default:
			writeControl(w, http.StatusNotFound, map[string]string{"error": "unknown fault " + r.PathValue("fault")})
			return
		}
		if err != nil {
			writeControl(w, controlStatus(err), map[string]string{"error": err.Error()})
			return
		}
		writeControl(w, http.StatusOK, h.Info())
	})
	mux.HandleFunc("POST /frameworks/{id}/disconnect", func(w http.ResponseWriter, r *http.Request) {
		if err := c.DisconnectFramework(r.PathValue("id")); err != nil {
			writeControl(w, controlStatus(err), map[string]string{"error": err.Error()})
			return
		}
		writeControl(w, http.StatusOK, map[string]string{"disconnected": r.PathValue("id")})
	})
	return mux
}

func controlStatus(err error) int {
	switch {
	case errors.Is(err, ErrUnknownAgent), errors.Is(err, ErrUnknownFramework):
		return http.StatusNotFound
	case errors.Is(err, ErrAgentState):
		return http.StatusConflict
	case errors.Is(err, ErrBadConfig), errors.Is(err, ErrBadResources):
		return http.StatusBadRequest
	case errors.Is(err, ErrClosed):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func writeControl(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
