package mcpjweauth

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	"go.uber.org/zap"
)

// Native Go fuzz targets of the handler. `go test` runs them on their seed
// corpora (the f.Add seeds and testdata/fuzz/<Name>/); `make fuzz` runs each
// for FUZZTIME. The token core's targets (FuzzVerifier, FuzzVerifierHeader,
// FuzzNestedToken) are in internal/jose, with the same keys, clock and
// tokens.
//
// Fuzz workers are separate processes, so everything a seed depends on is
// fixed: the keys, the clock and the seed tokens are josetest's fuzz
// fixtures.

// updateFuzzSeeds rewrites testdata/fuzz from the seeds below.
var updateFuzzSeeds = flag.Bool("update-fuzz-seeds", false, "rewrite the seed corpora in testdata/fuzz")

// fuzzHandler is the in-process handler of FuzzServeHTTP.
func fuzzHandler(t testing.TB, k *josetest.FuzzKeys) *Handler {
	t.Helper()
	h, _ := hardHandler(t, `mcp_jwe_auth {
	key_file `+k.KeyFile+`
	scopes name email
	allow_unsigned
	claim_header name X-User-Name
	claim_header email X-User-Email
	claims_header X-User-Claims
	cache_size 64
}`)
	h.logger = zap.NewNop()
	h.clock = func() time.Time { return josetest.FuzzNow }
	return h
}

// fuzzBearer takes the token from one Authorization value the way the module does
// says, written independently of verifier.go.
func fuzzBearer(value string) string {
	value = strings.TrimSpace(value)
	if len(value) < 6 || !strings.EqualFold(value[:6], "bearer") {
		return ""
	}
	rest := value[6:]
	if rest == "" || rest[0] != ' ' {
		return ""
	}
	return strings.TrimSpace(rest)
}

// fuzzClaimText is a claim as text, written independently of token.go.
func fuzzClaimText(raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	return string(raw)
}

// FuzzServeHTTP drives the whole request path with arbitrary Authorization
// values and identity headers: never a panic, status only 200/401/403/503,
// and the next handler never sees a spoofed identity header, the bearer
// token, or a request whose token an independent implementation does not
// find valid.
func FuzzServeHTTP(f *testing.F) {
	k := josetest.LoadFuzzKeys(f, rfc7520Dir)
	h := fuzzHandler(f, k)
	for _, token := range josetest.FuzzTokens(f, k) {
		f.Add("Bearer "+token, "", false, "X-User-Name", "spoofed")
	}
	f.Add("bearer   "+josetest.FuzzTokens(f, k)["valid-ecdh-es-a128kw"]+"  ", "Bearer x", true, "x_user_email", "spoofed")
	f.Add("Basic YWRhOnB3", "", false, "X-User-Claims", "e30")
	f.Add("Bearer a b", "", false, "", "")
	f.Add("Bearer", "", false, "Authorization", "Bearer x")
	f.Add("", "", false, "X-USER_NAME", "\r\n")

	owned := map[string]string{"x-user-name": "X-User-Name", "x-user-email": "X-User-Email", "x-user-claims": "X-User-Claims"}
	f.Fuzz(func(t *testing.T, authorization, second string, twoHeaders bool, spoofName, spoofValue string) {
		header := http.Header{}
		header.Add("Authorization", authorization)
		if twoHeaders {
			header.Add("Authorization", second)
		}
		for _, name := range []string{spoofName, "X-User-Name", "x_user_email", "X-USER-CLAIMS"} {
			header.Add(name, spoofValue)
		}
		res := hardServe(t, h, "http://mcp.test/mcp", header)
		switch res.status {
		case http.StatusOK, http.StatusUnauthorized, http.StatusForbidden, http.StatusServiceUnavailable:
		default:
			t.Fatalf("status %d", res.status)
		}
		if (res.status == http.StatusOK) != res.nextCalled {
			t.Fatalf("status %d, next handler called: %v", res.status, res.nextCalled)
		}
		if !res.nextCalled {
			if ct := res.header.Get("Content-Type"); ct != "application/json" || !json.Valid([]byte(res.body)) {
				t.Fatalf("answer %d with %q: %q", res.status, ct, res.body)
			}
			return
		}
		values := header.Values("Authorization")
		if len(values) != 1 {
			t.Fatalf("passed on with %d Authorization headers", len(values))
		}
		token := fuzzBearer(values[0])
		if token == "" {
			t.Fatalf("passed on without a bearer token: %q", values[0])
		}
		if len(res.seen.Values("Authorization")) != 0 {
			t.Fatal("the bearer token reached the next handler")
		}
		// Whatever the token: each identity header exactly once, in its
		// configured spelling, and no other spelling of it.
		for name, values := range res.seen {
			if canonical, isOwned := owned[normalizedTestHeader(name)]; isOwned && (name != canonical || len(values) != 1) {
				t.Fatalf("identity header %q reached the next handler as %q", name, values)
			}
		}
		for _, name := range owned {
			if len(res.seen.Values(name)) != 1 {
				t.Fatalf("%s missing on an accepted request", name)
			}
		}
		claims := josetest.FuzzOracle(t, k, token, jose.DefaultLeeway)
		if claims == nil {
			return
		}
		var members map[string]json.RawMessage
		if err := json.Unmarshal(claims, &members); err != nil {
			t.Fatal(err)
		}
		for _, scope := range []string{"name", "email"} {
			if raw, ok := members[scope]; !ok || string(raw) == "null" {
				t.Fatalf("the module let a token without %s through: %s", scope, claims)
			}
		}
		// And their values are the token's claims, not the spoofed ones.
		if got, want := res.seen.Get("X-User-Claims"), base64.RawURLEncoding.EncodeToString(claims); got != want {
			t.Fatalf("X-User-Claims %q, want %q", got, want)
		}
		for _, claim := range []string{"name", "email"} {
			name := "X-User-" + strings.ToUpper(claim[:1]) + claim[1:]
			value := res.seen.Get(name)
			decoded, err := url.PathUnescape(value)
			if err != nil || decoded != fuzzClaimText(members[claim]) {
				t.Fatalf("%s %q decodes to %q (%v), want the claim %s", name, value, decoded, err, members[claim])
			}
		}
	})
}

// normalizedTestHeader folds case and '_' for '-', independently of settings.go.
func normalizedTestHeader(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '_':
			return '-'
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		}
		return r
	}, name)
}

// FuzzCaddyfile feeds arbitrary directive blocks to UnmarshalCaddyfile:
// never a panic; every error says where (file and line); whatever is
// accepted passes the settings check and survives the JSON config.
func FuzzCaddyfile(f *testing.F) {
	for _, seed := range fuzzCaddyfileSeeds {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, block string) {
		// The directive name always comes first in a real Caddyfile.
		// caddyfile.NewTestDispenser would log.Fatal on a lexer error, so the
		// tokens are made here and lexer errors skipped.
		tokens, err := caddyfile.Tokenize([]byte("mcp_jwe_auth "+block), "Testfile")
		if err != nil {
			return
		}
		h := new(Handler)
		if err := h.UnmarshalCaddyfile(caddyfile.NewDispenser(tokens)); err != nil {
			if !strings.Contains(err.Error(), "Testfile:") {
				t.Fatalf("error without file and line: %v", err)
			}
			return
		}
		if err := h.checkSettings(); err != nil {
			t.Fatalf("accepted settings that fail the check: %v", err)
		}
		data, err := json.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		var again Handler
		if err := json.Unmarshal(data, &again); err != nil {
			t.Fatalf("the JSON config does not load back: %v (%s)", err, data)
		}
		if err := again.checkSettings(); err != nil {
			t.Fatalf("the JSON config fails the check: %v (%s)", err, data)
		}
	})
}

// fuzzCaddyfileSeeds are directive blocks, without the directive name.
var fuzzCaddyfileSeeds = []string{
	"{\n\tkey_file /k.json\n\tscopes name email\n\tallow_unsigned\n}",
	"{\n\tscopes name\n\tissuer_keys /i.json\n\taudience https://mcp.example.com other\n\tleeway 1m\n}",
	"{\n\tscopes a\n\tscopes b\n\tallow_unsigned\n\tclaim_header a X-A\n\tclaim_header b X-B\n\tclaims_header X-All\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\talgorithms RSA-OAEP ECDH-ES+A256KW\n\tencryptions A256GCM A128CBC-HS256\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\tcache_size 0\n\tmax_token_bytes 1024\n\tuser_id_claim uid\n\tforward_authorization\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\tissuer https://mcp.example.com/\n\tauthorization_servers https://login.example.com\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\tjwks_path off\n\tscopes_path /s\n\topenid_configuration_path /o\n\tresource_metadata_path /r\n}",
	"{\n\tscopes a a\n\tallow_unsigned\n}",
	"{\n\tscopes \"a b\"\n\tallow_unsigned\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\tleeway -1s\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\tleeway 10m\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\tcache_size -1\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\tcache_size 99999999999999999999\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\tclaim_header a Authorization\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\tclaim_header a X_A\n\tclaims_header x-a\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\tclaim_header a \"X A\"\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\tissuer_keys /i.json\n}",
	"{\n\tscopes a\n\talgorithms none dir RSA1_5\n\tallow_unsigned\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\tjwks_path /x\n\tscopes_path /x\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\tunknown_thing 1\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\tallow_unsigned\n}",
	"{\n\tscopes a\n\tallow_unsigned extra\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\tkey_file\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\tkey_file <<EOF\n\t/k.json\n\tEOF\n}",
	"{\n\tscopes a\n\tallow_unsigned\n\t{\n\t}\n}",
	"{\n}",
	"extra {\n\tscopes a\n}",
	"",
	"{",
	"}",
	"{\n\tscopes {env.SCOPE}\n\tallow_unsigned\n}",
	"{\n\tscopes 名前\n\tallow_unsigned\n\tclaim_header 名前 X-Namae\n}",
}

// TestFuzzSeedCorpus keeps testdata/fuzz in step with the seeds: with
// -update-fuzz-seeds it rewrites the corpus files; without, it checks they
// exist, parse, and that the requests with a valid token among them are
// still let through (the keys and the clock of the fuzz targets are fixed,
// so they never expire).
func TestFuzzSeedCorpus(t *testing.T) {
	k := josetest.LoadFuzzKeys(t, rfc7520Dir)
	if *updateFuzzSeeds {
		writeFuzzSeeds(t, k)
	}
	h := fuzzHandler(t, k)
	for _, target := range []string{"FuzzServeHTTP", "FuzzCaddyfile"} {
		for name, authorization := range josetest.ReadCorpus(t, target) {
			if target != "FuzzServeHTTP" || !strings.HasPrefix(name, "valid-") {
				continue
			}
			if res := hardServe(t, h, "http://mcp.test/mcp", http.Header{"Authorization": {authorization}}); res.status != http.StatusOK {
				t.Errorf("%s is no longer let through: %d %s", name, res.status, res.body)
			}
		}
	}
}

// writeFuzzSeeds writes the seed corpora in Go's corpus file format. Files
// it does not write (regression inputs found by fuzzing) are kept.
func writeFuzzSeeds(t *testing.T, k *josetest.FuzzKeys) {
	t.Helper()
	write := josetest.WriteCorpusFile
	for name, token := range josetest.FuzzTokens(t, k) {
		write(t, "FuzzServeHTTP", name, "Bearer "+token, "", false, "X-User-Name", "spoofed")
	}
	tokens := josetest.FuzzTokens(t, k)
	write(t, "FuzzServeHTTP", "two-authorization-headers", "Bearer "+tokens["valid-rsa-oaep-a256gcm"], "Bearer "+tokens["valid-ecdh-es-a128kw"], true, "x_user_email", "spoofed")
	write(t, "FuzzServeHTTP", "spoofed-claims-header", "bEaReR   "+tokens["valid-data-member"]+"   ", "", false, "x-user_claims", "e30")
	write(t, "FuzzServeHTTP", "basic-scheme", "Basic YWRhOnB3", "", false, "X-User-Name", "spoofed")
	write(t, "FuzzServeHTTP", "bearer-a-b", "Bearer a b", "", false, "", "")
	for i, seed := range fuzzCaddyfileSeeds {
		write(t, "FuzzCaddyfile", fmt.Sprintf("block-%02d", i), seed)
	}
}
