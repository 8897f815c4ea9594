package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func TestEnvName(t *testing.T) {
	for in, want := range map[string]string{
		"master":          "ARANGOMESOS_MASTER",
		"server.endpoint": "ARANGOMESOS_SERVER_ENDPOINT",
		"replace-timeout": "ARANGOMESOS_REPLACE_TIMEOUT",
	} {
		if got := EnvName(in); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseEnvFallback(t *testing.T) {
	t.Setenv("ARANGOMESOS_COUNT", "7")
	t.Setenv("ARANGOMESOS_NAME", "from-env")
	t.Setenv("ARANGOMESOS_EP", "a, b")
	fs := NewFlagSet("x", "", io.Discard)
	count := fs.Int("count", 1, "")
	name := fs.String("name", "default", "")
	wait := fs.Duration("wait", time.Second, "")
	var eps StringList
	fs.Var(&eps, "ep", "")
	if err := Parse(fs, []string{"--name", "from-flag"}); err != nil {
		t.Fatal(err)
	}
	if *count != 7 || *name != "from-flag" || *wait != time.Second {
		t.Fatalf("count=%d name=%q wait=%v", *count, *name, *wait)
	}
	if strings.Join(eps, "|") != "a|b" {
		t.Fatalf("eps = %v", eps)
	}
}

func TestParseErrors(t *testing.T) {
	t.Setenv("ARANGOMESOS_COUNT", "seven")
	fs := NewFlagSet("x", "", io.Discard)
	fs.Int("count", 1, "")
	err := Parse(fs, nil)
	if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "ARANGOMESOS_COUNT") {
		t.Fatalf("bad env value: err = %v", err)
	}
	fs2 := NewFlagSet("y", "", io.Discard)
	if err := Parse(fs2, []string{"stray"}); !errors.Is(err, ErrUsage) {
		t.Fatalf("positional arg: err = %v", err)
	}
	fs3 := NewFlagSet("z", "", io.Discard)
	if err := Parse(fs3, []string{"-h"}); !errors.Is(err, flag.ErrHelp) || ExitCode(err) != 2 {
		t.Fatalf("help: err = %v", err)
	}
}

func TestMainDispatch(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := Main(context.Background(), []string{"version"}, &out, &errOut); err != nil || !strings.Contains(out.String(), Version) {
		t.Fatalf("version: %v %q", err, out.String())
	}
	out.Reset()
	if err := Main(context.Background(), []string{"help"}, &out, &errOut); err != nil || !strings.Contains(out.String(), "Commands:") {
		t.Fatalf("help: %v %q", err, out.String())
	}
	if err := Main(context.Background(), []string{"nope"}, &out, &errOut); ExitCode(err) != 2 {
		t.Fatalf("unknown command: %v", err)
	}
}
