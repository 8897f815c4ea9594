package supervision_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/arangomesos/arangomesos/internal/testharness"
)

// The fault suite: clients read, write and compare-and-set (If-Match) a few
// keys through the coordinators, and an appender inserts unique documents,
// while a nemesis kills (-9), pauses (SIGSTOP) and restarts DBServers and
// agents. The history of the key operations must be linearizable (checked
// with porcupine), and every acknowledged insert must be there at the end.
// ARANGOMESOS_CHAOS_ROUNDS sets the nemesis rounds (make chaos runs many).

// kvInput is one key operation.
type kvInput struct {
	Op    string // "read", "write", "cas"
	Key   string
	Value string
	IfRev string // cas
}

// kvOutput is its answer. Unknown marks a write whose answer was lost: it
// may or may not have happened.
type kvOutput struct {
	OK      bool // read found it, write/cas applied
	Value   string
	Rev     string
	Unknown bool
}

// regState is a register: the key's value and revision ("" when a write
// with a lost answer may have changed it to a revision nobody saw yet).
type regState struct {
	Value string
	Rev   string
}

var kvModel = porcupine.NondeterministicModel{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		by := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range h {
			k := op.Input.(kvInput).Key
			if _, ok := by[k]; !ok {
				keys = append(keys, k)
			}
			by[k] = append(by[k], op)
		}
		var out [][]porcupine.Operation
		for _, k := range keys {
			out = append(out, by[k])
		}
		return out
	},
	Init: func() []any { return []any{regState{Value: "init", Rev: ""}} },
	Step: func(state, input, output any) []any {
		s, in, out := state.(regState), input.(kvInput), output.(kvOutput)
		switch in.Op {
		case "read":
			if out.Value != s.Value || (s.Rev != "" && out.Rev != s.Rev) {
				return nil
			}
			return []any{regState{Value: s.Value, Rev: out.Rev}}
		case "write":
			if out.Unknown {
				return []any{s, regState{Value: in.Value}}
			}
			return []any{regState{Value: in.Value, Rev: out.Rev}}
		case "cas":
			switch {
			case out.Unknown:
				if s.Rev == "" || s.Rev == in.IfRev {
					return []any{s, regState{Value: in.Value}}
				}
				return []any{s}
			case out.OK:
				if s.Rev != "" && s.Rev != in.IfRev {
					return nil
				}
				return []any{regState{Value: in.Value, Rev: out.Rev}}
			default: // 412: the revision did not match
				if s.Rev == in.IfRev {
					return nil
				}
				return []any{s}
			}
		}
		return nil
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(kvInput), output.(kvOutput)
		return fmt.Sprintf("%s(%s %s %s) → ok=%v %s %s unknown=%v", in.Op, in.Key, in.Value, in.IfRev, out.OK, out.Value, out.Rev, out.Unknown)
	},
}

// chaosClient talks to the coordinators as root with plain HTTP, so it sees
// every status code and header.
type chaosClient struct {
	urls     []string
	password string
	http     *http.Client
}

func (c *chaosClient) do(ctx context.Context, method, path string, body any, hdr map[string]string) (int, map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	url := c.urls[rand.Intn(len(c.urls))] + path
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	req.SetBasicAuth("root", c.password)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m, nil
}

type history struct {
	mu    sync.Mutex
	ops   []porcupine.Operation
	start time.Time
}

func (h *history) now() int64 { return time.Since(h.start).Nanoseconds() }

func (h *history) add(client int, in kvInput, out kvOutput, call, ret int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Output: out, Call: call, Return: ret})
}

// keyClient runs random operations on the keys until ctx ends.
func keyClient(ctx context.Context, id int, c *chaosClient, keys []string, h *history) {
	r := rand.New(rand.NewSource(int64(id) + time.Now().UnixNano()))
	lastRev := map[string]string{}
	for seq := 0; ctx.Err() == nil; seq++ {
		key := keys[r.Intn(len(keys))]
		value := fmt.Sprintf("c%d-%d", id, seq)
		in := kvInput{Key: key, Value: value}
		call := h.now()
		switch p := r.Intn(4); {
		case p < 2:
			in.Op = "read"
			code, body, err := c.do(ctx, http.MethodGet, "/_api/document/chaos/"+key, nil, nil)
			if err != nil || code != 200 {
				continue // a failed read changes nothing: leave it out
			}
			out := kvOutput{OK: true, Value: fmt.Sprint(body["v"]), Rev: fmt.Sprint(body["_rev"])}
			lastRev[key] = out.Rev
			h.add(id, in, out, call, h.now())
		case p == 2 || lastRev[key] == "":
			in.Op = "write"
			code, body, err := c.do(ctx, http.MethodPut, "/_api/document/chaos/"+key, map[string]any{"v": value}, nil)
			h.add(id, in, writeOutcome(code, body, err), call, h.now())
		default:
			in.Op, in.IfRev = "cas", lastRev[key]
			code, body, err := c.do(ctx, http.MethodPut, "/_api/document/chaos/"+key, map[string]any{"v": value},
				map[string]string{"If-Match": in.IfRev})
			h.add(id, in, writeOutcome(code, body, err), call, h.now())
		}
	}
}

// writeOutcome classifies a write's answer: applied (with its new
// revision), refused by If-Match (412), or unknown.
func writeOutcome(code int, body map[string]any, err error) kvOutput {
	switch {
	case err == nil && (code == 201 || code == 202):
		return kvOutput{OK: true, Rev: fmt.Sprint(body["_rev"])}
	case err == nil && code == 412:
		return kvOutput{OK: false}
	default:
		return kvOutput{Unknown: true}
	}
}

// appender inserts unique documents and remembers the acknowledged ones.
func appender(ctx context.Context, c *chaosClient, acked *sync.Map) {
	for i := 0; ctx.Err() == nil; i++ {
		key := "a" + strconv.Itoa(i)
		code, _, err := c.do(ctx, http.MethodPost, "/_api/document/appended", map[string]any{"_key": key}, nil)
		if err == nil && (code == 201 || code == 202) {
			acked.Store(key, true)
		}
	}
}

func chaosRounds() int {
	if n, err := strconv.Atoi(os.Getenv("ARANGOMESOS_CHAOS_ROUNDS")); err == nil && n > 0 {
		return n
	}
	return 4
}

func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes")
	}
	fast := []string{"--agency.supervision-ok-threshold", "2s", "--agency.supervision-grace-period", "4s"}
	c := testharness.StartCluster(t, testharness.ClusterOptions{DBServers: 3, Coordinators: 2, AgentArgs: fast})
	cc := &chaosClient{urls: []string{c.Coordinator(0), c.Coordinator(1)}, password: c.RootPassword,
		http: &http.Client{Timeout: 60 * time.Second}}
	keys := []string{"a", "b", "c", "d", "e"}
	createCollection(t, c, "chaos", 3, 2, 0)
	createCollection(t, c, "appended", 3, 2, 0)
	for _, k := range keys {
		if code, _, err := cc.do(context.Background(), http.MethodPost, "/_api/document/chaos", map[string]any{"_key": k, "v": "init"}, nil); err != nil || code >= 300 {
			t.Fatalf("seed %s: %d %v", k, code, err)
		}
	}
	h := &history{start: time.Now()}
	var acked sync.Map
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(i int) { defer wg.Done(); keyClient(ctx, i, cc, keys, h) }(i)
	}
	wg.Add(1)
	go func() { defer wg.Done(); appender(ctx, cc, &acked) }()

	r := rand.New(rand.NewSource(time.Now().UnixNano()))
	for round := 0; round < chaosRounds(); round++ {
		var victim *testharness.Node
		kind := r.Intn(4)
		if kind == 3 {
			victim = c.Agents[r.Intn(len(c.Agents))]
		} else {
			victim = c.DBServers[r.Intn(len(c.DBServers))]
		}
		down := time.Duration(2+r.Intn(8)) * time.Second
		switch kind {
		case 0, 3:
			t.Logf("round %d: kill -9 %s for %v", round, victim.ID, down)
			victim.Kill()
			time.Sleep(down) // the fault lasts this long, by design
			victim.Restart()
		case 1:
			t.Logf("round %d: SIGSTOP %s for %v", round, victim.ID, down)
			victim.Pause()
			time.Sleep(down) // the fault lasts this long, by design
			victim.Resume()
		case 2:
			t.Logf("round %d: restart %s (SIGTERM)", round, victim.ID)
			victim.Stop(20 * time.Second)
			victim.Restart()
		}
		// Heal before the next fault: every copy back in sync.
		c.WaitAgencyLeader()
		c.WaitInSync("_system", "chaos", 3*time.Minute)
		c.WaitInSync("_system", "appended", 3*time.Minute)
	}
	stop()
	wg.Wait()

	// Unknown outcomes may have taken effect any time after their call.
	end := h.now()
	for i := range h.ops {
		if h.ops[i].Output.(kvOutput).Unknown {
			h.ops[i].Return = end + 1
		}
	}
	t.Logf("%d key operations checked", len(h.ops))
	res, info := porcupine.CheckOperationsVerbose(kvModel.ToModel(), h.ops, 3*time.Minute)
	switch res {
	case porcupine.Illegal:
		file := filepath.Join(t.TempDir(), "history.html")
		if f, err := os.Create(file); err == nil {
			_ = porcupine.Visualize(kvModel.ToModel(), info, f)
			f.Close()
		}
		t.Fatalf("the history is not linearizable; see %s", file)
	case porcupine.Unknown:
		t.Logf("the linearizability check timed out; history of %d operations", len(h.ops))
	}

	// Every acknowledged insert survived.
	var missing []string
	acked.Range(func(k, _ any) bool {
		code, _, err := cc.do(context.Background(), http.MethodGet, "/_api/document/appended/"+k.(string), nil, nil)
		if err != nil || code != 200 {
			missing = append(missing, fmt.Sprintf("%s (%d %v)", k, code, err))
		}
		return true
	})
	if len(missing) > 0 {
		t.Fatalf("%d acknowledged inserts are lost: %v", len(missing), missing[:min(len(missing), 10)])
	}
	n := 0
	acked.Range(func(_, _ any) bool { n++; return true })
	t.Logf("%d acknowledged inserts, all present", n)
}
