package dbserver

import (
	"fmt"
	"net/http"

	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/dbserver/storage"
	"github.com/arangomesos/arangomesos/node/shardapi"
)

func errRefused(format string, args ...any) *arangohttp.Error {
	return arangohttp.Errorf(http.StatusNotAcceptable, arangohttp.ErrNumFollowerRefusesOperation,
		"follower refuses operation: "+format, args...)
}

// applyEntries applies a leader's operations on a follower, in order after
// its last applied one. Entries it already has are skipped (a resend after
// a timeout); a gap, or a sender that is not the leader it follows in that
// term, is refused with 1490.
func (sh *shard) applyEntries(from leaderRef, entries []shardapi.Entry, waitForSync bool) (uint64, error) {
	sh.mu.Lock()
	if sh.role != roleFollower || sh.following != from {
		f := sh.following
		r := sh.role
		sh.mu.Unlock()
		return 0, errRefused("%s is %s and follows %s/%d/%d, not %s/%d/%d", sh.name, r, f.id, f.reboot, f.term, from.id, from.reboot, from.term)
	}
	st := sh.store.State()
	last := st.Seq
	if st.Leader != from.id || st.Term != from.term {
		sh.mu.Unlock()
		return 0, errRefused("%s holds no position in term %d of %s", sh.name, from.term, from.id)
	}
	var todo []shardapi.Entry
	for _, e := range entries {
		if e.Seq <= last {
			continue
		}
		if e.Seq != last+1 {
			sh.mu.Unlock()
			return 0, errRefused("%s: operation %d does not follow %d", sh.name, e.Seq, last)
		}
		todo = append(todo, e)
		last = e.Seq
	}
	if len(todo) > 0 {
		err := sh.store.Update(func(tx *storage.Tx) error {
			for _, e := range todo {
				if err := applyMutations(tx, e.Muts); err != nil {
					return err
				}
				if e.OpID != "" && e.Result != nil {
					if err := tx.SetOpResult(e.OpID, e.Result, sh.srv.cfg.OpIDTTL); err != nil {
						return err
					}
				}
			}
			tx.SetPosition(from.id, from.term, last)
			return nil
		})
		if err != nil {
			sh.mu.Unlock()
			return 0, fmt.Errorf("dbserver: apply on %s: %w", sh.name, err)
		}
		sh.clock.Observe(sh.store.State().MaxRev)
	}
	sh.mu.Unlock()
	if waitForSync {
		if err := sh.store.Sync(); err != nil {
			return 0, err
		}
	}
	return last, nil
}
