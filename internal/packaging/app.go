package packaging

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/arangomesos/arangomesos/internal/cli"
	"github.com/arangomesos/arangomesos/scheduler"
)

// App is the part of a Marathon app definition that this project writes and
// checks. Unknown fields are ignored here; the JSON schema tests cover them.
type App struct {
	ID                         string              `json:"id"`
	Instances                  *int                `json:"instances"`
	CPUs                       float64             `json:"cpus"`
	Mem                        float64             `json:"mem"`
	User                       string              `json:"user,omitempty"`
	Cmd                        string              `json:"cmd"`
	Args                       []string            `json:"args"`
	Fetch                      []Fetch             `json:"fetch"`
	Secrets                    map[string]Secret   `json:"secrets"`
	Env                        map[string]EnvValue `json:"env"`
	PortDefinitions            []PortDefinition    `json:"portDefinitions"`
	RequirePorts               bool                `json:"requirePorts"`
	HealthChecks               []HealthCheck       `json:"healthChecks"`
	UpgradeStrategy            *UpgradeStrategy    `json:"upgradeStrategy"`
	TaskKillGracePeriodSeconds int                 `json:"taskKillGracePeriodSeconds"`
	Labels                     map[string]string   `json:"labels"`
}

// Fetch is one URI the Mesos fetcher downloads into the sandbox.
type Fetch struct {
	URI        string `json:"uri"`
	Executable bool   `json:"executable"`
	Extract    *bool  `json:"extract"`
	Cache      bool   `json:"cache"`
	DestPath   string `json:"destPath"`
}

// Secret is a declaration of a secret from the secret store.
type Secret struct {
	Source string `json:"source"`
}

// EnvValue is a Marathon environment value: a string, or a reference to a
// declared secret ({"secret": "name"}).
type EnvValue struct {
	Value  string
	Secret string
}

// UnmarshalJSON reads either form.
func (e *EnvValue) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &e.Value)
	}
	var ref struct {
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		return err
	}
	if ref.Secret == "" {
		return errors.New("env value is neither a string nor {\"secret\": name}")
	}
	e.Secret = ref.Secret
	return nil
}

// PortDefinition is one host port the task gets (PORT0, PORT1, ...).
type PortDefinition struct {
	Port     int               `json:"port"`
	Protocol string            `json:"protocol"`
	Name     string            `json:"name"`
	Labels   map[string]string `json:"labels"`
}

// HealthCheck is a Marathon health check.
type HealthCheck struct {
	Protocol               string `json:"protocol"`
	Path                   string `json:"path"`
	PortIndex              *int   `json:"portIndex"`
	GracePeriodSeconds     int    `json:"gracePeriodSeconds"`
	IntervalSeconds        int    `json:"intervalSeconds"`
	TimeoutSeconds         int    `json:"timeoutSeconds"`
	DelaySeconds           int    `json:"delaySeconds"`
	MaxConsecutiveFailures int    `json:"maxConsecutiveFailures"`
}

// UpgradeStrategy says how Marathon replaces a running app.
type UpgradeStrategy struct {
	MinimumHealthCapacity *float64 `json:"minimumHealthCapacity"`
	MaximumOverCapacity   *float64 `json:"maximumOverCapacity"`
}

// ParseApp decodes a Marathon app definition after checking it for duplicate
// keys.
func ParseApp(data []byte) (*App, error) {
	if err := CheckDuplicateKeys(data); err != nil {
		return nil, err
	}
	var a App
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, err
	}
	if a.ID == "" {
		return nil, errors.New("app has no id")
	}
	return &a, nil
}

// PlainEnv returns the app's string environment values; secret references
// are resolved with secrets (secret declaration name → value) when given,
// and left out otherwise.
func (a *App) PlainEnv(secrets map[string]string) map[string]string {
	env := map[string]string{}
	for k, v := range a.Env {
		if v.Secret == "" {
			env[k] = v.Value
		} else if val, ok := secrets[v.Secret]; ok {
			env[k] = val
		}
	}
	return env
}

// EnvPrefix starts the environment variables the arangomesos binary reads as
// flags (see cli.EnvName).
const EnvPrefix = "ARANGOMESOS_"

// SchedulerFlags returns the scheduler's flag set bound to cfg, exactly as
// `arangomesos scheduler` defines it (scheduler.Config.RegisterFlags).
func SchedulerFlags(cfg *scheduler.Config) *flag.FlagSet {
	fs := flag.NewFlagSet("scheduler", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg.RegisterFlags(fs)
	return fs
}

// SchedulerConfig applies env the way `arangomesos scheduler` reads its
// environment (every flag from ARANGOMESOS_<FLAG>) to the scheduler's
// defaults, and returns the configuration. A variable with the prefix that
// names no scheduler flag is an error: the scheduler would silently ignore it.
// Validate is not called.
func SchedulerConfig(env map[string]string) (scheduler.Config, error) {
	cfg := scheduler.DefaultConfig()
	fs := SchedulerFlags(&cfg)
	known := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) { known[cli.EnvName(f.Name)] = f.Name })
	var unknown, bad []string
	for _, k := range sortedKeys(env) {
		if !strings.HasPrefix(k, EnvPrefix) {
			continue
		}
		name, ok := known[k]
		if !ok {
			unknown = append(unknown, k)
			continue
		}
		if err := fs.Set(name, env[k]); err != nil {
			bad = append(bad, fmt.Sprintf("%s=%q: %v", k, env[k], err))
		}
	}
	if len(unknown) > 0 {
		return cfg, fmt.Errorf("not scheduler flags (the scheduler would ignore them): %s", strings.Join(unknown, ", "))
	}
	if len(bad) > 0 {
		return cfg, fmt.Errorf("scheduler flags from the environment: %s", strings.Join(bad, "; "))
	}
	return cfg, nil
}

// CheckApp checks what a Marathon app of the scheduler must be, beyond the
// JSON schema: exactly one instance, never two schedulers during an upgrade,
// one port with the DC/OS labels pointing at it, a Mesos HTTP health check on
// /v1/health that tolerates a deployment and restarts a hung scheduler, the
// binary fetched as an executable, and an environment the scheduler accepts
// (every ARANGOMESOS_ variable a flag, the result valid for
// scheduler.Config.Validate).
func CheckApp(a *App) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if a.Instances == nil || *a.Instances != 1 {
		bad("instances must be 1")
	}
	if u := a.UpgradeStrategy; u == nil || u.MinimumHealthCapacity == nil || *u.MinimumHealthCapacity != 0 ||
		u.MaximumOverCapacity == nil || *u.MaximumOverCapacity != 0 {
		bad("upgradeStrategy must be minimumHealthCapacity 0, maximumOverCapacity 0 (never two schedulers)")
	}
	if len(a.PortDefinitions) != 1 || a.PortDefinitions[0].Port != 0 {
		bad("want one dynamic port (portDefinitions [{port: 0}]) for the API and UI")
	}
	if len(a.HealthChecks) != 1 {
		bad("want one health check, got %d", len(a.HealthChecks))
	} else {
		h := a.HealthChecks[0]
		if h.Protocol != "MESOS_HTTP" || h.Path != "/v1/health" || h.PortIndex == nil || *h.PortIndex != 0 {
			bad("health check must be MESOS_HTTP on /v1/health, port index 0")
		}
		if h.GracePeriodSeconds < 600 {
			bad("health check grace period %ds is too short for a deployment", h.GracePeriodSeconds)
		}
		if h.MaxConsecutiveFailures < 1 {
			bad("health check maxConsecutiveFailures must be positive, or Marathon never restarts a hung scheduler")
		}
	}
	for _, l := range []string{"DCOS_PACKAGE_FRAMEWORK_NAME", "DCOS_SERVICE_NAME", "DCOS_SERVICE_PORT_INDEX", "DCOS_SERVICE_SCHEME"} {
		if a.Labels[l] == "" {
			bad("label %s is missing", l)
		}
	}
	if a.Labels["DCOS_SERVICE_PORT_INDEX"] != "0" || a.Labels["DCOS_SERVICE_SCHEME"] != "http" {
		bad("labels DCOS_SERVICE_PORT_INDEX/DCOS_SERVICE_SCHEME must be 0/http")
	}
	if v := a.Labels["DCOS_MIGRATION_API_VERSION"]; v != "" && (v != "v1" || a.Labels["DCOS_MIGRATION_API_PATH"] == "") {
		bad("DCOS_MIGRATION_API_VERSION needs v1 and DCOS_MIGRATION_API_PATH (Marathon refuses the app otherwise)")
	}
	if len(a.Fetch) != 1 || !a.Fetch[0].Executable || a.Fetch[0].DestPath != "arangomesos" {
		bad("want the binary fetched as one executable URI named arangomesos")
	}
	if !strings.Contains(a.Cmd, "arangomesos\" scheduler") && !strings.Contains(a.Cmd, "arangomesos scheduler") {
		bad("cmd does not run `arangomesos scheduler`")
	}
	for k, v := range a.Env {
		if v.Secret != "" {
			if _, ok := a.Secrets[v.Secret]; !ok {
				bad("env %s refers to the undeclared secret %q", k, v.Secret)
			}
		}
	}
	name := a.Labels["DCOS_PACKAGE_FRAMEWORK_NAME"]
	cfg, err := SchedulerConfig(a.PlainEnv(nil))
	if err != nil {
		errs = append(errs, err)
	} else {
		if cfg.FrameworkName != name {
			bad("framework name %q differs from DCOS_PACKAGE_FRAMEWORK_NAME %q", cfg.FrameworkName, name)
		}
		if err := cfg.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
