package main

import "testing"

// Invalid node flags end the command at once with exit code 2 and the
// reason, before anything binds a port or touches the data directory.
func TestNodeRefusesInvalidFlags(t *testing.T) {
	refusesFlags(t, []string{"node", "--server.endpoint", "tcp://127.0.0.1:1", "--database.directory", t.TempDir(),
		"--cluster.agency-endpoint", "tcp://127.0.0.1:2"}, []flagCase{
		{[]string{"--cluster.my-role", "LEADER"}, "unknown role"},
		{[]string{"--cluster.my-role", "AGENT", "--agency.size", "2"}, "--agency.size must be odd"},
		{[]string{"--cluster.my-role", "COORDINATOR", "--server.drain-delay", "-1s"}, "--server.drain-delay must be between 0 and 4s"},
		{[]string{"--cluster.my-role", "COORDINATOR", "--server.drain-delay", "1m"}, "--server.drain-delay must be between 0 and 4s"},
		{[]string{"--cluster.my-role", "COORDINATOR", "--server.drain-delay", "soon"}, "invalid value"},
		{[]string{"--cluster.my-role", "COORDINATOR", "--server.endpoint", "localhost"}, "--server.endpoint"},
		{[]string{"--cluster.my-role", "DBSERVER", "--server.max-procs", "-1"}, "--server.max-procs must be between 0 (the default) and 1024"},
		{[]string{"--cluster.my-role", "DBSERVER", "--server.max-procs", "two"}, "invalid value"},
	})
}
