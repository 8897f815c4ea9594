package webui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/arangodb/go-driver/v2/arangodb"
	"github.com/arangodb/go-driver/v2/arangodb/shared"
	"github.com/chromedp/chromedp"

	"github.com/arangomesos/arangomesos/internal/testharness"
)

func TestMain(m *testing.M) { testharness.Main(m) }

// chromium finds Debian's Chromium; without it the test skips, or fails
// when ARANGOMESOS_REQUIRE_CHROMIUM is set (make test sets it).
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("ARANGOMESOS_REQUIRE_CHROMIUM") != "" {
		t.Fatal("chromium is not installed (scripts/install-test-deps.sh installs it)")
	}
	t.Skip("chromium is not installed")
	return ""
}

// page is one headless Chromium tab on the UI.
type page struct {
	t   *testing.T
	ctx context.Context
	dir string
}

func newPage(t *testing.T) *page {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium(t)), chromedp.Flag("headless", true),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 1800))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return &page{t: t, ctx: ctx, dir: t.TempDir()}
}

// run runs browser actions with a bound.
func (p *page) run(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.screenshot("failed")
		p.t.Fatal(err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](p *page, js string) (T, error) {
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](js))
}

// text returns the text of the first element matching sel, "" if none.
func (p *page) text(sel string) string {
	s, _ := eval[string](p, fmt.Sprintf(`(document.querySelector(%q)||{}).textContent||""`, sel))
	return s
}

// value returns the value of the input matching sel.
func (p *page) value(sel string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatal(err)
	}
	return v
}

// waitText waits until the element's text contains want.
func (p *page) waitText(timeout time.Duration, sel, want string) {
	p.t.Helper()
	testharness.Eventually(p.t, timeout, func() error {
		if got := p.text(sel); !strings.Contains(got, want) {
			return fmt.Errorf("%s shows %q, want %q", sel, got, want)
		}
		return nil
	})
}

func (p *page) screenshot(name string) string {
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return ""
	}
	path := filepath.Join(p.dir, name+".png")
	_ = os.WriteFile(path, buf, 0o644)
	// The temp dirs go with the test; ARANGOMESOS_SCREENSHOT_DIR keeps a
	// copy (for CI artifacts, or to look at a failure).
	if dir := os.Getenv("ARANGOMESOS_SCREENSHOT_DIR"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err == nil {
			_ = os.WriteFile(filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(p.t.Name())+"-"+name+".png"), buf, 0o644)
		}
	}
	return path
}

// TestWebUI drives the UI in headless Chromium against one real dev
// cluster, behind a reverse proxy that serves it under
// /service/arangomesos/ as the DC/OS admin router does. The subtests share
// the cluster and the browser tab and run in order; each saves a
// screenshot under its temp dir.
func TestWebUI(t *testing.T) {
	chromium(t)
	// Registered before StartDev, so it runs after StartDev's cleanup has
	// stopped arangomesos dev: nothing of the cluster may be left.
	var devDir string
	t.Cleanup(func() {
		if devDir == "" {
			return
		}
		if left := testharness.ProcessesUnder(devDir); len(left) > 0 {
			t.Errorf("processes left running under %s: %v", devDir, left)
			testharness.KillProcesses(left)
		}
		if _, err := os.Stat(devDir); !os.IsNotExist(err) {
			t.Errorf("arangomesos dev left %s behind (%v)", devDir, err)
		}
	})
	dev := testharness.StartDev(t, 2*time.Minute, "--agents", "4")
	devDir = dev.Dir
	info := dev.Info
	target, _ := url.Parse(info.Scheduler)
	const prefix = "/service/arangomesos"
	var outside []string // requests the page made outside the prefix
	var mu sync.Mutex
	strip := http.StripPrefix(prefix, httputil.NewSingleHostReverseProxy(target))
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, prefix+"/") && r.URL.Path != "/favicon.ico" {
			mu.Lock()
			outside = append(outside, r.URL.Path)
			mu.Unlock()
		}
		strip.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	base := proxy.URL + prefix + "/"
	p := newPage(t)
	step := func(name string, f func(t *testing.T)) bool {
		return t.Run(name, func(t *testing.T) {
			p.t = t
			p.dir = t.TempDir()
			defer func() { p.t = t; t.Logf("screenshot: %s", p.screenshot(name)) }()
			f(t)
		})
	}
	row := func(name string) string { return p.text(fmt.Sprintf(`tr[data-member=%q]`, name)) }
	cell := func(name string, col int) string {
		return p.text(fmt.Sprintf(`tr[data-member=%q] td:nth-child(%d)`, name, col))
	}
	// refreshed waits until the page finished n more refreshes.
	refreshed := func(n int) {
		p.t.Helper()
		start, _ := eval[int](p, `Number(document.body.dataset.refreshes || 0)`)
		testharness.Eventually(p.t, 30*time.Second, func() error {
			if got, err := eval[int](p, `Number(document.body.dataset.refreshes || 0)`); err != nil || got < start+n {
				return fmt.Errorf("%d refreshes since %d, want %d (%v)", got-start, start, n, err)
			}
			return nil
		})
	}
	members := func(prefix string) []string {
		// (An empty ^= matches nothing in CSS: filter in JavaScript.)
		names, _ := eval[[]string](p, fmt.Sprintf(`[...document.querySelectorAll("tr[data-member]")].map(r => r.dataset.member).filter(n => n.startsWith(%q))`, prefix))
		return names
	}

	step("a wrong token is refused", func(t *testing.T) {
		p.run(chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS("#token")),
			chromedp.SendKeys(chromedp.CSS("#token"), "wrong"), chromedp.Click(chromedp.CSS(`#login button`)))
		p.waitText(10*time.Second, "#login-error", "refused")
		if hidden, err := eval[bool](p, `document.getElementById("app").hidden`); err != nil || !hidden {
			t.Errorf("the cluster is shown after a refused token (%v)", err)
		}
	})

	signedIn := step("sign in and see every member healthy", func(t *testing.T) {
		if _, err := eval[bool](p, `(document.getElementById("token").value = "", true)`); err != nil {
			t.Fatal(err)
		}
		p.run(chromedp.SendKeys(chromedp.CSS("#token"), info.Token), chromedp.Click(chromedp.CSS(`#login button`)))
		p.waitText(time.Minute, "#health", "healthy (200)")
		testharness.Eventually(t, 30*time.Second, func() error {
			if n := len(members("")); n != 8 {
				return fmt.Errorf("%d member rows, want 8", n)
			}
			for _, m := range members("") {
				if r := row(m); !strings.Contains(r, "TASK_RUNNING") || !strings.Contains(r, "GOOD") {
					return fmt.Errorf("%s: %s", m, r)
				}
			}
			return nil
		})
		for _, role := range []string{"Agents", "DBServers", "Coordinators"} {
			running, healthy, desired := p.text(`[aria-label="`+role+` running"]`), p.text(`[aria-label="`+role+` healthy"]`), p.text(`[aria-label="`+role+` desired"]`)
			if running != desired || healthy != desired {
				t.Errorf("%s: %s running, %s healthy of %s desired", role, running, healthy, desired)
			}
		}
	})

	if !signedIn {
		return // every other step needs the signed-in page
	}

	step("a refresh keeps the focused button and a text selection", func(t *testing.T) {
		// The page refreshes every 2 s; it must update the rows in place,
		// or a keyboard user's focus, a click in progress and a selected
		// server id would be lost at each refresh.
		p.run(chromedp.Focus(chromedp.CSS(`button[aria-label="restart coordinator-2"]`)))
		id, err := eval[string](p, `(() => {
			const td = document.querySelector('tr[data-member="agent-1"] td:nth-child(3)');
			const r = document.createRange(); r.selectNodeContents(td);
			getSelection().removeAllRanges(); getSelection().addRange(r);
			return td.textContent })()`)
		if err != nil || !strings.HasPrefix(id, "AGNT-") {
			t.Fatalf("agent-1's server id cell: %q (%v)", id, err)
		}
		refreshed(2)
		if got, err := eval[string](p, `document.activeElement.getAttribute("aria-label") || document.activeElement.tagName`); err != nil || got != "restart coordinator-2" {
			t.Errorf("after two refreshes the focus is on %q (%v), want the restart button of coordinator-2", got, err)
		}
		if got, err := eval[string](p, `getSelection().toString()`); err != nil || got != id {
			t.Errorf("after two refreshes the selection is %q (%v), want %q", got, err, id)
		}
		_, _ = eval[bool](p, `(document.activeElement.blur(), getSelection().removeAllRanges(), true)`)
	})

	step("shards per collection with their DBServers and load", func(t *testing.T) {
		ctx := testharness.Context(t, time.Minute)
		db, err := testharness.DriverClient(info.Coordinators, "root", info.RootPassword).GetDatabase(ctx, "_system", nil)
		if err != nil {
			t.Fatal(err)
		}
		shards, rf := 3, arangodb.ReplicationFactor(2)
		if _, err := db.CreateCollectionV2(ctx, "films", &arangodb.CreateCollectionPropertiesV2{NumberOfShards: &shards, ReplicationFactor: &rf}); err != nil {
			t.Fatal(err)
		}
		const films = `table[aria-label="shards of films"] tbody`
		testharness.Eventually(t, 30*time.Second, func() error {
			rows, err := eval[int](p, `document.querySelectorAll('`+films+` tr').length`)
			if err != nil || rows != 3 {
				return fmt.Errorf("%d shard rows of films (%v)", rows, err)
			}
			return nil
		})
		p.waitText(30*time.Second, films, "yes")
		// Leaders and followers are shown by member name with their id.
		if got := p.text(films + " tr td:nth-child(2)"); !strings.HasPrefix(got, "dbserver-") || !strings.Contains(got, "PRMR-") {
			t.Errorf("a shard's leader shows as %q", got)
		}
		// 3 shards with 2 copies: 3 leaders and 6 copies over the DBServers.
		testharness.Eventually(t, 10*time.Second, func() error {
			leaders, err := eval[int](p, `[...document.querySelectorAll("#load .card")].reduce((n, c) => n + parseInt((c.textContent.match(/(\d+) leaders?/) || [0, 0])[1]), 0)`)
			if err != nil || leaders < 3 {
				return fmt.Errorf("%d leaders in the load summary (%v)", leaders, err)
			}
			return nil
		})
		// Collections of every database are shown, named database/collection.
		cl := testharness.DriverClient(info.Coordinators, "root", info.RootPassword)
		shop, err := cl.CreateDatabase(ctx, "shop", nil)
		if err != nil {
			t.Fatal(err)
		}
		two := 2
		orders, err := shop.CreateCollectionV2(ctx, "orders", &arangodb.CreateCollectionPropertiesV2{NumberOfShards: &two, ReplicationFactor: &rf})
		if err != nil {
			t.Fatal(err)
		}
		docs := make([]map[string]any, 40)
		for i := range docs {
			docs[i] = map[string]any{"_key": fmt.Sprint("o", i), "total": i}
		}
		if _, err := orders.CreateDocuments(ctx, docs); err != nil {
			t.Fatal(err)
		}
		const shopOrders = `table[aria-label="shards of shop/orders"] tbody`
		testharness.Eventually(t, 30*time.Second, func() error {
			rows, err := eval[int](p, `document.querySelectorAll('`+shopOrders+` tr').length`)
			if err != nil || rows != 2 {
				return fmt.Errorf("%d shard rows of shop/orders (%v)", rows, err)
			}
			return nil
		})
		p.waitText(30*time.Second, "#shard-summary", "2 collections, 5 shards, all in sync")
		// The load summary counts the DBServers' documents (40 orders, two
		// copies each) from their metrics, which the scheduler reads every
		// 10 s.
		testharness.Eventually(t, 45*time.Second, func() error {
			n, err := eval[int](p, `[...document.querySelectorAll("#load .card")].reduce((n, c) => n + parseInt((c.textContent.match(/(\d+) documents?/) || [0, 0])[1]), 0)`)
			if err != nil || n < 80 {
				return fmt.Errorf("%d documents in the load summary, want 80 (%v)", n, err)
			}
			return nil
		})
		// A collection closed by the user stays closed across refreshes.
		const films2 = `details[data-key="_system/films"]`
		p.run(chromedp.Click(chromedp.CSS(films2 + " summary")))
		refreshed(2)
		if open, err := eval[bool](p, `document.querySelector('`+films2+`').open`); err != nil || open {
			t.Errorf("films is open again after two refreshes (%v)", err)
		}
		p.run(chromedp.Click(chromedp.CSS(films2 + " summary")))
		p.run(chromedp.Click(chromedp.CSS("#rebalance")))
		testharness.Eventually(t, 30*time.Second, func() error {
			if got := p.text("#rebalance-message"); got == "" || got == "asking…" {
				return fmt.Errorf("rebalance message %q", got)
			}
			return nil
		})
	})

	step("plus adds a DBServer that shows RUNNING", func(t *testing.T) {
		before := members("dbserver-")
		p.run(chromedp.Click(chromedp.CSS(`button[aria-label="add one dbserver"]`)))
		p.waitText(10*time.Second, `[aria-label="DBServers desired"]`, "4")
		var added string
		testharness.Eventually(t, 30*time.Second, func() error {
			for _, m := range members("dbserver-") {
				if !slices.Contains(before, m) {
					added = m
					return nil
				}
			}
			return fmt.Errorf("no new DBServer row yet (had %v)", before)
		})
		testharness.Eventually(t, 2*time.Minute, func() error {
			if r := row(added); !strings.Contains(r, "TASK_RUNNING") || !strings.Contains(r, "GOOD") {
				return fmt.Errorf("%s: %s", added, r)
			}
			return nil
		})
		p.waitText(2*time.Minute, `[aria-label="DBServers running"]`, "4")
		p.waitText(time.Minute, "#health", "healthy (200)")
		p.waitText(10*time.Second, "#events", "scaling dbservers up to 4")
		p.waitText(10*time.Second, `[aria-label="DBServers last change"]`, added+" added")
	})

	step("minus removes a DBServer after its clean-out", func(t *testing.T) {
		// Record every text the DBServers' pending change shows meanwhile.
		if _, err := eval[bool](p, `(window.pendingSeen = [], new MutationObserver(() => {
			const e = document.querySelector('[aria-label="DBServers pending change"]');
			if (e && e.textContent && !window.pendingSeen.includes(e.textContent)) window.pendingSeen.push(e.textContent);
		}).observe(document.getElementById("roles"), {subtree: true, childList: true, characterData: true}), true)`); err != nil {
			t.Fatal(err)
		}
		p.run(chromedp.Click(chromedp.CSS(`button[aria-label="remove one dbserver"]`)))
		p.waitText(10*time.Second, `[aria-label="DBServers desired"]`, "3")
		testharness.Eventually(t, 3*time.Minute, func() error {
			if got := p.text(`[aria-label="DBServers running"]`); got != "3" {
				return fmt.Errorf("%s DBServers running", got)
			}
			if got := p.text(`[aria-label="DBServers pending change"]`); got != "" {
				return fmt.Errorf("pending: %s", got)
			}
			if n := len(members("dbserver-")); n != 3 {
				return fmt.Errorf("%d DBServer rows", n)
			}
			return nil
		})
		p.waitText(10*time.Second, "#events", "is cleaned out")
		p.waitText(10*time.Second, `[aria-label="DBServers last change"]`, "removed")
		// The card showed the clean-out or the removal under way.
		seen, err := eval[[]string](p, `window.pendingSeen`)
		if err != nil || !slices.ContainsFunc(seen, func(s string) bool {
			return strings.Contains(s, "cleaning out 1") || strings.Contains(s, "removing dbserver-")
		}) {
			t.Errorf("the DBServers' pending change showed %q (%v), want the clean-out or the removal", seen, err)
		}
		t.Logf("pending changes shown: %q", seen)
	})

	step("a refused scale request shows the reason", func(t *testing.T) {
		// Two agents would be an even Agency.
		p.run(chromedp.Click(chromedp.CSS(`button[aria-label="remove one agent"]`)))
		p.waitText(10*time.Second, "#scale-message", "Refused")
		if got := p.text("#scale-message"); len(got) < len("Refused: ")+10 {
			t.Errorf("the refusal shows no reason: %q", got)
		}
	})

	step("a killed DBServer fails and comes back", func(t *testing.T) {
		// The scale-down may have removed any DBServer: take the first row.
		names := members("dbserver-")
		if len(names) == 0 {
			t.Fatal("no DBServer row")
		}
		name := names[0]
		id, restarts := cell(name, 3), cell(name, 7)
		if err := syscall.Kill(nodePID(t, id), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		p.waitText(time.Minute, "#events", name+" ended")
		p.waitText(time.Minute, "#events", "relaunching "+name)
		// The failure is in the list of failed events, and the member's
		// row counts the restart.
		p.run(chromedp.SetValue(chromedp.CSS("#event-kind"), "failed"))
		if _, err := eval[bool](p, `(document.getElementById("event-kind").dispatchEvent(new Event("change")), true)`); err != nil {
			t.Fatal(err)
		}
		visible, err := eval[[]string](p, `[...document.querySelectorAll("#events li")].filter(li => !li.hidden).map(li => li.textContent)`)
		if err != nil || len(visible) == 0 {
			t.Errorf("no failed events shown (%v)", err)
		}
		for _, v := range visible {
			if !strings.Contains(v, "failed:") {
				t.Errorf("the failed filter shows %q", v)
			}
		}
		p.screenshot("failed-events")
		p.run(chromedp.SetValue(chromedp.CSS("#event-kind"), ""))
		_, _ = eval[bool](p, `(document.getElementById("event-kind").dispatchEvent(new Event("change")), true)`)
		testharness.Eventually(t, 2*time.Minute, func() error {
			r := row(name)
			if !strings.Contains(r, "TASK_RUNNING") || !strings.Contains(r, "GOOD") || cell(name, 7) == restarts {
				return fmt.Errorf("%s (restarts were %s): %s", name, restarts, r)
			}
			return nil
		})
		p.waitText(time.Minute, "#health", "healthy (200)")
		// The row keeps the failure in view: when and how the task ended.
		p.waitText(10*time.Second, fmt.Sprintf(`tr[data-member=%q] td:nth-child(7)`, name), "last ended")
		if got := cell(name, 7); !strings.Contains(got, "TASK_FAILED") {
			t.Errorf("%s's restarts cell: %q, want its last end TASK_FAILED", name, got)
		}
	})

	step("restart a member from its row, after the confirmation", func(t *testing.T) {
		if _, err := eval[bool](p, `(window.confirm = () => true, true)`); err != nil {
			t.Fatal(err)
		}
		// A coordinator has no reservation: it comes back with its server
		// id, but maybe on another port.
		before := cell("coordinator-1", 3)
		p.run(chromedp.Click(chromedp.CSS(`button[aria-label="restart coordinator-1"]`)))
		p.waitText(30*time.Second, "#events", "restart of coordinator-1 asked by the operator")
		// The old incarnation drains (still running and GOOD) before it
		// stops: wait for the relaunch, then for the new one to serve.
		p.waitText(time.Minute, "#events", "relaunching coordinator-1")
		testharness.Eventually(t, 2*time.Minute, func() error {
			r := row("coordinator-1")
			if !strings.Contains(r, "TASK_RUNNING") || !strings.Contains(r, "GOOD") || !strings.Contains(r, before) {
				return fmt.Errorf("coordinator-1: %s", r)
			}
			return nil
		})
	})

	step("a declined confirmation does nothing", func(t *testing.T) {
		// Count the page's replace requests; the click handler runs
		// synchronously up to confirm(), so none may follow.
		if _, err := eval[bool](p, `(window.confirm = () => false, window.replaces = 0, window.realFetch = window.realFetch || window.fetch,
			window.fetch = (u, o) => { if (String(u).includes("/replace")) window.replaces++; return window.realFetch(u, o); }, true)`); err != nil {
			t.Fatal(err)
		}
		p.run(chromedp.Click(chromedp.CSS(`button[aria-label="replace agent-1"]`)))
		if n, err := eval[int](p, `window.replaces`); err != nil || n != 0 {
			t.Errorf("%d replace requests after a declined confirmation (%v)", n, err)
		}
	})

	step("a replace that would lose the only copy is refused, and declining to force it keeps the member", func(t *testing.T) {
		// The coordinators as they are now (one was restarted, maybe on
		// another port).
		var eps struct{ Coordinators []string }
		if code, err := testharness.JSONRequest("GET", info.Scheduler+"/v1/endpoints", nil, &eps, func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer "+info.Token)
		}); err != nil || code != http.StatusOK || len(eps.Coordinators) == 0 {
			t.Fatalf("GET /v1/endpoints: %d %+v %v", code, eps, err)
		}
		ctx := testharness.Context(t, time.Minute)
		db, err := testharness.DriverClient(eps.Coordinators, "root", info.RootPassword).GetDatabase(ctx, "_system", nil)
		if err != nil {
			t.Fatal(err)
		}
		one, rf := 1, arangodb.ReplicationFactor(1)
		testharness.Eventually(t, 30*time.Second, func() error { // a coordinator may still be restarting
			_, err := db.CreateCollectionV2(ctx, "solo", &arangodb.CreateCollectionPropertiesV2{NumberOfShards: &one, ReplicationFactor: &rf})
			if shared.IsConflict(err) {
				return nil
			}
			return err
		})
		const solo = `table[aria-label="shards of solo"] tbody`
		p.waitText(30*time.Second, solo, "yes")
		holder := regexp.MustCompile(`dbserver-\d+`).FindString(p.text(solo + " tr td:nth-child(2)"))
		if holder == "" {
			t.Fatalf("no DBServer named for solo's shard: %q", p.text(solo))
		}
		// The first confirmation (replace?) is accepted, the second
		// (replace anyway?) declined.
		if _, err := eval[bool](p, `(window.confirms = [], window.confirm = m => (window.confirms.push(m), window.confirms.length === 1), true)`); err != nil {
			t.Fatal(err)
		}
		before := cell(holder, 3)
		p.run(chromedp.Click(chromedp.CSS(`button[aria-label="replace ` + holder + `"]`)))
		p.waitText(10*time.Second, "#scale-message", "only in-sync copy of shard")
		testharness.Eventually(t, 5*time.Second, func() error {
			asked, err := eval[[]string](p, `window.confirms`)
			if err != nil || len(asked) != 2 || !strings.Contains(asked[1], "Replace it anyway?") {
				return fmt.Errorf("confirmations %q (%v)", asked, err)
			}
			return nil
		})
		if after := cell(holder, 3); after != before {
			t.Errorf("%s's server id changed from %q to %q although the forced replace was declined", holder, before, after)
		}
	})

	step("the autoscale policy is saved and shown after a reload", func(t *testing.T) {
		p.run(chromedp.SetValue(chromedp.CSS(`input[name="coordinators.max"]`), "4"),
			chromedp.SetValue(chromedp.CSS(`input[name="coordinators.window"]`), "45s"),
			chromedp.SetValue(chromedp.CSS(`select[name="coordinators.metric"]`), "latency_p99_ms"),
			chromedp.Click(chromedp.CSS(`#autoscale button[type="submit"]`)))
		p.waitText(10*time.Second, "#autoscale-message", "Saved")
		p.waitText(10*time.Second, "#events", "autoscale policy set")
		p.run(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`input[name="coordinators.max"]`)))
		max, window, metric := p.value(`input[name="coordinators.max"]`), p.value(`input[name="coordinators.window"]`), p.value(`select[name="coordinators.metric"]`)
		if max != "4" || window != "45s" || metric != "latency_p99_ms" {
			t.Errorf("after a reload: max %q window %q metric %q, want 4, 45s and latency_p99_ms", max, window, metric)
		}
		// Refused policies show the reason.
		p.run(chromedp.SetValue(chromedp.CSS(`input[name="coordinators.min"]`), "9"), chromedp.Click(chromedp.CSS(`#autoscale button[type="submit"]`)))
		p.waitText(10*time.Second, "#autoscale-message", "Refused")
		p.waitText(5*time.Second, "#autoscale-message", "min")
	})

	step("an autoscale decision shows with its reason", func(t *testing.T) {
		// A policy whose min is above the count: the autoscaler adds a
		// coordinator at its next round (every 10 s) and says why.
		p.run(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`input[name="coordinators.min"]`)))
		if _, err := eval[bool](p, `(document.querySelector('[name="coordinators.enabled"]').checked = true)`); err != nil {
			t.Fatal(err)
		}
		p.run(chromedp.SetValue(chromedp.CSS(`input[name="coordinators.min"]`), "3"),
			chromedp.SetValue(chromedp.CSS(`input[name="coordinators.max"]`), "4"),
			chromedp.Click(chromedp.CSS(`#autoscale button[type="submit"]`)))
		p.waitText(10*time.Second, "#autoscale-message", "Saved")
		p.waitText(45*time.Second, "#decisions", "coordinators 2 → 3: 2 is below the policy's min 3")
		p.waitText(10*time.Second, "#events", "autoscaler: coordinators 2 → 3")
		p.waitText(2*time.Minute, `[aria-label="Coordinators running"]`, "3")
		p.waitText(time.Minute, "#health", "healthy (200)")
		p.waitText(10*time.Second, `[data-observed="coordinators"]`, "cooling down until")
		// Off again, so that nothing else moves.
		if _, err := eval[bool](p, `(document.querySelector('[name="coordinators.enabled"]').checked = false, true)`); err != nil {
			t.Fatal(err)
		}
		p.run(chromedp.Click(chromedp.CSS(`#autoscale button[type="submit"]`)))
		p.waitText(10*time.Second, "#events", "autoscale policy set: coordinators off")
	})

	step("on a phone-sized screen nothing scrolls sideways", func(t *testing.T) {
		p.run(chromedp.EmulateViewport(390, 844))
		defer p.run(chromedp.EmulateViewport(1280, 1800))
		testharness.Eventually(t, 10*time.Second, func() error {
			w, err := eval[int](p, `document.documentElement.scrollWidth`)
			if err != nil || w > 390 {
				return fmt.Errorf("the page is %d px wide on a 390 px screen (%v)", w, err)
			}
			return nil
		})
		// The scale buttons, a member's task state, health and actions, and
		// a shard's followers are on the screen, not behind a sideways
		// scroll: on a phone a table row is a card. (Which DBServers are
		// left after the scale-down is Supervision's choice.)
		db, err := eval[string](p, `document.querySelector('tr[data-member^="dbserver-"]').dataset.member`)
		if err != nil || db == "" {
			t.Fatalf("no DBServer row (%v)", err)
		}
		for _, sel := range []string{`button[aria-label="add one dbserver"]`, `tr[data-member="` + db + `"] td:nth-child(5)`,
			`tr[data-member="` + db + `"] td:nth-child(6)`, `button[aria-label="replace ` + db + `"]`,
			`table[aria-label="shards of films"] tbody tr td:nth-child(3)`} {
			right, err := eval[float64](p, fmt.Sprintf(`document.querySelector(%q).getBoundingClientRect().right`, sel))
			if err != nil || right > 390 || right <= 0 {
				t.Errorf("%s ends at %.0f px on a 390 px screen (%v)", sel, right, err)
			}
		}
		p.screenshot("phone")
		// Every control has an accessible name.
		unnamed, err := eval[[]string](p, `[...document.querySelectorAll("button, input, select")].filter(e =>
			!e.getAttribute("aria-label") && !e.textContent.trim() && !e.closest("label")).map(e => e.outerHTML)`)
		if err != nil || len(unnamed) > 0 {
			t.Errorf("controls without a name: %v (%v)", unnamed, err)
		}
	})

	step("sign out shows the sign-in form", func(t *testing.T) {
		p.run(chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#token")))
		p.run(chromedp.SendKeys(chromedp.CSS("#token"), info.Token), chromedp.Click(chromedp.CSS(`#login button`)))
		p.waitText(time.Minute, "#health", "healthy (200)")
		p.waitText(30*time.Second, "#events", "runs on")
		p.waitText(30*time.Second, "#shards", "films")
		p.run(chromedp.WaitVisible(chromedp.CSS(`input[name="coordinators.max"]`)))
		shot := p.screenshot("webui")
		if os.Getenv("ARANGOMESOS_UPDATE_SCREENSHOT") != "" && shot != "" {
			root, _ := testharness.ModuleRoot()
			b, _ := os.ReadFile(shot)
			if err := os.WriteFile(filepath.Join(root, "docs", "img", "webui.png"), b, 0o644); err != nil {
				t.Error(err)
			}
		}
	})

	mu.Lock()
	defer mu.Unlock()
	if len(outside) > 0 {
		t.Errorf("the page asked for URLs outside %s/: %v", prefix, outside)
	}
}

// nodePID finds the node process of a server id.
func nodePID(t *testing.T, serverID string) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		cmd := strings.ReplaceAll(string(b), "\x00", " ")
		if strings.Contains(cmd, " node ") && strings.Contains(cmd, "--cluster.my-id "+serverID+" ") {
			var pid int
			fmt.Sscan(e.Name(), &pid)
			return pid
		}
	}
	t.Fatalf("no node process of %s", serverID)
	return 0
}
