package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// Version is the version of the binary. Release builds set it with
// -ldflags "-X github.com/arangomesos/arangomesos/internal/cli.Version=…".
var Version = "0.1.0-dev"

// Command is one subcommand of the arangomesos binary.
type Command struct {
	// Name is the word on the command line, e.g. "node".
	Name string
	// Summary is one line for `arangomesos help`.
	Summary string
	// Run parses args (everything after the subcommand name) and runs the
	// command until ctx is cancelled or the work is done. stdout is for the
	// command's user-facing output; logs go to stderr.
	Run func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = map[string]Command{}

// Register adds a subcommand. It panics on a duplicate name, which is a
// programming error caught by the first test run.
func Register(c Command) {
	if _, dup := commands[c.Name]; dup {
		panic("cli: duplicate command " + c.Name)
	}
	commands[c.Name] = c
}

// ErrUsage marks errors caused by a wrong command line; the binary exits
// with status 2 for them, as flag parsing conventionally does.
var ErrUsage = errors.New("usage")

// Usagef returns an error wrapping ErrUsage.
func Usagef(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUsage, fmt.Sprintf(format, args...))
}

// ExitCode maps an error returned by Main to a process exit status.
func ExitCode(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrUsage), errors.Is(err, flag.ErrHelp):
		return 2
	default:
		return 1
	}
}

// Main runs the subcommand named by args[0].
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	Register(Command{Name: "version", Summary: "print the version", Run: func(_ context.Context, _ []string, out, _ io.Writer) error {
		_, err := fmt.Fprintf(out, "arangomesos %s\n", Version)
		return err
	}})
	defer delete(commands, "version")
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				return c.Run(ctx, []string{"-h"}, stdout, stderr)
			}
		}
		printHelp(stdout)
		if len(args) == 0 {
			return Usagef("no command given")
		}
		return nil
	}
	if args[0] == "--version" {
		args[0] = "version"
	}
	c, ok := commands[args[0]]
	if !ok {
		printHelp(stderr)
		return Usagef("unknown command %q", args[0])
	}
	return c.Run(ctx, args[1:], stdout, stderr)
}

func printHelp(w io.Writer) {
	fmt.Fprintf(w, "arangomesos %s: a self-healing ArangoDB-style cluster on Apache Mesos\n\n", Version)
	fmt.Fprintln(w, "Usage: arangomesos <command> [flags]")
	fmt.Fprintln(w, "\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, n := range names {
		fmt.Fprintf(tw, "  %s\t%s\n", n, commands[n].Summary)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nRun 'arangomesos help <command>' for the flags of a command.")
	fmt.Fprintln(w, "Every flag can also be set as ARANGOMESOS_<FLAG> (upper case, '-' and '.' as '_').")
}

// EnvName is the environment variable that sets flag name:
// "server.endpoint" → "ARANGOMESOS_SERVER_ENDPOINT".
func EnvName(name string) string {
	r := strings.NewReplacer("-", "_", ".", "_")
	return "ARANGOMESOS_" + strings.ToUpper(r.Replace(name))
}
