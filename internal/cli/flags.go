package cli

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// NewFlagSet returns a flag set for a subcommand that reports errors instead
// of exiting and prints its usage to w.
func NewFlagSet(name, synopsis string, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprintf(w, "Usage: arangomesos %s %s\n\nFlags (each also settable as ARANGOMESOS_<FLAG>):\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// Parse parses args into fs, then fills every flag not given on the command
// line from its environment variable (see EnvName). A value from the
// environment that does not parse is a usage error naming the variable.
// Positional arguments are refused, because no subcommand takes any.
func Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return Usagef("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		v, ok := os.LookupEnv(EnvName(f.Name))
		if !ok {
			return
		}
		if rep, isRep := f.Value.(*StringList); isRep {
			for _, item := range strings.Split(v, ",") {
				if item = strings.TrimSpace(item); item != "" {
					_ = rep.Set(item)
				}
			}
			return
		}
		if e := f.Value.Set(v); e != nil {
			err = Usagef("environment variable %s=%q: %v", EnvName(f.Name), v, e)
		}
	})
	return err
}

// StringList is a repeatable string flag (--x a --x b). From the
// environment it takes a comma-separated list.
type StringList []string

func (s *StringList) String() string { return strings.Join(*s, ",") }

// Set appends one value.
func (s *StringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}
