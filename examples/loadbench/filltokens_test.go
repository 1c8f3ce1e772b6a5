package main

import (
	"encoding/json"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// TestBulkMinter: a fill token fits under the module's default
// max_token_bytes, is nearly that long, and carries bulkClaims small
// claims besides the usual ones.
func TestBulkMinter(t *testing.T) {
	key, err := newServerKey(keyKinds["p-256"])
	if err != nil {
		t.Fatal(err)
	}
	m, err := newBulkMinter(key, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 9, 99_999, 9_999_999} {
		token, err := m.mint(i)
		if err != nil {
			t.Fatalf("mint(%d): %v", i, err)
		}
		if len(token) > maxTokenBytes || len(token) < maxTokenBytes-1024 {
			t.Errorf("token %d has %d bytes, want %d-%d", i, len(token), maxTokenBytes-1024, maxTokenBytes)
		}
		jwe, err := jose.ParseEncryptedCompact(token, []jose.KeyAlgorithm{jose.ECDH_ES_A256KW}, []jose.ContentEncryption{jose.A256GCM})
		if err != nil {
			t.Fatal(err)
		}
		payload, err := jwe.Decrypt(key.private)
		if err != nil {
			t.Fatal(err)
		}
		var claims map[string]any
		if err := json.Unmarshal(payload, &claims); err != nil {
			t.Fatal(err)
		}
		if got, want := len(claims), bulkClaims+6; got != want {
			t.Errorf("token %d has %d claims, want %d", i, got, want)
		}
		if v, ok := claims["c999"].(string); !ok || len(v) == 0 || len(v) > 16 {
			t.Errorf("claim c999 is %v, want a small non-empty string", claims["c999"])
		}
		if claims["email"] != "ada@example.com" || claims["name"] != "Ada Lovelace" {
			t.Errorf("the configured scopes are missing: %v, %v", claims["name"], claims["email"])
		}
	}
}

func TestMintRefusesTooLongToken(t *testing.T) {
	key, err := newServerKey(keyKinds["p-256"])
	if err != nil {
		t.Fatal(err)
	}
	m, err := newMinter(key, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	m.maxBytes = 100
	if _, err := m.mint(0); err == nil {
		t.Fatal("mint returned a token longer than maxBytes")
	}
}
