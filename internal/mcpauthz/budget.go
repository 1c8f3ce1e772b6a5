package mcpauthz

import (
	"context"

	"golang.org/x/sync/semaphore"
)

// freeEntryBytes is how much of one listing entry a filter holds without
// asking the process-wide budget: nearly every tool, prompt or resource
// fits, so the common case never waits.
const freeEntryBytes = 32 << 10

// entryBudgetBytes bounds the bytes that all filters of the process hold
// for listing entries beyond freeEntryBytes each. An entry that needs more
// than the whole budget gets all of it, alone.
const entryBudgetBytes = 64 << 20

// entryBudget is the process-wide budget for large listing entries.
var entryBudget = semaphore.NewWeighted(entryBudgetBytes)

// entryGrant is what one filter holds of the budget: enough for an entry
// of covers bytes. A filter waits for a larger grant holding nothing of
// the budget, so no two filters wait for each other.
type entryGrant struct {
	acquired int64 // bytes of entryBudget held
	covers   int   // the entry size the grant allows
}

// grow makes the grant cover an entry of need bytes, at most limit. It
// releases what it holds, then waits for a grant of at least twice the
// last one, or until ctx is done.
func (g *entryGrant) grow(ctx context.Context, need, limit int) error {
	if need <= g.covers || need <= freeEntryBytes {
		return nil
	}
	g.release()
	want := max(int64(need-freeEntryBytes), 2*int64(g.covers), freeEntryBytes)
	want = min(want, int64(limit-freeEntryBytes))
	covers := freeEntryBytes + int(want)
	if want >= entryBudgetBytes {
		want, covers = entryBudgetBytes, limit // the whole budget: alone
	}
	if err := entryBudget.Acquire(ctx, want); err != nil {
		return err
	}
	g.acquired, g.covers = want, covers
	return nil
}

// release gives back what the grant holds.
func (g *entryGrant) release() {
	if g.acquired > 0 {
		entryBudget.Release(g.acquired)
	}
	g.acquired, g.covers = 0, 0
}
