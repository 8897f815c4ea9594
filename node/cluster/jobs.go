package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// ErrJobIDTaken is returned by CreateJob when Target/ToDo already holds a job
// under the id it reserved (another writer bypassed Sync/LatestID).
var ErrJobIDTaken = errors.New("cluster: job id is taken")

// ReserveIDs reserves n cluster-wide unique ids from Sync/LatestID in one
// Agency transaction and returns the first; the ids are first…first+n-1.
// It fails when the Agency cannot be reached or the counter is malformed.
func ReserveIDs(ctx context.Context, ac *AgencyClient, n int) (uint64, error) {
	if n < 1 {
		return 0, fmt.Errorf("cluster: reserve %d ids: need at least one", n)
	}
	res, err := ac.Transact(ctx,
		TransactItem{Write: &Transaction{Ops: map[string]Operation{SyncLatestID: Increment(int64(n))}}},
		TransactItem{Read: ReadQuery{SyncLatestID}})
	if err != nil {
		return 0, fmt.Errorf("cluster: reserve ids: %w", err)
	}
	if len(res) < 2 {
		return 0, fmt.Errorf("cluster: reserve ids: short answer from the Agency")
	}
	var v json.Number
	if _, err := ExtractPath(res[1], SyncLatestID, &v); err != nil {
		return 0, fmt.Errorf("cluster: reserve ids: %w", err)
	}
	top, err := strconv.ParseUint(v.String(), 10, 64)
	if err != nil || top < uint64(n) {
		return 0, fmt.Errorf("cluster: reserve ids: bad counter %q", v)
	}
	return top - uint64(n), nil
}

// CreateJob files j in Target/ToDo under a fresh id from Sync/LatestID,
// setting its id, creator and creation time, and returns the id. The
// Supervision picks it up on its next round. It fails with
// ErrAgencyUnavailable (wrapped) when the Agency cannot be reached and with
// ErrJobIDTaken when the id is already used.
func CreateJob(ctx context.Context, ac *AgencyClient, creator string, j Job) (string, error) {
	n, err := ReserveIDs(ctx, ac, 1)
	if err != nil {
		return "", err
	}
	id := strconv.FormatUint(n, 10)
	j.JobID, j.Creator, j.TimeCreated = id, creator, FormatTime(time.Now())
	key := Join(TargetToDo, id)
	res, err := ac.Write(ctx, Transaction{Ops: map[string]Operation{key: Set(&j)},
		Preconds: map[string]Precondition{key: OldEmpty(true)}})
	if err != nil {
		return "", fmt.Errorf("cluster: create %s job: %w", j.Type, err)
	}
	if !res.OK() {
		return "", fmt.Errorf("%w: %s", ErrJobIDTaken, id)
	}
	return id, nil
}
