package packaging

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// RenderConfig is `arangomesos package render`.
type RenderConfig struct {
	// UniverseDir is the package directory (default "universe").
	UniverseDir string
	// Options is a JSON options file as for `dcos package install
	// --options`; empty renders the defaults, "-" reads standard input.
	Options string
	// Out is where the app goes; empty or "-" is standard output.
	Out string
	// MarathonSchema, when set, is Marathon's AppDefinition.json to validate
	// the result against.
	MarathonSchema string
}

// Render merges the options over config.json's defaults, renders the
// template, checks the app (CheckApp, and the Marathon schema when given)
// and writes it.
func Render(cfg RenderConfig, stdin io.Reader, stdout io.Writer) error {
	p, err := LoadPackage(cfg.UniverseDir)
	if err != nil {
		return err
	}
	var opts []byte
	switch cfg.Options {
	case "":
	case "-":
		if opts, err = io.ReadAll(stdin); err != nil {
			return err
		}
	default:
		if opts, err = os.ReadFile(cfg.Options); err != nil {
			return err
		}
	}
	out, err := p.RenderOptions(opts)
	if err != nil {
		return err
	}
	app, err := ParseApp(out)
	if err != nil {
		return err
	}
	if err := CheckApp(app); err != nil {
		return fmt.Errorf("the rendered app is not a sound scheduler app: %w", err)
	}
	if cfg.MarathonSchema != "" {
		b, err := os.ReadFile(cfg.MarathonSchema)
		if err != nil {
			return err
		}
		sch, err := CompileSchema("AppDefinition.json", b)
		if err != nil {
			return err
		}
		inst, err := DecodeObject(out)
		if err != nil {
			return err
		}
		if err := sch.Validate(inst); err != nil {
			return fmt.Errorf("the rendered app does not match %s: %w", cfg.MarathonSchema, err)
		}
	}
	if cfg.Out == "" || cfg.Out == "-" {
		_, err = stdout.Write(out)
		return err
	}
	return os.WriteFile(cfg.Out, out, 0o644)
}

// DeployConfig is `arangomesos package deploy`.
type DeployConfig struct {
	Marathon      string
	Authorization string
	// App is the app definition file (default marathon/arangomesos.json).
	App string
	// Update replaces the definition of an existing app.
	Update bool
	// Wait is how long to wait for the scheduler to be healthy; 0 returns
	// after Marathon accepted the app.
	Wait time.Duration
	// Poll is the interval between status requests (default 2 s).
	Poll time.Duration
}

// Deploy posts the app to Marathon and waits until the cluster serves.
func Deploy(ctx context.Context, cfg DeployConfig, stdout, stderr io.Writer) error {
	if cfg.Marathon == "" {
		return errors.New("the Marathon URL is required")
	}
	b, err := os.ReadFile(cfg.App)
	if err != nil {
		return err
	}
	m := &Marathon{URL: cfg.Marathon, Authorization: cfg.Authorization, Log: stderr, Poll: cfg.Poll}
	url, err := m.Deploy(ctx, b, cfg.Update, cfg.Wait)
	if err != nil {
		return err
	}
	if url != "" {
		fmt.Fprintf(stdout, "the cluster serves; scheduler at %s (web UI: %s/, coordinators: %s/v1/endpoints)\n", url, url, url)
	}
	return nil
}

// RemoveConfig is `arangomesos package remove`.
type RemoveConfig struct {
	Marathon      string
	Authorization string
	AppID         string
	// Scheduler is the scheduler's URL; empty finds it through Marathon.
	Scheduler string
	// Token (or the contents of TokenFile) is the /v1 API's bearer token.
	Token, TokenFile string
	// SkipUninstall deletes the app without uninstalling the cluster first:
	// reservations, volumes and the ZooKeeper state stay behind.
	SkipUninstall bool
	Timeout       time.Duration
	// Poll is the interval between status requests (default 2 s).
	Poll time.Duration
}

// Remove uninstalls the cluster through the scheduler (POST /v1/uninstall,
// then waits for done), then deletes the Marathon app.
func Remove(ctx context.Context, cfg RemoveConfig, stdout, stderr io.Writer) error {
	if cfg.Marathon == "" {
		return errors.New("the Marathon URL is required")
	}
	m := &Marathon{URL: cfg.Marathon, Authorization: cfg.Authorization, Log: stderr, Poll: cfg.Poll}
	if !cfg.SkipUninstall {
		token := cfg.Token
		if cfg.TokenFile != "" {
			b, err := os.ReadFile(cfg.TokenFile)
			if err != nil {
				return err
			}
			token = strings.TrimSpace(string(b))
		}
		sched := cfg.Scheduler
		var err error
		if sched == "" {
			if sched, err = m.SchedulerURL(ctx, cfg.AppID); err != nil {
				return fmt.Errorf("finding the scheduler: %w (give --scheduler, or --skip-uninstall to leave the cluster's resources behind)", err)
			}
		} else if sched, err = SchedulerBase(sched); err != nil {
			return err
		}
		u := &Uninstaller{SchedulerURL: sched, Token: token, Log: stderr, Poll: cfg.Poll}
		if err := u.Run(ctx, cfg.Timeout); err != nil {
			return fmt.Errorf("uninstall: %w; the Marathon app is left in place so that the scheduler can finish", err)
		}
	} else {
		fmt.Fprintln(stderr, "skipping the uninstall: the cluster's reservations, volumes and state stay behind")
	}
	if err := m.Delete(ctx, cfg.AppID, cfg.Timeout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "removed %s\n", cfg.AppID)
	return nil
}
