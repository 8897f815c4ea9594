package localcluster

import (
	"fmt"
	"time"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// NodeSpec describes one node process.
type NodeSpec struct {
	Role       cluster.Role
	ID         string
	Endpoint   string // tcp://ip:port
	DataDir    string
	Agency     []string // agent endpoints
	AgencySize int
	SecretFile string
	// ElectionTimeout, when set, tunes the agents' Raft elections.
	ElectionTimeout time.Duration
	LogLevel        string
	// RootPasswordFile is the root password of coordinators.
	RootPasswordFile string `json:",omitempty"`
	Extra            []string
}

// NodeArgs returns the command line (after the binary) of a node process.
func NodeArgs(s NodeSpec) []string {
	args := []string{"node", "--cluster.my-role", string(s.Role), "--server.endpoint", s.Endpoint,
		"--database.directory", s.DataDir}
	if s.ID != "" {
		args = append(args, "--cluster.my-id", s.ID)
	}
	for _, a := range s.Agency {
		args = append(args, "--cluster.agency-endpoint", a)
	}
	if s.Role == cluster.RoleAgent && s.AgencySize > 0 {
		args = append(args, "--agency.size", fmt.Sprint(s.AgencySize))
	}
	if s.Role == cluster.RoleAgent && s.ElectionTimeout > 0 {
		args = append(args, "--agency.election-timeout", s.ElectionTimeout.String())
	}
	if s.SecretFile != "" {
		args = append(args, "--server.jwt-secret-keyfile", s.SecretFile)
	}
	if s.Role == cluster.RoleCoordinator && s.RootPasswordFile != "" {
		args = append(args, "--server.root-password-file", s.RootPasswordFile)
	}
	if s.LogLevel != "" {
		args = append(args, "--log.level", s.LogLevel)
	}
	return append(args, s.Extra...)
}
