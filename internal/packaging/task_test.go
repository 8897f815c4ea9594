package packaging

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/internal/testharness"
)

func TestMain(m *testing.M) { testharness.Main(m) }

// fakeBinary is a stand-in for the arangomesos binary that records how it
// was started (arguments, environment, working directory) into the sandbox
// and exits. It shows what the app's cmd hands to `arangomesos scheduler`,
// without needing the scheduler.
const fakeBinary = `#!/bin/sh
env > "$MESOS_SANDBOX/started.env.tmp"
printf '%s\n' "$@" > "$MESOS_SANDBOX/started.args"
pwd > "$MESOS_SANDBOX/started.pwd"
mv "$MESOS_SANDBOX/started.env.tmp" "$MESOS_SANDBOX/started.env"
`

func readEnvFile(t *testing.T, file string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(readFile(t, file))), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	return env
}

func fakeBinaryURL(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "arangomesos-linux-amd64")
	if err := os.WriteFile(bin, []byte(fakeBinary), 0o644); err != nil {
		t.Fatal(err)
	}
	return serveFile(t, bin)
}

// renderWithBinary renders the package with options, its binary asset
// pointing at binURL (as a local Universe mirror would rewrite it).
func renderWithBinary(t *testing.T, options []byte, binURL string) (*App, []byte) {
	t.Helper()
	p := loadPackage(t)
	p.Resource["assets"].(map[string]any)["uris"].(map[string]any)["arangomesos-linux-amd64"] = binURL
	out := render(t, p, options)
	app, err := ParseApp(out)
	if err != nil {
		t.Fatal(err)
	}
	return app, out
}

// The app's cmd, run as Marathon runs it, starts `arangomesos scheduler` from
// the fetched binary in the sandbox, with the port, host and sandbox of the
// task expanded into the scheduler's settings, the secrets written to files
// only the task's user can read (and unset from the environment), and an
// environment that the scheduler's own flags accept and its validation
// passes.
func TestCmdStartsTheSchedulerAsMarathonWould(t *testing.T) {
	binURL := fakeBinaryURL(t)
	for name, c := range map[string]struct {
		options string
		secrets map[string]string
		// plain are environment values added to the app, as a plain
		// Marathon user without a secret store does.
		plain map[string]string
		// want are the contents of the framework secret, API token and
		// root password files ("" for none).
		want [3]string
	}{
		"dcos defaults": {options: `{}`},
		"sandbox state": {options: `{"service":{"zookeeper":"","mesos_master":"http://127.0.0.1:5050"}}`},
		"all the secrets": {options: string(readFile(t, nonDefaultOptions)),
			secrets: map[string]string{"orders-db/mesos-secret": "m3sos s3cret", "orders-db/api-token": "tok-123", "orders-db/root-password": "r00t"},
			want:    [3]string{"m3sos s3cret", "tok-123", "r00t"}},
		"plain environment": {options: string(readFile(t, plainOptions)),
			plain: map[string]string{"API_TOKEN": "plain-token", "ROOT_PASSWORD": "plain root"},
			want:  [3]string{"", "plain-token", "plain root"}},
	} {
		t.Run(name, func(t *testing.T) {
			app, _ := renderWithBinary(t, []byte(c.options), binURL)
			for k, v := range c.plain {
				app.Env[k] = EnvValue{Value: v}
			}
			task, err := launchTask(t, app, c.secrets, "scheduler")
			if err != nil {
				t.Fatal(err)
			}
			started := filepath.Join(task.sandbox, "started.env")
			testharness.Eventually(t, 20*time.Second, func() error {
				if _, err := os.Stat(started); err != nil {
					return fmt.Errorf("the binary has not run: %v (log: %s)", err, task.proc.Tail(5))
				}
				return nil
			})
			task.proc.Wait(10 * time.Second)
			if args := strings.TrimSpace(string(readFile(t, filepath.Join(task.sandbox, "started.args")))); args != "scheduler" {
				t.Errorf("arguments %q, want scheduler", args)
			}
			if pwd := strings.TrimSpace(string(readFile(t, filepath.Join(task.sandbox, "started.pwd")))); pwd != task.sandbox {
				t.Errorf("working directory %s, want the sandbox %s", pwd, task.sandbox)
			}
			env := readEnvFile(t, started)
			cfg, err := SchedulerConfig(env)
			if err != nil {
				t.Fatal(err)
			}
			if err := cfg.Validate(); err != nil {
				t.Fatalf("the scheduler would refuse its configuration: %v", err)
			}
			if want := fmt.Sprintf("0.0.0.0:%d", task.port); cfg.Listen != want {
				t.Errorf("listen %q, want %q", cfg.Listen, want)
			}
			if want := fmt.Sprintf("http://127.0.0.1:%d", task.port); cfg.AdvertiseURL != want || cfg.Hostname != "127.0.0.1" {
				t.Errorf("advertise %q hostname %q, want %q", cfg.AdvertiseURL, cfg.Hostname, want)
			}
			if cfg.ZK == "" && cfg.StateDir != filepath.Join(task.sandbox, "state") {
				t.Errorf("state dir %q is not in the sandbox", cfg.StateDir)
			}
			for _, k := range []string{"FRAMEWORK_SECRET", "API_TOKEN", "ROOT_PASSWORD"} {
				if _, ok := env[k]; ok {
					t.Errorf("%s is still in the scheduler's environment", k)
				}
			}
			for i, file := range []string{cfg.SecretFile, cfg.AuthTokenFile, cfg.RootPasswordFile} {
				want := c.want[i]
				if file == "" || want == "" {
					if file != "" || want != "" {
						t.Errorf("secret %d: file %q, want content %q", i, file, want)
					}
					continue
				}
				if !strings.HasPrefix(file, task.sandbox+"/") {
					t.Errorf("secret file %s outside the sandbox", file)
				}
				st, err := os.Stat(file)
				if err != nil {
					t.Fatal(err)
				}
				if got := string(readFile(t, file)); got != want || st.Mode().Perm() != 0o600 {
					t.Errorf("secret file %s: %q mode %v, want %q mode 0600", file, got, st.Mode().Perm(), want)
				}
			}
		})
	}
}

// A secret that resolves to nothing stops the task with a message, instead of
// starting a scheduler with an empty secret.
func TestCmdRefusesAnEmptySecret(t *testing.T) {
	app, _ := renderWithBinary(t, []byte(`{"service":{"secret_name":"missing/secret"}}`), fakeBinaryURL(t))
	task, err := launchTask(t, app, nil, "scheduler")
	if err != nil {
		t.Fatal(err)
	}
	if !task.proc.Wait(20 * time.Second) {
		t.Fatal("the task did not stop")
	}
	var exit interface{ ExitCode() int }
	if err := task.proc.ExitError(); !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("exit: %v", err)
	}
	if !strings.Contains(task.proc.Tail(5), "service.secret_name is empty") {
		t.Errorf("no message: %s", task.proc.Tail(5))
	}
	if _, err := os.Stat(filepath.Join(task.sandbox, "started.env")); err == nil {
		t.Error("the binary ran")
	}
}
