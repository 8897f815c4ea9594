package main

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/arangomesos/arangomesos/internal/cli"
	"github.com/arangomesos/arangomesos/internal/packaging"
)

func init() {
	cli.Register(cli.Command{Name: "package", Summary: "render the DC/OS Universe package, deploy the scheduler to Marathon, remove it", Run: runPackage})
}

const packageUsage = "render|deploy|remove [flags]"

func runPackage(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		cli.NewFlagSet("package", packageUsage, stderr).Usage()
		return cli.Usagef("package needs render, deploy or remove")
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "render":
		var cfg packaging.RenderConfig
		fs := cli.NewFlagSet("package render", "[--options FILE] [--universe DIR] [--out FILE]", stderr)
		fs.StringVar(&cfg.UniverseDir, "universe", "universe", "the Universe package directory")
		fs.StringVar(&cfg.Options, "options", "", "options file as for `dcos package install --options` (- for stdin; default: config.json's defaults)")
		fs.StringVar(&cfg.Out, "out", "", "write the Marathon app here (default stdout)")
		fs.StringVar(&cfg.MarathonSchema, "marathon-schema", "", "also validate against this Marathon AppDefinition.json")
		if err := cli.Parse(fs, args); err != nil {
			return err
		}
		return packaging.Render(cfg, os.Stdin, stdout)
	case "deploy":
		var cfg packaging.DeployConfig
		fs := cli.NewFlagSet("package deploy", "--marathon URL [--app FILE] [--update] [--wait 20m]", stderr)
		fs.StringVar(&cfg.Marathon, "marathon", "", "Marathon's URL, e.g. http://marathon:8080 or https://DCOS/service/marathon")
		fs.StringVar(&cfg.Authorization, "authorization", "", "Authorization header for Marathon (DC/OS: token=<dcos config show core.dcos_acs_token>)")
		fs.StringVar(&cfg.App, "app", "marathon/arangomesos.json", "the Marathon app definition")
		fs.BoolVar(&cfg.Update, "update", false, "replace the definition of an existing app")
		fs.DurationVar(&cfg.Wait, "wait", 20*time.Minute, "wait this long for the scheduler to be healthy (0: do not wait)")
		fs.DurationVar(&cfg.Poll, "poll", 2*time.Second, "interval between status requests")
		if err := cli.Parse(fs, args); err != nil {
			return err
		}
		return packaging.Deploy(ctx, cfg, stdout, stderr)
	case "remove":
		var cfg packaging.RemoveConfig
		fs := cli.NewFlagSet("package remove", "--marathon URL [--app-id /arangomesos] [--token-file FILE]", stderr)
		fs.StringVar(&cfg.Marathon, "marathon", "", "Marathon's URL")
		fs.StringVar(&cfg.Authorization, "authorization", "", "Authorization header for Marathon")
		fs.StringVar(&cfg.AppID, "app-id", "/arangomesos", "the Marathon app id of the scheduler")
		fs.StringVar(&cfg.Scheduler, "scheduler", "", "the scheduler's URL (default: found through Marathon)")
		fs.StringVar(&cfg.Token, "token", "", "bearer token of the scheduler's /v1 API")
		fs.StringVar(&cfg.TokenFile, "token-file", "", "file with the bearer token")
		fs.BoolVar(&cfg.SkipUninstall, "skip-uninstall", false, "delete the app without uninstalling: leaves reservations, volumes and state behind")
		fs.DurationVar(&cfg.Timeout, "timeout", 15*time.Minute, "how long the uninstall and the delete may take")
		fs.DurationVar(&cfg.Poll, "poll", 2*time.Second, "interval between status requests")
		if err := cli.Parse(fs, args); err != nil {
			return err
		}
		return packaging.Remove(ctx, cfg, stdout, stderr)
	}
	return cli.Usagef("package: unknown subcommand %q (render, deploy or remove)", sub)
}
