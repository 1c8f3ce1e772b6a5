package jose

import (
	"errors"
	"testing"
)

// TestAudienceNullIsNoString: aud must be a string or an array of strings.
// JSON null is neither, so it never counts as an audience, not even as ""
// (which encoding/json would make of it).
func TestAudienceNullIsNoString(t *testing.T) {
	f := newVerifyFixture(t)
	for _, tc := range []struct {
		name       string
		configured []string
		member     string
		want       error
	}{
		{"null beside an accepted audience", []string{testAudience}, `"aud":[null,"` + testAudience + `"]`, ErrAudience},
		{"null with an empty audience configured", []string{""}, `"aud":null`, ErrAudience},
		{"array of null with an empty audience configured", []string{""}, `"aud":[null]`, ErrAudience},
		{"empty string with an empty audience configured", []string{""}, `"aud":""`, nil},
		{"array of strings", []string{testAudience}, `"aud":["api://x","` + testAudience + `"]`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestVerifier(t, f.keys, withAudience(tc.configured...))
			_, err := v.Verify(f.seal(t, []byte(validPayload(tc.member))))
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}
