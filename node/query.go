package node

import (
	"github.com/arangomesos/arangomesos/node/coordinator"
	"github.com/arangomesos/arangomesos/node/dbserver"
)

// queryEngine and shardQueryParser connect the AQL subset (node/aql) to the
// coordinator and the DBServers; nil until node/aql is merged.
var (
	queryEngine      coordinator.QueryEngine
	shardQueryParser func([]byte) (dbserver.ShardQuery, error)
)
