package mesoslocal

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// mesosDNSState is modelled on Mesos-DNS's state.State: what DNS tooling
// reads from the master.
type mesosDNSState struct {
	Leader     string `json:"leader"`
	Frameworks []struct {
		Name  string `json:"name"`
		Tasks []struct {
			ID        string         `json:"id"`
			Name      string         `json:"name"`
			SlaveID   string         `json:"slave_id"`
			State     string         `json:"state"`
			Resources map[string]any `json:"resources"`
			Statuses  []struct {
				State     string  `json:"state"`
				Timestamp float64 `json:"timestamp"`
			} `json:"statuses"`
		} `json:"tasks"`
	} `json:"frameworks"`
	Slaves []struct {
		ID         string         `json:"id"`
		Hostname   string         `json:"hostname"`
		PID        string         `json:"pid"`
		Attributes map[string]any `json:"attributes"`
		Resources  map[string]any `json:"resources"`
	} `json:"slaves"`
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// S-8: state endpoints, redirect, health, version, metrics, the HTML page.
func TestOperatorEndpoints(t *testing.T) {
	c := startCluster(t, Config{Standbys: 1, Agents: []AgentSpec{
		{Name: "a1", Attributes: "rack:r1;zone:a;weight:3", Resources: "cpus:2;mem:1024;disk:100"},
		{Name: "a2", Attributes: "rack:r2"},
	}})
	s := subscribe(t, c, frameworkInfo("dns-me"), mediaJSON)
	runTask(t, s, "web", execInfo(t, "e1"))
	var bodies []string
	for _, p := range []string{"/master/state", "/state", "/master/state.json", "/state.json"} {
		resp, body := get(t, c.MasterURL()+p)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d %s", p, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		var st mesosDNSState
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if !strings.HasPrefix(st.Leader, "master@127.0.0.1:") || len(st.Slaves) != 2 || len(st.Frameworks) != 1 {
			t.Fatalf("%s: %+v", p, st)
		}
		task := st.Frameworks[0].Tasks[0]
		if task.State != "TASK_RUNNING" || task.Resources["cpus"] != 0.5 || len(task.Statuses) == 0 {
			t.Fatalf("task %+v", task)
		}
		for _, sl := range st.Slaves {
			host, _, err := net.SplitHostPort(strings.TrimPrefix(sl.PID, "slave(1)@"))
			if err != nil || host != sl.Hostname {
				t.Fatalf("slave pid %q hostname %q", sl.PID, sl.Hostname)
			}
			if sl.Hostname == "127.0.1.1" && (sl.Attributes["rack"] != "r1" || sl.Attributes["weight"] != 3.0 || sl.Resources["cpus"] != 2.0) {
				t.Fatalf("config does not round-trip: %+v", sl)
			}
			if sl.Hostname == "127.0.1.2" && sl.Resources["ports"] != "[32000-32999]" {
				t.Fatalf("default ports %v", sl.Resources["ports"])
			}
		}
		bodies = append(bodies, body)
	}
	if resp, body := get(t, c.MasterURL()+"/master/state?jsonp=cb"); resp.StatusCode != 200 || !strings.HasPrefix(body, "cb({") {
		t.Fatalf("jsonp: %d %.20s", resp.StatusCode, body)
	}
	for _, p := range []string{"/redirect", "/master/redirect"} {
		resp, _ := get(t, c.MasterURL()+p)
		if resp.StatusCode != 307 || resp.Header.Get("Location") != "//"+strings.TrimPrefix(c.MasterURL(), "http://") {
			t.Fatalf("%s: %d %q", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	sb := c.StandbyURLs()[0]
	if resp, _ := get(t, sb+"/api/v1/scheduler?x=1"); resp.StatusCode != 307 ||
		resp.Header.Get("Location") != "//"+strings.TrimPrefix(c.MasterURL(), "http://")+"/api/v1/scheduler?x=1" {
		t.Fatalf("standby: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := get(t, c.MasterURL()+"/redirect/x"); resp.StatusCode != 404 {
		t.Fatalf("redirect sub-path: %d", resp.StatusCode)
	}
	if resp, _ := get(t, c.MasterURL()+"/health"); resp.StatusCode != 200 {
		t.Fatal("health")
	}
	if _, body := get(t, c.MasterURL()+"/version"); !strings.Contains(body, `"version":"`+Version+`"`) {
		t.Fatalf("version %s", body)
	}
	if _, body := get(t, c.MasterURL()+"/metrics/snapshot"); !strings.Contains(body, `"master/tasks_running":1`) {
		t.Fatalf("metrics %s", body)
	}
	if resp, body := get(t, c.MasterURL()+"/"); resp.StatusCode != 200 || !strings.Contains(body, "web") {
		t.Fatalf("index: %d", resp.StatusCode)
	}
}

// S-9: the control API.
func TestControlAPI(t *testing.T) {
	c := startCluster(t, Config{AgentCount: 1})
	post := func(path, body string) (int, string) {
		resp, err := http.Post(c.MasterURL()+"/sim/v1"+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	_, body := get(t, c.MasterURL()+"/sim/v1/agents")
	var agents []AgentInfo
	if err := json.Unmarshal([]byte(body), &agents); err != nil || len(agents) != 1 || agents[0].Link != "connected" {
		t.Fatalf("agents: %s %v", body, err)
	}
	if code, body := post("/agents/add", `{"name":"extra","resources":"cpus:1;mem:512"}`); code != 200 || !strings.Contains(body, `"name":"extra"`) {
		t.Fatalf("add: %d %s", code, body)
	}
	if _, err := c.WaitUntil(testCtx(t, 10*time.Second), func(st State) bool { return len(st.Agents) == 2 }); err != nil {
		t.Fatal(err)
	}
	if code, body := post("/agents/extra/partition", ""); code != 200 {
		t.Fatal("partition", code, body)
	}
	if code, _ := post("/agents/extra/partition", ""); code != 200 {
		t.Fatal("partition twice", code) // already partitioned: still a partition
	}
	if code, body := post("/agents/extra/heal", ""); code != 200 {
		t.Fatal("heal", code, body)
	}
	if code, _ := post("/agents/extra/heal", ""); code != 409 {
		t.Fatal("heal twice", code)
	}
	if code, _ := post("/agents/nope/kill", ""); code != 404 {
		t.Fatal("unknown agent", code)
	}
	if code, _ := post("/agents/extra/explode", ""); code != 404 {
		t.Fatal("unknown fault", code)
	}
	if code, body := post("/agents/extra/kill", ""); code != 200 {
		t.Fatal("kill", code, body)
	}
	if code, body := post("/agents/extra/restart", ""); code != 200 {
		t.Fatal("restart", code, body)
	}
	if code, body := post("/agents/extra/reboot", ""); code != 200 {
		t.Fatal("reboot", code, body)
	}
	s := subscribe(t, c, frameworkInfo("ctl"), mediaJSON)
	if code, _ := post("/frameworks/"+s.fid+"/disconnect", ""); code != 200 {
		t.Fatal("disconnect", code)
	}
	if !s.streamEnded(10 * time.Second) {
		t.Fatal("stream still open")
	}
	if code, _ := post("/frameworks/nope/disconnect", ""); code != 404 {
		t.Fatal("disconnect unknown", code)
	}
	if code, _ := post("/agents/add", `{"name":"bad","resources":"cpus:x"}`); code != 400 {
		t.Fatal("bad spec", code)
	}
}
