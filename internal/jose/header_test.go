package jose

import (
	"errors"
	"strings"
	"testing"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
)

func TestCompactSplit(t *testing.T) {
	header := josetest.B64([]byte(`{"alg":"RSA-OAEP","enc":"A256GCM"}`))
	part := josetest.B64([]byte("part"))  // "cGFydA"
	odd := josetest.B64([]byte("partly")) // "cGFydGx5", whole groups
	tag := josetest.B64(make([]byte, 16)) // 22 characters: 4 trailing bits
	join := func(parts ...string) string { return strings.Join(parts, ".") }
	for _, tc := range []struct {
		name  string
		token string
		n     int
		ok    bool
	}{
		{"five parts", join(header, part, part, odd, tag), 5, true},
		{"empty encrypted key (ECDH-ES)", join(header, "", part, odd, tag), 5, true},
		{"three parts for a JWS", join(header, odd, tag), 3, true},
		{"JWS with an empty signature", join(header, odd, ""), 3, true},

		{"four parts", join(header, part, part, odd), 5, false},
		{"six parts", join(header, part, part, odd, tag, tag), 5, false},
		{"five parts where three are wanted", join(header, part, part, odd, tag), 3, false},
		{"no dots", header, 5, false},
		{"empty", "", 5, false},
		{"only dots", "....", 5, false},
		{"empty header", join("", part, part, odd, tag), 5, false},
		{"padding", join(header, part, part, odd, tag+"=="), 5, false},
		{"short padding", join(header, part, part, part+"=", tag), 5, false},
		{"standard alphabet +", join(header, part, part, "ab+c", tag), 5, false},
		{"standard alphabet /", join(header, part, part, "ab/c", tag), 5, false},
		{"trailing bits", join(header, part, part, odd, tag[:21]+"B"), 5, false},
		{"impossible length", join(header, part, part, "abcde", tag), 5, false},
		{"space", join(header, part, part, "ab cd", tag), 5, false},
		{"line feed", join(header, part, part, "ab\ncd", tag), 5, false},
		{"carriage return", join(header, part, part, "ab\rcd", tag), 5, false},
		{"line break in the header", join(header[:4]+"\r\n"+header[4:], part, part, odd, tag), 5, false},
		{"non-ASCII", join(header, part, part, "abcé", tag), 5, false},
		{"JSON serialisation", `{"protected":"` + header + `","ciphertext":"` + odd + `"}`, 5, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := splitCompact(tc.token, tc.n)
			if !tc.ok {
				if !errors.Is(err, ErrNotCompact) {
					t.Fatalf("got %v, want %v", err, ErrNotCompact)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if string(got) != `{"alg":"RSA-OAEP","enc":"A256GCM"}` {
				t.Errorf("header %q", got)
			}
		})
	}
}

func TestCompactParseJOSEHeader(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header string
		err    error
		alg    string
		kid    string
		hasKID bool
	}{
		{name: "alg only", header: `{"alg":"RSA-OAEP"}`, alg: "RSA-OAEP"},
		{name: "alg and kid", header: `{"alg":"ECDH-ES","kid":"k1","enc":"A128GCM"}`, alg: "ECDH-ES", kid: "k1", hasKID: true},
		{name: "empty kid is present", header: `{"alg":"RSA-OAEP","kid":""}`, alg: "RSA-OAEP", hasKID: true},
		{name: "key references are kept but not used", header: `{"alg":"RS256","jku":"https://x","jwk":{"kty":"EC"},"x5u":"https://y","x5c":["AA"]}`, alg: "RS256"},
		{name: "unknown members are fine", header: `{"alg":"RS256","typ":"JWT","cty":"JWT","x-custom":1}`, alg: "RS256"},

		{name: "zip", header: `{"alg":"RSA-OAEP","zip":"DEF"}`, err: ErrCompressed},
		{name: "zip null", header: `{"alg":"RSA-OAEP","zip":null}`, err: ErrCompressed},
		{name: "crit", header: `{"alg":"RSA-OAEP","crit":["exp"],"exp":1}`, err: ErrCriticalHeader},
		{name: "crit empty", header: `{"alg":"RSA-OAEP","crit":[]}`, err: ErrCriticalHeader},
		{name: "crit b64", header: `{"alg":"RS256","b64":false,"crit":["b64"]}`, err: ErrCriticalHeader},
		{name: "alg missing", header: `{"enc":"A256GCM"}`, err: ErrMalformedHeader},
		{name: "alg empty", header: `{"alg":""}`, err: ErrMalformedHeader},
		{name: "alg null", header: `{"alg":null}`, err: ErrMalformedHeader},
		{name: "alg number", header: `{"alg":1}`, err: ErrMalformedHeader},
		{name: "alg array", header: `{"alg":["RSA-OAEP"]}`, err: ErrMalformedHeader},
		{name: "kid number", header: `{"alg":"RSA-OAEP","kid":1}`, err: ErrMalformedHeader},
		// A null kid reads as the empty kid, which names no key (see the
		// verifier's "kid/empty string names no key" row).
		{name: "kid null is present and empty", header: `{"alg":"RSA-OAEP","kid":null}`, alg: "RSA-OAEP", hasKID: true},
		{name: "duplicate alg", header: `{"alg":"RSA-OAEP","alg":"none"}`, err: ErrMalformedHeader},
		{name: "duplicate alg in another case", header: `{"alg":"RSA-OAEP","Alg":"none"}`, err: ErrMalformedHeader},
		{name: "duplicate nested", header: `{"alg":"ECDH-ES","epk":{"x":"a","x":"b"}}`, err: ErrMalformedHeader},
		{name: "not an object", header: `"RSA-OAEP"`, err: ErrMalformedHeader},
		{name: "not JSON", header: `alg: RSA-OAEP`, err: ErrMalformedHeader},
		{name: "invalid UTF-8", header: "{\"alg\":\"RSA-OAEP\",\"x\":\"\xff\"}", err: ErrMalformedHeader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := parseJOSEHeader([]byte(tc.header))
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("got %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if h.alg != tc.alg || h.kid != tc.kid || h.hasKID != tc.hasKID {
				t.Errorf("got alg %q kid %q (%v), want %q %q (%v)", h.alg, h.kid, h.hasKID, tc.alg, tc.kid, tc.hasKID)
			}
		})
	}
}

func TestCompactHeaderValueForLog(t *testing.T) {
	if got := headerValueForLog("RSA-OAEP"); got != `"RSA-OAEP"` {
		t.Errorf("got %s", got)
	}
	long := strings.Repeat("A", 1000) + "\n"
	got := headerValueForLog(long)
	if len(got) > maxLoggedHeaderValue+8 || !strings.HasSuffix(got, "...") {
		t.Errorf("a long value is logged as %q", got)
	}
	if got := headerValueForLog("a\nb"); strings.Contains(got, "\n") {
		t.Errorf("a line break reaches the log: %q", got)
	}
}
