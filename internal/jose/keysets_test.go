package jose

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	gojose "github.com/go-jose/go-jose/v4"
	"github.com/lestrrat-go/jwx/v2/jwa"
)

func TestKeyFileErrors(t *testing.T) {
	rsaKey, ecKey := josetest.RSAKey(t, 0), josetest.ECKey(t, 0)
	_, xPriv := testX25519Key(t)
	type keyFileCase struct {
		name    string
		write   func(dir string) string // returns the path to load
		allowed []string
		want    []string // besides the path
	}
	jwks := func(keys ...gojose.JSONWebKey) func(string) string {
		return func(dir string) string { return josetest.WriteJWKS(t, dir, "keys.json", keys...) }
	}
	text := func(content string) func(string) string {
		return func(dir string) string { return josetest.WriteFile(t, dir, "keys.json", []byte(content)) }
	}
	cases := []keyFileCase{
		{name: "missing", write: func(dir string) string { return filepath.Join(dir, "missing.json") },
			want: []string{"no such file"}},
		{name: "a directory", write: func(dir string) string {
			path := filepath.Join(dir, "keys.json")
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
			return path
		}, want: []string{"is a directory"}},
		{name: "not JSON", write: text("-----BEGIN PRIVATE KEY-----"), want: []string{"not a JSON object"}},
		{name: "JSON array", write: text(`[{"kty":"RSA"}]`), want: []string{"not a JSON object"}},
		{name: "JSON but no key", write: text(`{"hello":"world"}`), want: []string{"not a valid JWK"}},
		{name: "empty set", write: text(`{"keys":[]}`), want: []string{"holds no key"}},
		{name: "public-only key", write: jwks(josetest.JWK(&rsaKey.PublicKey, "pub", "RSA-OAEP", "enc")),
			want: []string{"key 'pub'", "not a private key"}},
		{name: "public-only X25519 key", write: func(dir string) string {
			pub, _ := testX25519Key(t)
			return writeKeySet(t, dir, "keys.json", keyJSON(t, jwxKey(t, pub, "xpub", "", "enc"), nil))
		}, want: []string{"key 'xpub'", "not a private key"}},
		{name: "symmetric key", write: jwks(josetest.JWK(make([]byte, 32), "sym", "", "enc")),
			want: []string{"key 'sym'", "symmetric"}},
		{name: "two keys with one kid", write: jwks(josetest.JWK(rsaKey, "dup", "", "enc"), josetest.JWK(ecKey, "dup", "", "enc")),
			want: []string{"two keys have the kid 'dup'"}},
		{name: "use sig", write: jwks(josetest.JWK(rsaKey, "signing", "", "sig")),
			want: []string{"key 'signing'", "use is 'sig'"}},
		{name: "alg RSA1_5", write: jwks(josetest.JWK(rsaKey, "legacy", "RSA1_5", "enc")),
			want: []string{"key 'legacy'", "RSA1_5"}},
		{name: "alg A256KW", write: jwks(josetest.JWK(rsaKey, "wrap", "A256KW", "enc")),
			want: []string{"key 'wrap'", "A256KW"}},
		{name: "alg for another key type", write: jwks(josetest.JWK(rsaKey, "mixed", "ECDH-ES", "enc")),
			want: []string{"key 'mixed'", "ECDH-ES", "does not fit"}},
		{name: "algorithms leaves a key none", write: jwks(josetest.JWK(ecKey, "ec", "", "enc"), josetest.JWK(rsaKey, "rsa", "", "enc")),
			allowed: []string{"ECDH-ES"}, want: []string{"key 'rsa'", "no algorithm"}},
		{name: "algorithms leaves a key with its own alg none", write: jwks(josetest.JWK(rsaKey, "rsa", "RSA-OAEP", "enc")),
			allowed: []string{"RSA-OAEP-256"}, want: []string{"key 'rsa'", "no algorithm"}},
		{name: "Ed25519 private key", write: jwks(josetest.JWK(josetest.Ed25519Key(t), "ed", "", "enc")),
			want: []string{"key 'ed'", "Ed25519", "cannot decrypt"}},
		{name: "a key without kid is named by position", write: func(dir string) string {
			return writeKeySet(t, dir, "keys.json",
				keyJSON(t, jwxKey(t, xPriv, "", "", "enc"), nil),
				keyJSON(t, josetest.JWK(&rsaKey.PublicKey, "", "", ""), nil))
		}, want: []string{"key #2 (no kid)", "not a private key"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.write(t.TempDir())
			keys, err := LoadDecryptionKeys(path, tc.allowed)
			if err == nil {
				t.Fatalf("loaded %d keys, want an error", len(keys.keys))
			}
			for _, want := range append([]string{path}, tc.want...) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestKeyFileSingleJWK(t *testing.T) {
	key := josetest.RSAKey(t, 0)
	data, err := json.Marshal(josetest.JWK(key, "single", "RSA-OAEP-256", "enc"))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := LoadDecryptionKeys(josetest.WriteFile(t, t.TempDir(), "key.json", data), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys.keys) != 1 || keys.keys[0].kid != "single" {
		t.Fatalf("loaded %+v", keys.keys)
	}
	if !slices.Equal(keys.keys[0].algorithms, []jwa.KeyEncryptionAlgorithm{jwa.RSA_OAEP_256}) {
		t.Errorf("algorithms %v, want the key's own alg only", keys.keys[0].algorithms)
	}
	token := josetest.Encrypt(t, josetest.Claims(t, testNow, nil), gojose.RSA_OAEP_256, gojose.A128GCM, &key.PublicKey, "single", nil)
	if _, err := newTestVerifier(t, keys).Verify(token); err != nil {
		t.Fatalf("token refused: %v", err)
	}
}

func TestKeyFileWithoutKIDs(t *testing.T) {
	rsaKey, ecKey := josetest.RSAKey(t, 0), josetest.ECKey(t, 0)
	_, xPriv := testX25519Key(t)
	path := writeKeySet(t, t.TempDir(), "keys.json",
		keyJSON(t, josetest.JWK(rsaKey, "", "", ""), nil),
		keyJSON(t, josetest.JWK(ecKey, "", "", "enc"), nil),
		keyJSON(t, jwxKey(t, xPriv, "", "", ""), nil),
	)
	keys, err := LoadDecryptionKeys(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys.keys) != 3 || len(keys.byKID) != 0 {
		t.Fatalf("loaded %d keys, %d by kid", len(keys.keys), len(keys.byKID))
	}
	wantAlgs := [][]jwa.KeyEncryptionAlgorithm{defaultRSAAlgorithms, defaultECDHAlgorithms, defaultECDHAlgorithms}
	for i, key := range keys.keys {
		if !slices.Equal(key.algorithms, wantAlgs[i]) {
			t.Errorf("key %d: algorithms %v, want %v", i, key.algorithms, wantAlgs[i])
		}
	}
	v := newTestVerifier(t, keys)
	payload := josetest.Claims(t, testNow, nil)
	for name, token := range map[string]string{
		"RSA":    josetest.Encrypt(t, payload, gojose.RSA_OAEP, gojose.A256GCM, &rsaKey.PublicKey, "", nil),
		"EC":     josetest.Encrypt(t, payload, gojose.ECDH_ES_A128KW, gojose.A256GCM, &ecKey.PublicKey, "", nil),
		"X25519": jwxEncrypt(t, payload, jwa.ECDH_ES, jwa.A256GCM, xPriv.Public(), "", ""),
	} {
		if _, err := v.Verify(token); err != nil {
			t.Errorf("%s token refused: %v", name, err)
		}
	}
	token := josetest.Encrypt(t, payload, gojose.RSA_OAEP, gojose.A256GCM, &rsaKey.PublicKey, "some-kid", nil)
	if _, err := v.Verify(token); !errors.Is(err, ErrUnknownKeyID) {
		t.Errorf("token with a kid: got %v, want %v", err, ErrUnknownKeyID)
	}
}

func TestKeyAlgorithmsRestricted(t *testing.T) {
	path := josetest.WriteJWKS(t, t.TempDir(), "keys.json",
		josetest.JWK(josetest.RSAKey(t, 0), "rsa", "", "enc"),
		josetest.JWK(josetest.ECKey(t, 0), "ec", "", "enc"),
	)
	keys, err := LoadDecryptionKeys(path, []string{"RSA-OAEP-256", "ECDH-ES+A256KW", "RSA-OAEP-384"})
	if err != nil {
		t.Fatal(err)
	}
	if got := keys.byKID["rsa"].algorithms; !slices.Equal(got, []jwa.KeyEncryptionAlgorithm{jwa.RSA_OAEP_256}) {
		t.Errorf("RSA key algorithms %v", got)
	}
	if got := keys.byKID["ec"].algorithms; !slices.Equal(got, []jwa.KeyEncryptionAlgorithm{jwa.ECDH_ES_A256KW}) {
		t.Errorf("EC key algorithms %v", got)
	}
	if !slices.Equal(keys.encryption, []jwa.KeyEncryptionAlgorithm{jwa.RSA_OAEP_256, jwa.ECDH_ES_A256KW}) {
		t.Errorf("set algorithms %v", keys.encryption)
	}
}

// privateStrings collects every string value of a key's JSON that is not
// one of the published public members, so none of them may appear in the
// public JWKS.
func privateStrings(t *testing.T, key json.RawMessage) []string {
	t.Helper()
	var members map[string]any
	if err := json.Unmarshal(key, &members); err != nil {
		t.Fatal(err)
	}
	public := map[string]bool{"kty": true, "kid": true, "use": true, "alg": true, "n": true, "e": true, "crv": true, "x": true, "y": true}
	var out []string
	var collect func(v any)
	collect = func(v any) {
		switch v := v.(type) {
		case string:
			out = append(out, v)
		case []any:
			for _, e := range v {
				collect(e)
			}
		case map[string]any:
			for _, e := range v {
				collect(e)
			}
		}
	}
	for name, value := range members {
		if !public[name] {
			collect(value)
		}
	}
	return out
}

func TestKeyPublicJWKS(t *testing.T) {
	rsaKey, ecKey := josetest.RSAKey(t, 0), josetest.ECKey(t, 0)
	xPub, xPriv := testX25519Key(t)
	// oth is only meaningful for multi-prime keys; here it is junk that
	// must not leak all the same.
	extras := func(name string) map[string]any {
		return map[string]any{
			"key_ops":  []string{"decrypt", "unwrapKey"},
			"x-secret": "extension-secret-" + name,
			"oth":      []map[string]string{{"r": "oth-r-" + name, "d": "oth-d-" + name, "t": "oth-t-" + name}},
		}
	}
	keyFiles := []json.RawMessage{
		keyJSON(t, josetest.JWK(rsaKey, "rsa-1", "RSA-OAEP-256", "enc"), extras("rsa")),
		keyJSON(t, josetest.JWK(ecKey, "ec-1", "ECDH-ES+A256KW", "enc"), extras("ec")),
		keyJSON(t, jwxKey(t, xPriv, "x-1", "ECDH-ES", "enc"), extras("x")),
	}
	for _, k := range keyFiles {
		for _, member := range []string{`"d"`, `"key_ops"`, `"x-secret"`, `"oth"`} {
			if !strings.Contains(string(k), member) {
				t.Fatalf("test key lacks %s: %s", member, k)
			}
		}
	}
	keys, err := LoadDecryptionKeys(writeKeySet(t, t.TempDir(), "keys.json", keyFiles...), nil)
	if err != nil {
		t.Fatal(err)
	}
	published := string(keys.publicJWKS)
	for i, k := range keyFiles {
		for _, secret := range privateStrings(t, k) {
			if strings.Contains(published, secret) {
				t.Errorf("key %d: the public JWKS contains the private value %.20q...", i, secret)
			}
		}
	}
	for _, member := range []string{`"d"`, `"p"`, `"q"`, `"dp"`, `"dq"`, `"qi"`, `"oth"`, `"k"`, `"key_ops"`, `"x-secret"`} {
		if strings.Contains(published, member) {
			t.Errorf("the public JWKS has a member %s", member)
		}
	}

	var jwks struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(keys.publicJWKS, &jwks); err != nil {
		t.Fatalf("public JWKS %s: %v", published, err)
	}
	want := []map[string]string{
		{"kty": "RSA", "kid": "rsa-1", "use": "enc", "alg": "RSA-OAEP-256",
			"n": josetest.B64(rsaKey.N.Bytes()), "e": josetest.B64(big.NewInt(int64(rsaKey.E)).Bytes())},
		{"kty": "EC", "kid": "ec-1", "use": "enc", "alg": "ECDH-ES+A256KW", "crv": "P-256",
			"x": josetest.B64(ecKey.X.FillBytes(make([]byte, 32))), "y": josetest.B64(ecKey.Y.FillBytes(make([]byte, 32)))},
		{"kty": "OKP", "kid": "x-1", "use": "enc", "alg": "ECDH-ES", "crv": "X25519", "x": josetest.B64(xPub)},
	}
	if len(jwks.Keys) != len(want) {
		t.Fatalf("public JWKS has %d keys, want %d: %s", len(jwks.Keys), len(want), published)
	}
	for i := range want {
		if !mapsEqual(jwks.Keys[i], want[i]) {
			t.Errorf("public key %d:\n got %v\nwant %v", i, sortedKeys(jwks.Keys[i]), sortedKeys(want[i]))
			for name, value := range want[i] {
				if jwks.Keys[i][name] != value {
					t.Errorf("  %s = %q, want %q", name, jwks.Keys[i][name], value)
				}
			}
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestIssuerKeyFileErrors(t *testing.T) {
	rsaKey, ecKey := josetest.RSAKey(t, 2), josetest.ECKey(t, 1)
	xPub, _ := testX25519Key(t)
	jwks := func(keys ...gojose.JSONWebKey) func(string) string {
		return func(dir string) string { return josetest.WriteJWKS(t, dir, "issuer.json", keys...) }
	}
	cases := []struct {
		name  string
		write func(dir string) string
		want  []string
	}{
		{name: "missing", write: func(dir string) string { return filepath.Join(dir, "issuer.json") }, want: []string{"no such file"}},
		{name: "not JSON", write: func(dir string) string { return josetest.WriteFile(t, dir, "issuer.json", []byte("<html>")) },
			want: []string{"not a JSON object"}},
		{name: "only an enc key", write: jwks(josetest.JWK(&rsaKey.PublicKey, "enc", "RSA-OAEP", "enc")),
			want: []string{"holds no public signature key"}},
		{name: "only an oct key", write: jwks(josetest.JWK(make([]byte, 32), "hmac", "HS256", "sig")),
			want: []string{"holds no public signature key"}},
		{name: "two keys with one kid", write: jwks(josetest.JWK(&rsaKey.PublicKey, "dup", "", "sig"), josetest.JWK(&ecKey.PublicKey, "dup", "", "sig")),
			want: []string{"two keys have the kid 'dup'"}},
		{name: "an X25519 key", write: func(dir string) string {
			return writeKeySet(t, dir, "issuer.json", keyJSON(t, jwxKey(t, xPub, "x", "", ""), nil))
		}, want: []string{"key 'x'", "X25519", "cannot verify"}},
		{name: "a symmetric alg on an RSA key", write: jwks(josetest.JWK(&rsaKey.PublicKey, "rsa", "HS256", "sig")),
			want: []string{"key 'rsa'", "HS256"}},
		{name: "an alg for another curve", write: jwks(josetest.JWK(&ecKey.PublicKey, "ec", "ES384", "sig")),
			want: []string{"key 'ec'", "ES384"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.write(t.TempDir())
			set, err := LoadIssuerKeys(path)
			if err == nil {
				t.Fatalf("loaded %d keys, want an error", len(set.keys))
			}
			for _, want := range append([]string{"issuer_keys", path}, tc.want...) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
	// URLs are fetched by newRemoteIssuerKeys; loadIssuerKeys reads files
	// only, and must not quietly fetch one.
	for _, url := range []string{"https://issuer.example.com/.well-known/jwks.json", "http://issuer.example.com/jwks"} {
		if _, err := LoadIssuerKeys(url); err == nil || !strings.Contains(err.Error(), url) {
			t.Errorf("%s: got %v, want an error naming the URL", url, err)
		}
	}
}

func TestIssuerKeyFile(t *testing.T) {
	rsaKey, ecKey, edKey := josetest.RSAKey(t, 2), josetest.ECKey(t, 1), josetest.Ed25519Key(t)
	path := josetest.WriteJWKS(t, t.TempDir(), "issuer.json",
		josetest.JWK(&rsaKey.PublicKey, "enc-key", "RSA-OAEP", "enc"), // skipped: for encryption
		josetest.JWK(&rsaKey.PublicKey, "rsa", "", "sig"),
		josetest.JWK(ecKey, "ec", "ES256", ""), // a private key: only its public half is kept
		josetest.JWK(edKey.Public(), "", "", ""),
	)
	set, err := LoadIssuerKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.keys) != 3 || len(set.byKID) != 2 {
		t.Fatalf("loaded %d keys, %d by kid; want 3 and 2", len(set.keys), len(set.byKID))
	}
	if _, ok := set.byKID["enc-key"]; ok {
		t.Errorf("the enc key was kept")
	}
	for _, key := range set.keys {
		switch key.raw.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		default:
			t.Errorf("key %q is a %T, want a public key", key.kid, key.raw)
		}
	}
	for _, tc := range []struct {
		kid  string
		alg  jwa.SignatureAlgorithm
		fits bool
	}{
		{"rsa", jwa.RS256, true}, {"rsa", jwa.PS512, true}, {"rsa", jwa.ES256, false}, {"rsa", jwa.HS256, false},
		{"ec", jwa.ES256, true}, {"ec", jwa.ES384, false}, {"ec", jwa.RS256, false},
	} {
		if got := set.byKID[tc.kid].fits(tc.alg); got != tc.fits {
			t.Errorf("key %s fits %s: %v, want %v", tc.kid, tc.alg, got, tc.fits)
		}
	}
	if !set.keys[2].fits(jwa.EdDSA) || set.keys[2].fits(jwa.ES256) {
		t.Errorf("Ed25519 key fits EdDSA only")
	}
}
