package admission

import (
	"fmt"
	"testing"
	"time"
)

// otherSource finds a source whose bucket in t differs from (or, with
// shared set, equals) the bucket of s.
func otherSource(t *testing.T, table *failureTable, s Source, shared bool) Source {
	t.Helper()
	for i := range 1 << 20 {
		o := SourceOf(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
		if o != s && (table.bucket(o) == table.bucket(s)) == shared {
			return o
		}
	}
	t.Fatalf("no source found")
	return Source{}
}

func TestFailureTable(t *testing.T) {
	table := newFailureTable(64)
	now := table.epoch.Add(time.Hour)
	a := SourceOf("192.0.2.1")
	for i := range SuspectAfter - 1 {
		table.failed(a, now)
		if table.suspect(a, now) {
			t.Fatalf("suspect after %d failures; want only after %d", i+1, SuspectAfter)
		}
	}
	table.failed(a, now)
	if !table.suspect(a, now) || !table.suspect(a, now.Add(SuspectFor-time.Millisecond)) {
		t.Error("not suspect within SuspectFor after its last failure")
	}
	if table.suspect(a, now.Add(SuspectFor)) {
		t.Error("still suspect when its time ran out")
	}
	if table.suspect(otherSource(t, table, a, false), now) {
		t.Error("a source in another bucket is suspect")
	}
	if !table.suspect(otherSource(t, table, a, true), now) {
		t.Error("a source in the same bucket is not suspect")
	}
	// A later failure extends the suspicion.
	table.failed(a, now.Add(30*time.Second))
	if !table.suspect(a, now.Add(SuspectFor+time.Second)) {
		t.Error("a later failure did not extend it")
	}
	// An accepted token takes one failure back.
	later := now.Add(40 * time.Second)
	table.accepted(a, later)
	table.accepted(a, later)
	if table.suspect(a, later) {
		t.Error("still suspect after accepted tokens took failures back")
	}
	table.failed(a, later)
	if !table.suspect(a, later) {
		t.Error("not suspect once the failures lead again")
	}
	// Failures older than SuspectFor are forgotten, not added to.
	fresh := later.Add(SuspectFor)
	table.failed(a, fresh)
	if table.suspect(a, fresh) {
		t.Error("suspect after one failure once the old ones were forgotten")
	}
}

func TestFailureTableSeed(t *testing.T) {
	// Two tables put the same sources in different buckets: the seed is
	// random, so nobody can pick addresses that share someone's bucket.
	t1, t2 := newFailureTable(FailureBuckets), newFailureTable(FailureBuckets)
	differ := 0
	for i := range 64 {
		s := SourceOf(fmt.Sprintf("198.51.100.%d", i))
		if bucketIndex(t1, s) != bucketIndex(t2, s) {
			differ++
		}
	}
	if differ == 0 {
		t.Error("64 sources fall into the same buckets of two tables")
	}
}

// bucketIndex is the position of s's bucket in t.
func bucketIndex(t *failureTable, s Source) int {
	b := t.bucket(s)
	for i := range t.buckets {
		if &t.buckets[i] == b {
			return i
		}
	}
	return -1
}
