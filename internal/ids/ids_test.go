package ids

import (
	"sort"
	"sync"
	"testing"
	"time"
)

// X5: ids sort by creation time, also within one millisecond and from
// many goroutines, and when the clock stands still or goes back.
func TestSortable(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	g := New(clock)
	var got []string
	for i := range 10000 {
		if i == 5000 {
			mu.Lock()
			now = now.Add(-time.Second) // the clock goes back
			mu.Unlock()
		}
		got = append(got, g.NewID())
	}
	if !sort.StringsAreSorted(got) {
		t.Fatal("ids are not in creation order")
	}
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
		if len(id) != 36 || id[14] != '7' {
			t.Fatalf("%s is not a UUIDv7", id)
		}
	}
	var wg sync.WaitGroup
	var all sync.Map
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				if _, dup := all.LoadOrStore(g.NewID(), true); dup {
					t.Error("duplicate id under concurrency")
				}
			}
		})
	}
	wg.Wait()
}
