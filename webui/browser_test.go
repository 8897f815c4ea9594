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
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arangodb/go-driver/v2/arangodb"
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
	return path
}

// TestWebUI drives the UI in headless Chromium against a real dev cluster,
// behind a reverse proxy that serves it under /service/arangomesos/ as the
// DC/OS admin router does.
func TestWebUI(t *testing.T) {
	chromium(t)
	info := testharness.StartDev(t, 2*time.Minute, "--agents", "4").Info
	target, _ := url.Parse(info.Scheduler)
	proxy := httptest.NewServer(http.StripPrefix("/service/arangomesos", httputil.NewSingleHostReverseProxy(target)))
	t.Cleanup(proxy.Close)
	base := proxy.URL + "/service/arangomesos/"
	p := newPage(t)

	t.Log("step: sign in and see every member healthy")
	{
		p.run(chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS("#token")),
			chromedp.SendKeys(chromedp.CSS("#token"), info.Token), chromedp.Click(chromedp.CSS(`#login button`)))
		p.waitText(time.Minute, "#health", "healthy (200)")
		testharness.Eventually(t, 30*time.Second, func() error {
			rows, err := eval[int](p, `document.querySelectorAll("#members tr").length`)
			if err != nil || rows != 8 {
				return fmt.Errorf("%d member rows (%v), want 8", rows, err)
			}
			return nil
		})
		p.screenshot("overview")
	}

	t.Log("step: a wrong token is refused")
	{
		p2 := newPage(t)
		p2.run(chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS("#token")),
			chromedp.SendKeys(chromedp.CSS("#token"), "wrong"), chromedp.Click(chromedp.CSS(`#login button`)))
		p2.waitText(10*time.Second, "#login-error", "refused")
	}

	t.Log("step: shards per collection")
	{
		ctx := testharness.Context(t, time.Minute)
		db, err := testharness.DriverClient(info.Coordinators, "root", info.RootPassword).GetDatabase(ctx, "_system", nil)
		if err != nil {
			t.Fatal(err)
		}
		shards, rf := 3, arangodb.ReplicationFactor(2)
		if _, err := db.CreateCollectionV2(ctx, "films", &arangodb.CreateCollectionPropertiesV2{NumberOfShards: &shards, ReplicationFactor: &rf}); err != nil {
			t.Fatal(err)
		}
		testharness.Eventually(t, 30*time.Second, func() error {
			rows, err := eval[int](p, `document.querySelectorAll('table[aria-label="shards of films"] tbody tr').length`)
			if err != nil || rows != 3 {
				return fmt.Errorf("%d shard rows of films (%v)", rows, err)
			}
			return nil
		})
		p.waitText(30*time.Second, `table[aria-label="shards of films"] tbody`, "yes")
	}

	t.Log("step: plus adds a DBServer")
	{
		p.run(chromedp.Click(chromedp.CSS(`button[aria-label="add one dbserver"]`)))
		p.waitText(10*time.Second, `[aria-label="DBServers desired"]`, "4")
		p.waitText(2*time.Minute, `[aria-label="DBServers running"]`, "4")
		p.waitText(time.Minute, "#health", "healthy (200)")
		p.waitText(10*time.Second, "#events", "scaling dbservers up to 4")
	}

	t.Log("step: minus removes a DBServer after its clean-out")
	{
		p.run(chromedp.Click(chromedp.CSS(`button[aria-label="remove one dbserver"]`)))
		p.waitText(10*time.Second, `[aria-label="DBServers desired"]`, "3")
		testharness.Eventually(t, 3*time.Minute, func() error {
			if got := p.text(`[aria-label="DBServers running"]`); got != "3" {
				return fmt.Errorf("%s DBServers running", got)
			}
			if got := p.text(`[aria-label="DBServers pending change"]`); got != "" {
				return fmt.Errorf("pending: %s", got)
			}
			return nil
		})
		p.waitText(10*time.Second, "#events", "is cleaned out")
	}

	t.Log("step: a refused scale request shows the reason")
	{
		// Two agents would be an even Agency.
		p.run(chromedp.Click(chromedp.CSS(`button[aria-label="remove one agent"]`)))
		p.waitText(10*time.Second, "#scale-message", "Refused")
	}

	t.Log("step: a killed DBServer fails and comes back")
	{
		// The scale-down may have removed any DBServer: take the first row.
		name, err := eval[string](p, `document.querySelector('tr[data-member^="dbserver-"]').dataset.member`)
		if err != nil || name == "" {
			t.Fatalf("no DBServer row: %q %v", name, err)
		}
		id := p.text(fmt.Sprintf(`tr[data-member=%q] td:nth-child(3)`, name))
		if err := syscall.Kill(nodePID(t, id), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		p.waitText(time.Minute, "#events", name+" ended")
		p.waitText(time.Minute, "#events", "relaunching "+name)
		testharness.Eventually(t, 2*time.Minute, func() error {
			row := p.text(fmt.Sprintf(`tr[data-member=%q]`, name))
			if !strings.Contains(row, "TASK_RUNNING") || !strings.Contains(row, "GOOD") {
				return fmt.Errorf("%s: %s", name, row)
			}
			return nil
		})
	}

	t.Log("step: restart a member from its row, after the confirmation")
	{
		if _, err := eval[bool](p, `(window.confirm = () => true, true)`); err != nil {
			t.Fatal(err)
		}
		before := p.text(`tr[data-member="coordinator-1"] td:nth-child(4)`)
		p.run(chromedp.Click(chromedp.CSS(`button[aria-label="restart coordinator-1"]`)))
		p.waitText(30*time.Second, "#events", "restart of coordinator-1 asked by the operator")
		testharness.Eventually(t, 2*time.Minute, func() error {
			row := p.text(`tr[data-member="coordinator-1"]`)
			if !strings.Contains(row, "TASK_RUNNING") || !strings.Contains(row, "GOOD") || !strings.Contains(row, before) {
				return fmt.Errorf("coordinator-1: %s", row)
			}
			return nil
		})
		p.waitText(30*time.Second, "#events", "relaunching coordinator-1")
	}

	t.Log("step: the autoscale policy is saved and shown after a reload")
	{
		p.run(chromedp.SetValue(chromedp.CSS(`input[name="coordinators.max"]`), "4"),
			chromedp.SetValue(chromedp.CSS(`input[name="coordinators.window"]`), "45s"),
			chromedp.Click(chromedp.CSS(`#autoscale button[type="submit"]`)))
		p.waitText(10*time.Second, "#autoscale-message", "Saved")
		p.run(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`input[name="coordinators.max"]`)))
		max, window := p.value(`input[name="coordinators.max"]`), p.value(`input[name="coordinators.window"]`)
		if max != "4" || window != "45s" {
			t.Errorf("after a reload: max %q window %q, want 4 and 45s", max, window)
		}
		// Refused policies show the reason.
		p.run(chromedp.SetValue(chromedp.CSS(`input[name="coordinators.min"]`), "9"), chromedp.Click(chromedp.CSS(`#autoscale button[type="submit"]`)))
		p.waitText(10*time.Second, "#autoscale-message", "Refused")
	}

	t.Log("step: on a phone-sized screen nothing but the tables scrolls sideways")
	{
		p.run(chromedp.EmulateViewport(390, 844))
		testharness.Eventually(t, 10*time.Second, func() error {
			w, err := eval[int](p, `document.documentElement.scrollWidth`)
			if err != nil || w > 390 {
				return fmt.Errorf("the page is %d px wide on a 390 px screen (%v)", w, err)
			}
			return nil
		})
		p.screenshot("phone")
		p.run(chromedp.EmulateViewport(1280, 1800))
	}

	shot := p.screenshot("final")
	if os.Getenv("ARANGOMESOS_UPDATE_SCREENSHOT") != "" && shot != "" {
		p.run(chromedp.Reload())
		p.waitText(time.Minute, "#health", "healthy (200)")
		p.waitText(30*time.Second, "#events", "runs on")
		shot = p.screenshot("webui")
		root, _ := testharness.ModuleRoot()
		b, _ := os.ReadFile(shot)
		if err := os.WriteFile(filepath.Join(root, "docs", "img", "webui.png"), b, 0o644); err != nil {
			t.Error(err)
		}
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
