package mcpjweauth

import (
	"reflect"
	"strings"
	"sync"
)

// subdirectiveNames are the names of the Caddyfile subdirectives: the JSON
// names of the handler's fields, which are the same by design.
var subdirectiveNames = sync.OnceValue(func() []string {
	var names []string
	t := reflect.TypeFor[Handler]()
	for i := 0; i < t.NumField(); i++ {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
})

// didYouMean is ` (did you mean '<name>'?)` for the subdirective closest to
// the unknown name, or "" when none is close: one edit (a typo, a missing
// or extra letter), or up to one for every three letters of a longer name.
// Letter case does not count.
func didYouMean(unknown string) string {
	lower := strings.ToLower(unknown)
	best, bestDistance := "", max(1, len(lower)/3)+1
	for _, name := range subdirectiveNames() {
		if d := editDistance(lower, name); d < bestDistance {
			best, bestDistance = name, d
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean '" + best + "'?)"
}

// editDistance is the Levenshtein distance of a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
