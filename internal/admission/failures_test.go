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
	now := time.Unix(1_700_000_000, 0)
	table := newFailureTable(64)
	a := SourceOf("192.0.2.1")
	if table.suspect(a, now) {
		t.Fatal("suspect before any failure")
	}
	table.mark(a, now.Add(time.Minute))
	if !table.suspect(a, now) || !table.suspect(a, now.Add(time.Minute-time.Nanosecond)) {
		t.Error("not suspect within the minute after its failure")
	}
	if table.suspect(a, now.Add(time.Minute)) {
		t.Error("still suspect when its time ran out")
	}
	if table.suspect(otherSource(t, table, a, false), now) {
		t.Error("a source in another bucket is suspect")
	}
	if !table.suspect(otherSource(t, table, a, true), now) {
		t.Error("a source in the same bucket is not suspect")
	}
	// An earlier mark never shortens a later one.
	table.mark(a, now.Add(time.Second))
	if !table.suspect(a, now.Add(time.Minute-time.Second)) {
		t.Error("an earlier mark shortened the later one")
	}
	table.mark(a, now.Add(2*time.Minute))
	if !table.suspect(a, now.Add(time.Minute+time.Second)) {
		t.Error("a later mark did not extend it")
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
	for i := range t.until {
		if &t.until[i] == b {
			return i
		}
	}
	return -1
}
