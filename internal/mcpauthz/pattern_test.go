package mcpauthz

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

func TestPatternMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		yes, no []string
	}{
		{"get_weather", []string{"get_weather"}, []string{"", "get_weather2", "xget_weather", "Get_weather"}},
		{"*", []string{"", "a", "anything/at/all"}, nil},
		{"admin_*", []string{"admin_", "admin_delete"}, []string{"admin", "xadmin_delete", "Admin_x"}},
		{"*_delete", []string{"_delete", "user_delete"}, []string{"user_delete_", "delete"}},
		{"file:///*/secret", []string{"file:////secret", "file:///a/b/secret"}, []string{"file:///secret", "file:///a/secret/x"}},
		{"a*b*c", []string{"abc", "aXbYc", "abbc", "acbc", "abcbc"}, []string{"ab", "acb", "bac", "abcx"}},
		{"*a*", []string{"a", "xay", "aaa"}, []string{"", "xyz"}},
		{"**", []string{"", "x"}, nil},
		{"a**b", []string{"ab", "axxb"}, []string{"a", "ba"}},
		{"aa*aa", []string{"aaaa", "aaxaa"}, []string{"aaa", "aa"}},
		{"*.txt*", []string{".txt", "a.txt", "a.txt.bak"}, []string{"atxt"}},
		{"ü*", []string{"ü", "über"}, []string{"u", "uber"}},
	} {
		p := compilePattern(tc.pattern)
		for _, s := range tc.yes {
			if !p.match(s) {
				t.Errorf("%q does not match %q", tc.pattern, s)
			}
		}
		for _, s := range tc.no {
			if p.match(s) {
				t.Errorf("%q matches %q", tc.pattern, s)
			}
		}
	}
}

// TestPatternMatchAgainstRegexp compares the matcher with an anchored
// regular expression on many short patterns and names over a tiny alphabet,
// where overlaps and repeated parts are frequent.
func TestPatternMatchAgainstRegexp(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	word := func(alphabet string, max int) string {
		b := make([]byte, rng.IntN(max+1))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	for range 3000 {
		pat := word("ab*", 6)
		re := regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(pat), `\*`, ".*") + "$")
		p := compilePattern(pat)
		for range 20 {
			s := word("ab", 8)
			if got, want := p.match(s), re.MatchString(s); got != want {
				t.Fatalf("pattern %q on %q: got %v, want %v", pat, s, got, want)
			}
		}
	}
}

func TestPatternMatchDoesNotAllocate(t *testing.T) {
	p := compilePattern("tools_*_admin*x")
	allocs := testing.AllocsPerRun(100, func() { p.match("tools_delete_admin_now_x") })
	if allocs != 0 {
		t.Errorf("match allocates %v times", allocs)
	}
}
