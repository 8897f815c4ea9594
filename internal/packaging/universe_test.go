package packaging

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/internal/cli"
	"github.com/arangomesos/arangomesos/scheduler"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Paths from this package's directory (go test runs tests there).
var (
	universeDir       = filepath.Join("..", "..", "universe")
	marathonDir       = filepath.Join("..", "..", "marathon")
	universeSchemas   = filepath.Join(universeDir, "testdata", "schemas")
	marathonSchema    = filepath.Join(marathonDir, "testdata", "schemas", "AppDefinition.json")
	nonDefaultOptions = filepath.Join(universeDir, "testdata", "options-nondefault.json")
	plainOptions      = filepath.Join(marathonDir, "options.json")
	plainApp          = filepath.Join(marathonDir, "arangomesos.json")
)

func loadPackage(t *testing.T) *Package {
	t.Helper()
	p, err := LoadPackage(universeDir)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func compile(t *testing.T, path, pointer string) *jsonschema.Schema {
	t.Helper()
	s, err := CompileSchemaAt(filepath.Base(path), readFile(t, path), pointer)
	if err != nil {
		t.Fatalf("compile %s%s: %v", path, pointer, err)
	}
	return s
}

func instance(t *testing.T, data []byte) any {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func render(t *testing.T, p *Package, options []byte) []byte {
	t.Helper()
	out, err := p.RenderOptions(options)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return out
}

// The package files validate against Universe's official schemas, as
// Universe's CI (validate_packages.py, Draft4Validator) applies them.
func TestUniverseFilesMatchUniverseSchemas(t *testing.T) {
	p := loadPackage(t)
	for _, c := range []struct{ file, schema, pointer string }{
		{PackageFile, "package-schema.json", ""},
		{PackageFile, "package-schema.json", "/definitions/v40Package"},
		{ConfigFile, "config-schema.json", ""},
		{ResourceFile, "v3-resource-schema.json", ""},
	} {
		s := compile(t, filepath.Join(universeSchemas, c.schema), c.pointer)
		if err := s.Validate(instance(t, p.Raw[c.file])); err != nil {
			t.Errorf("%s against %s%s:\n%v", c.file, c.schema, c.pointer, err)
		}
	}
}

// The schemas really reject what the earlier arangodb3 package got wrong, so
// the test above would notice.
func TestSchemasRejectKnownDefects(t *testing.T) {
	app := compile(t, marathonSchema, "")
	// arangodb3 wrote container.docker.force_pull_image (the key is forcePullImage).
	bad := `{"id":"/x","cmd":"true","container":{"type":"MESOS","docker":{"image":"a","force_pull_image":true}}}`
	if err := app.Validate(instance(t, []byte(bad))); err == nil {
		t.Error("Marathon schema accepted container.docker.force_pull_image")
	}
	pkg := compile(t, filepath.Join(universeSchemas, "package-schema.json"), "")
	var meta map[string]any
	if err := json.Unmarshal(loadPackage(t).Raw[PackageFile], &meta); err != nil {
		t.Fatal(err)
	}
	meta["command"] = map[string]any{"pip": []any{"x"}}
	b, _ := json.Marshal(meta)
	if err := pkg.Validate(instance(t, b)); err == nil {
		t.Error("package schema accepted an unknown property in a 4.0 package")
	}
}

func TestCheckDuplicateKeys(t *testing.T) {
	for _, c := range []struct {
		in, wantErr string
	}{
		{`{"a":1,"b":{"a":2},"c":[{"a":1},{"a":2}]}`, ""},
		{`{"a":1,"a":2}`, `duplicate key "a" at "/"`},
		{`{"x":{"env":{"K":"1","K":"2"}}}`, `duplicate key "K" at "/x/env"`},
		{`{"l":[1,{"p":{"q":1,"q":1}}]}`, `duplicate key "q" at "/l/1/p"`},
		{`{"a":1,"\u0061":2}`, `duplicate key "a"`},
		{`{"a/b":{"c":1,"c":1}}`, `at "/a~1b"`},
		{`{"a":1} {"b":2}`, "after the top-level value"},
		{`{"a":`, "json at"},
		{`[]`, ""},
	} {
		err := CheckDuplicateKeys([]byte(c.in))
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: %v", c.in, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s: err = %v, want %q", c.in, err, c.wantErr)
		}
	}
}

func TestCheckASCII(t *testing.T) {
	for in, ok := range map[string]bool{
		"{\"a\": \"b\"}\n":         true,
		`{"a": "\\u0041"}`:         true, // an escaped backslash followed by u
		`{"a": "\u00e9"}`:          false,
		"{\"a\": \"caf\xc3\xa9\"}": false,
		"{\"a\":\x01}":             false,
	} {
		if err := CheckASCII([]byte(in)); (err == nil) != ok {
			t.Errorf("CheckASCII(%q) = %v, want ok=%v", in, err, ok)
		}
	}
}

// No JSON file of the packaging has a duplicate key, and the package's own
// files are ASCII (Universe's CI checks both).
func TestNoDuplicateKeysAnywhere(t *testing.T) {
	n := 0
	for _, root := range []string{universeDir, marathonDir, "testdata"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
				return err
			}
			n++
			b := readFile(t, path)
			if err := CheckDuplicateKeys(b); err != nil {
				t.Errorf("%s: %v", path, err)
			}
			if !strings.Contains(path, "schemas") {
				if err := CheckASCII(b); err != nil {
					t.Errorf("%s: %v", path, err)
				}
			}
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	}
	if n < 8 {
		t.Fatalf("checked only %d JSON files", n)
	}
}

// Every option has a description and a default, and the template uses every
// option: a dead option would be a setting that silently does nothing.
func TestEveryOptionDescribedDefaultedAndUsed(t *testing.T) {
	p := loadPackage(t)
	used := map[string]bool{}
	for _, n := range p.TemplateNames() {
		used[n] = true
	}
	var walk func(prefix string, schema map[string]any)
	walk = func(prefix string, schema map[string]any) {
		props, _ := schema["properties"].(map[string]any)
		if len(props) == 0 {
			t.Errorf("%s has no properties", prefix)
		}
		for name, sub := range props {
			s := sub.(map[string]any)
			path := strings.TrimPrefix(prefix+"."+name, ".")
			if d, _ := s["description"].(string); len(d) < 10 {
				t.Errorf("option %s has no description", path)
			}
			if s["type"] == "object" {
				if s["additionalProperties"] != false {
					t.Errorf("section %s must refuse unknown options (additionalProperties: false)", path)
				}
				walk(path, s)
				continue
			}
			if _, ok := s["default"]; !ok {
				t.Errorf("option %s has no default", path)
			}
			if !used[path] {
				t.Errorf("option %s is not used by %s", path, TemplateFile)
			}
		}
	}
	walk("", p.Config)
	if p.Config["additionalProperties"] != false {
		t.Error("config.json must refuse unknown sections")
	}
}

// The defaults of config.json, rendered and read by the scheduler's own
// flags, give exactly scheduler.DefaultConfig, except where DC/OS differs on
// purpose: the master and the ZooKeeper state.
func TestDefaultsAreTheSchedulerDefaults(t *testing.T) {
	p := loadPackage(t)
	app, err := ParseApp(render(t, p, nil))
	if err != nil {
		t.Fatal(err)
	}
	got, err := SchedulerConfig(app.PlainEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got.Master != "zk://master.mesos:2181/mesos" || got.ZK != "zk://master.mesos:2181/dcos-service-arangomesos" {
		t.Errorf("DC/OS master/zk = %q / %q", got.Master, got.ZK)
	}
	want := scheduler.DefaultConfig()
	got.Master, got.ZK = want.Master, want.ZK
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rendered defaults differ from scheduler.DefaultConfig:\n got %+v\nwant %+v", got, want)
	}
}

// A non-default options file reaches the scheduler as the values it names.
func TestNonDefaultOptionsReachTheScheduler(t *testing.T) {
	p := loadPackage(t)
	app, err := ParseApp(render(t, p, readFile(t, nonDefaultOptions)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := SchedulerConfig(app.PlainEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := scheduler.DefaultConfig()
	want.Master = "zk://zk-1.example.com:2181,zk-2.example.com:2181/mesos"
	want.ZK = "zk://zk-1.example.com:2181,zk-2.example.com:2181/databases/orders"
	want.FrameworkName, want.Role, want.Principal = "orders-db", "orders-db-role", "orders-db-principal"
	want.FailoverTimeout, want.ReplaceTimeout = 72*time.Hour, 15*time.Minute
	want.Placement = "any"
	want.ArtifactURL = "https://artifacts.example.com/arangomesos/0.1.0/arangomesos-linux-amd64?sig=abc&exp=1"
	want.LogLevel = "debug"
	want.ExecutorRes = scheduler.Resources{CPUs: 0.1, Mem: 64}
	want.Agents, want.DBServers, want.Coordinators = 5, 4, 3
	want.AgentRes = scheduler.Resources{CPUs: 0.5, Mem: 512, Disk: 1024}
	want.DBServerRes = scheduler.Resources{CPUs: 2, Mem: 4096, Disk: 20480}
	want.CoordRes = scheduler.Resources{CPUs: 1.5, Mem: 2048}
	want.RebalanceOnScaleUp = false
	want.Autoscale = true
	want.AutoscaleCoordMin, want.AutoscaleCoordMax, want.AutoscaleDBMin, want.AutoscaleDBMax = 2, 6, 4, 12
	want.AutoscaleInterval = 30 * time.Second
	want.SupervisionOkThreshold, want.SupervisionGracePeriod, want.ReplicationTimeout = 3*time.Second, 20*time.Second, 5*time.Second
	if !reflect.DeepEqual(got, want) {
		t.Errorf("scheduler config:\n got %+v\nwant %+v", got, want)
	}
	if app.ID != "/orders-db" || app.User != "nobody" || app.CPUs != 1 || app.Mem != 1024 {
		t.Errorf("app id/user/cpus/mem = %s %s %v %v", app.ID, app.User, app.CPUs, app.Mem)
	}
	wantSecrets := map[string]Secret{"framework-secret": {"orders-db/mesos-secret"}, "api-token": {"orders-db/api-token"}, "root-password": {"orders-db/root-password"}}
	if !reflect.DeepEqual(app.Secrets, wantSecrets) {
		t.Errorf("secrets = %v", app.Secrets)
	}
	for env, secret := range map[string]string{"FRAMEWORK_SECRET": "framework-secret", "API_TOKEN": "api-token", "ROOT_PASSWORD": "root-password"} {
		if app.Env[env].Secret != secret {
			t.Errorf("env %s = %+v, want secret %s", env, app.Env[env], secret)
		}
	}
	if l := app.Labels; l["DCOS_SERVICE_NAME"] != "orders-db" || l["DCOS_PACKAGE_FRAMEWORK_NAME"] != "orders-db" {
		t.Errorf("labels = %v", l)
	}
}

// Every scheduler flag is either an option of the package or set by the
// app's command from what Mesos gives the task. A flag added to the scheduler
// fails this test until the package maps it; a renamed flag fails it too.
func TestEverySchedulerFlagIsMapped(t *testing.T) {
	p := loadPackage(t)
	app, err := ParseApp(render(t, p, readFile(t, nonDefaultOptions)))
	if err != nil {
		t.Fatal(err)
	}
	// Set in cmd from PORT0, HOST and MESOS_SANDBOX, or from secrets.
	fromCmd := map[string]bool{"listen": true, "advertise-url": true, "hostname": true, "state-dir": true,
		"secret-file": true, "auth-token-file": true, "root-password-file": true}
	cfg := scheduler.DefaultConfig()
	SchedulerFlags(&cfg).VisitAll(func(f *flag.Flag) {
		env := cli.EnvName(f.Name)
		_, inEnv := app.Env[env]
		switch {
		case fromCmd[f.Name]:
			if !strings.Contains(app.Cmd, " "+env+"=") && !strings.Contains(app.Cmd, " "+env+";") {
				// state-dir is only exported without ZooKeeper; check that rendering too.
				if f.Name != "state-dir" {
					t.Errorf("--%s: cmd does not set %s", f.Name, env)
				}
			}
		case !inEnv:
			t.Errorf("scheduler flag --%s is neither an option of universe/config.json nor set by the app's cmd: map it in %s", f.Name, TemplateFile)
		}
	})
	noZK, err := ParseApp(render(t, p, []byte(`{"service":{"zookeeper":""}}`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(noZK.Cmd, `export ARANGOMESOS_STATE_DIR="$MESOS_SANDBOX/state"`) {
		t.Errorf("without ZooKeeper the state must live in the sandbox; cmd = %s", noZK.Cmd)
	}
	if _, ok := noZK.Env["ARANGOMESOS_ZK"]; ok {
		t.Error("ARANGOMESOS_ZK set although service.zookeeper is empty")
	}
}

// What the template renders is a valid Marathon 1.7 app and a sound scheduler
// app, for the defaults, a non-default options file, the plain-Mesos options,
// and every combination of the three optional secrets (the template spells
// out each combination to keep the JSON commas right).
func TestRenderedAppsMatchMarathonSchema(t *testing.T) {
	p := loadPackage(t)
	schema := compile(t, marathonSchema, "")
	cases := map[string][]byte{
		"defaults":                          nil,
		"non-default":                       readFile(t, nonDefaultOptions),
		"plain mesos":                       readFile(t, plainOptions),
		"sandbox state, artifact url, user": []byte(`{"service":{"zookeeper":"","artifact_url":"http://10.0.0.1/am","user":"nobody"}}`),
	}
	names := []string{"secret_name", "api_token_secret", "root_password_secret"}
	for mask := 0; mask < 8; mask++ {
		svc, db := map[string]any{}, map[string]any{}
		for i, n := range names {
			if mask&(1<<i) != 0 {
				if n == "root_password_secret" {
					db[n] = "s/" + n
				} else {
					svc[n] = "s/" + n
				}
			}
		}
		b, _ := json.Marshal(map[string]any{"service": svc, "database": db})
		cases[fmt.Sprintf("secrets %03b", mask)] = b
	}
	for name, opts := range cases {
		t.Run(name, func(t *testing.T) {
			out := render(t, p, opts)
			if err := schema.Validate(instance(t, out)); err != nil {
				t.Fatalf("against AppDefinition.json:\n%v\n%s", err, out)
			}
			app, err := ParseApp(out)
			if err != nil {
				t.Fatal(err)
			}
			if err := CheckApp(app); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			want := 0
			for _, v := range app.Env {
				if v.Secret != "" {
					want++
				}
			}
			if len(app.Secrets) != want {
				t.Errorf("%d secrets declared, %d used", len(app.Secrets), want)
			}
		})
	}
}

// The properties that matter, asserted directly on the default rendering.
func TestRenderedAppProperties(t *testing.T) {
	app, err := ParseApp(render(t, loadPackage(t), nil))
	if err != nil {
		t.Fatal(err)
	}
	if *app.Instances != 1 || *app.UpgradeStrategy.MinimumHealthCapacity != 0 || *app.UpgradeStrategy.MaximumOverCapacity != 0 {
		t.Errorf("instances %d, upgradeStrategy %+v", *app.Instances, app.UpgradeStrategy)
	}
	h := app.HealthChecks[0]
	if h.Protocol != "MESOS_HTTP" || h.Path != "/v1/health" || *h.PortIndex != 0 || h.GracePeriodSeconds < 900 || h.MaxConsecutiveFailures == 0 {
		t.Errorf("health check %+v", h)
	}
	want := map[string]string{
		"DCOS_PACKAGE_FRAMEWORK_NAME": "arangomesos", "DCOS_SERVICE_NAME": "arangomesos",
		"DCOS_SERVICE_PORT_INDEX": "0", "DCOS_SERVICE_SCHEME": "http", "MARATHON_SINGLE_INSTANCE_APP": "true",
	}
	if !reflect.DeepEqual(app.Labels, want) {
		t.Errorf("labels = %v", app.Labels)
	}
	// No migration API: the scheduler serves no /v1/plan for Marathon's
	// migration protocol, so the label must not promise one.
	if _, ok := app.Labels["DCOS_MIGRATION_API_VERSION"]; ok {
		t.Error("DCOS_MIGRATION_API_VERSION set without a migration API")
	}
	f := app.Fetch[0]
	if !f.Executable || f.Extract == nil || *f.Extract || f.DestPath != "arangomesos" ||
		f.URI != "https://github.com/arangomesos/arangomesos/releases/download/v0.1.0/arangomesos-linux-amd64" {
		t.Errorf("fetch = %+v", f)
	}
	for _, s := range []string{`ARANGOMESOS_LISTEN="0.0.0.0:$PORT0"`, `ARANGOMESOS_ADVERTISE_URL="http://$HOST:$PORT0"`,
		`exec "$MESOS_SANDBOX/arangomesos" scheduler`} {
		if !strings.Contains(app.Cmd, s) {
			t.Errorf("cmd lacks %s: %s", s, app.Cmd)
		}
	}
	if len(app.PortDefinitions) != 1 || app.PortDefinitions[0].Name != "api" {
		t.Errorf("ports = %+v", app.PortDefinitions)
	}
}

// marathon/arangomesos.json is the template rendered with
// marathon/options.json, so the two can never drift apart; it validates and
// passes the same checks.
func TestPlainMarathonApp(t *testing.T) {
	p := loadPackage(t)
	b := readFile(t, plainApp)
	want := render(t, p, readFile(t, plainOptions))
	if !bytes.Equal(b, want) {
		t.Fatalf("%s is not the template rendered with %s; regenerate it:\n  scripts/render-universe.sh marathon/options.json > marathon/arangomesos.json", plainApp, plainOptions)
	}
	if err := compile(t, marathonSchema, "").Validate(instance(t, b)); err != nil {
		t.Fatal(err)
	}
	app, err := ParseApp(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckApp(app); err != nil {
		t.Fatal(err)
	}
	cfg, err := SchedulerConfig(app.PlainEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Master != "zk://localhost:2181/mesos" || cfg.ZK != "zk://localhost:2181/arangomesos" {
		t.Errorf("plain master/zk = %q %q", cfg.Master, cfg.ZK)
	}
}

func TestBadOptionsAreRefused(t *testing.T) {
	p := loadPackage(t)
	for opts, want := range map[string]string{
		`{"service":{"nmae":"x"}}`:                    "'nmae' not allowed",
		`{"srevice":{}}`:                              "'srevice' not allowed",
		`{"service":{"name":"Has Space"}}`:            "pattern",
		`{"service":{"name":"a/b"}}`:                  "pattern",
		`{"agents":{"count":4}}`:                      "one of 1, 3, 5, 7, 9",
		`{"dbservers":{"count":0}}`:                   "minimum",
		`{"dbservers":{"count":"3"}}`:                 "string",
		`{"agents":{"cpus":0}}`:                       "exclusiveMinimum",
		`{"service":{"mesos_master":"zk://a\"b"}}`:    "pattern",
		`{"service":{"replace_timeout":"5 minutes"}}`: "pattern",
		`{"service":{"artifact_url":"ftp://x/y"}}`:    "pattern",
		`{"service":{"log_level":"verbose"}}`:         "one of 'debug'",
		`{"service":{"name":"a","name":"b"}}`:         "duplicate key",
		`[1]`:                                         "object",
		`{"autoscale":{"enabled":"yes"}}`:             "boolean",
		`{"service":{"zookeeper":"host:2181/path"}}`:  "pattern",
		`{"service":{"zookeeper_path":"no-slash"}}`:   "pattern",
		`{"database":{"root_password_secret":"a b"}}`: "pattern",
	} {
		_, err := p.Options([]byte(opts))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("options %s: err = %v, want it to mention %q", opts, err, want)
		}
	}
}

// A name the options do not have is an error, not an empty string.
func TestTemplateNamesMustExist(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{PackageFile, ConfigFile, ResourceFile} {
		if err := os.WriteFile(filepath.Join(dir, f), readFile(t, filepath.Join(universeDir, f)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tmpl := `{"id": "/{{service.name}}", "cmd": "{{service.nmae}}"}`
	if err := os.WriteFile(filepath.Join(dir, TemplateFile), []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := LoadPackage(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.RenderOptions(nil); !errors.Is(err, ErrTemplate) || !strings.Contains(err.Error(), "service.nmae") {
		t.Fatalf("err = %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, TemplateFile), []byte(`{"id": "{{service}}"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if p, err = LoadPackage(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := p.RenderOptions(nil); !errors.Is(err, ErrTemplate) {
		t.Fatalf("an object as a value: err = %v", err)
	}
}

// package.json's notes and resource.json agree with the rest of the project:
// the install notes state what the default cluster needs (computed from
// scheduler.DefaultConfig), the post-install notes name the web UI and the
// coordinator endpoints, the binary's URL carries the package version, and
// the icons are https URLs of PNG files in this repository.
func TestPackageMetadata(t *testing.T) {
	p := loadPackage(t)
	m := p.Meta
	if m["packagingVersion"] != "4.0" || m["name"] != "arangomesos" || m["framework"] != true {
		t.Errorf("packagingVersion/name/framework = %v/%v/%v", m["packagingVersion"], m["name"], m["framework"])
	}
	v, _ := m["minDcosReleaseVersion"].(string)
	var major, minor int
	if _, err := fmt.Sscanf(v, "%d.%d", &major, &minor); err != nil || major < 1 || (major == 1 && minor < 10) {
		t.Errorf("minDcosReleaseVersion %q: upgradesFrom/downgradesTo need DC/OS 1.10+", v)
	}
	for _, k := range []string{"upgradesFrom", "downgradesTo", "tags"} {
		if l, _ := m[k].([]any); len(l) == 0 {
			t.Errorf("%s is empty", k)
		}
	}
	post, _ := m["postInstallNotes"].(string)
	for _, s := range []string{"Open Service", "/service/<name>/", "/v1/endpoints", "/v1/health"} {
		if !strings.Contains(post, s) {
			t.Errorf("postInstallNotes do not mention %s", s)
		}
	}
	d := scheduler.DefaultConfig()
	tasks := float64(d.Agents + d.DBServers + d.Coordinators)
	schedCPUs, _ := p.Defaults()["service"].(map[string]any)["cpus"].(json.Number).Float64()
	schedMem, _ := p.Defaults()["service"].(map[string]any)["mem"].(json.Number).Float64()
	cpus := float64(d.Agents)*d.AgentRes.CPUs + float64(d.DBServers)*d.DBServerRes.CPUs + float64(d.Coordinators)*d.CoordRes.CPUs + tasks*d.ExecutorRes.CPUs + schedCPUs
	mem := float64(d.Agents)*d.AgentRes.Mem + float64(d.DBServers)*d.DBServerRes.Mem + float64(d.Coordinators)*d.CoordRes.Mem + tasks*d.ExecutorRes.Mem + schedMem
	disk := float64(d.Agents)*d.AgentRes.Disk + float64(d.DBServers)*d.DBServerRes.Disk
	pre, _ := m["preInstallNotes"].(string)
	need := fmt.Sprintf("%s CPUs, %s MB of memory and %s MB of disk", strconv.FormatFloat(cpus, 'f', -1, 64),
		strconv.FormatFloat(mem, 'f', -1, 64), strconv.FormatFloat(disk, 'f', -1, 64))
	if !strings.Contains(pre, need) {
		t.Errorf("preInstallNotes should say %q:\n%s", need, pre)
	}
	if !strings.Contains(pre, fmt.Sprintf("at least %d Mesos agents", max(d.Agents, d.DBServers, d.Coordinators))) {
		t.Errorf("preInstallNotes should say how many Mesos agents unique-host placement needs")
	}

	version, _ := m["version"].(string)
	uri, _ := lookupPath(p.Resource, "assets.uris.arangomesos-linux-amd64")
	if s, _ := uri.(string); !strings.HasPrefix(s, "https://") || !strings.Contains(s, "/v"+version+"/") {
		t.Errorf("binary asset %v does not carry version %s", uri, version)
	}
	for name, size := range map[string]int{"icon-small": 48, "icon-medium": 128, "icon-large": 256} {
		u, _ := lookupPath(p.Resource, "images."+name)
		s, _ := u.(string)
		if !strings.HasPrefix(s, "https://") || !strings.HasSuffix(s, "/universe/images/"+name+".png") {
			t.Errorf("%s = %q", name, s)
			continue
		}
		f, err := os.Open(filepath.Join(universeDir, "images", name+".png"))
		if err != nil {
			t.Error(err)
			continue
		}
		cfg, err := png.DecodeConfig(f)
		f.Close()
		if err != nil || cfg.Width != size || cfg.Height != size {
			t.Errorf("%s.png: %v, %dx%d, want %dx%d", name, err, cfg.Width, cfg.Height, size, size)
		}
	}
}
