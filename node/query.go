package node

import (
	"errors"
	"net/http"

	"github.com/arangomesos/arangomesos/node/aql"
	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/coordinator"
	"github.com/arangomesos/arangomesos/node/dbserver"
)

// queryEngine and shardQueryParser connect the AQL subset (node/aql) to the
// coordinator and the DBServers.
var (
	queryEngine      coordinator.QueryEngine = aqlEngine{}
	shardQueryParser                         = func(b []byte) (dbserver.ShardQuery, error) {
		p, err := aql.ParseShardQuery(b)
		if err != nil {
			return nil, aqlError(err)
		}
		return p, nil
	}
)

// aqlEngine parses and binds queries with node/aql.
type aqlEngine struct{}

func (aqlEngine) Plan(query string, bindVars map[string]any) (coordinator.QueryPlan, error) {
	q, err := aql.Parse(query)
	if err != nil {
		return nil, aqlError(err)
	}
	p, err := q.Bind(bindVars)
	if err != nil {
		return nil, aqlError(err)
	}
	return p, nil
}

// aqlError turns an *aql.Error into ArangoDB's error answer (400).
func aqlError(err error) error {
	var ae *aql.Error
	if errors.As(err, &ae) {
		return arangohttp.Errorf(http.StatusBadRequest, ae.Num, "%s", ae.Message)
	}
	return err
}
