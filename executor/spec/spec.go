// Package spec is the executor's input contract: the node spec a task
// carries (JSON in TaskInfo.data), which tells the executor how to start its
// database node. The scheduler builds specs; the executor validates them
// before it starts anything.
package spec

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
)

// NodeSpec describes the database node a task runs.
type NodeSpec struct {
	// Role is AGENT, COORDINATOR or DBSERVER.
	Role string `json:"role"`
	// ServerID is the node's server id; its prefix must fit the role
	// (AGNT-, CRDN-, PRMR-). It stays the same when the task is relaunched on
	// its volume.
	ServerID string `json:"serverId"`
	// Address is the host the node advertises (the Mesos agent's IP or
	// hostname); Port is the port from the offer it listens on.
	Address string `json:"address"`
	Port    int    `json:"port"`
	// AgencyEndpoints are the agents' endpoints, tcp://host:port.
	AgencyEndpoints []string `json:"agencyEndpoints"`
	// AgencySize is the number of agents an agent bootstraps with.
	AgencySize int `json:"agencySize,omitempty"`
	// DataDir is the node's data directory relative to the sandbox: the
	// persistent volume's container path for agents and DBServers.
	DataDir string `json:"dataDir"`
	// Secret is the cluster's JWT secret; the executor writes it to a file
	// readable only by the node.
	Secret string `json:"secret"`
	// RootPassword is the database root password (coordinators).
	RootPassword string `json:"rootPassword,omitempty"`
	LogLevel     string `json:"logLevel,omitempty"`
	// Args are further node flags (e.g. supervision thresholds).
	Args []string `json:"args,omitempty"`
}

// ErrInvalid marks a spec that must not be started.
var ErrInvalid = errors.New("spec: invalid node spec")

var prefixes = map[string]string{"AGENT": "AGNT-", "COORDINATOR": "CRDN-", "DBSERVER": "PRMR-"}

// Decode parses and validates a spec from TaskInfo.data.
func Decode(data []byte) (*NodeSpec, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: the task carries no node spec (TaskInfo.data is empty)", ErrInvalid)
	}
	var s NodeSpec
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// Encode returns the spec as TaskInfo.data.
func (s *NodeSpec) Encode() []byte {
	b, _ := json.Marshal(s)
	return b
}

// Validate checks that the spec can be started: a known role, a server id
// that fits it, an address and port, at least one agency endpoint, a data
// directory inside the sandbox, and a secret.
func (s *NodeSpec) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	prefix, ok := prefixes[s.Role]
	if !ok {
		return bad("role %q is not AGENT, COORDINATOR or DBSERVER", s.Role)
	}
	if !strings.HasPrefix(s.ServerID, prefix) || len(s.ServerID) <= len(prefix) {
		return bad("server id %q does not fit role %s (expected prefix %s)", s.ServerID, s.Role, prefix)
	}
	if s.Address == "" || strings.ContainsAny(s.Address, " /") {
		return bad("address %q is not a host", s.Address)
	}
	if s.Port < 1 || s.Port > 65535 {
		return bad("port %d is out of range", s.Port)
	}
	if len(s.AgencyEndpoints) == 0 {
		return bad("no agency endpoint")
	}
	for _, ep := range s.AgencyEndpoints {
		hp := strings.TrimPrefix(ep, "tcp://")
		if _, _, err := net.SplitHostPort(hp); err != nil || !strings.HasPrefix(ep, "tcp://") {
			return bad("agency endpoint %q is not tcp://host:port", ep)
		}
	}
	if s.Role == "AGENT" && (s.AgencySize < 1 || s.AgencySize%2 == 0) {
		return bad("agency size %d must be odd", s.AgencySize)
	}
	if s.DataDir == "" || filepath.IsAbs(s.DataDir) || strings.HasPrefix(filepath.Clean(s.DataDir), "..") {
		return bad("data directory %q must be a path inside the sandbox", s.DataDir)
	}
	if s.Secret == "" {
		return bad("no cluster secret")
	}
	return nil
}

// Endpoint is the node's endpoint, tcp://address:port.
func (s *NodeSpec) Endpoint() string {
	return "tcp://" + net.JoinHostPort(s.Address, fmt.Sprint(s.Port))
}
