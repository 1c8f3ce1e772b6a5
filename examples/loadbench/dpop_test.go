package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"math"
	"net/http"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	modjose "github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
)

// TestDPoPRequests: the requests of (10) are well-formed GETs with the
// DPoP scheme and one proof each, every proof distinct and accepted by
// the module's own proof verifier for the bound key.
func TestDPoPRequests(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const addr, token = "127.0.0.1:1", "eyJ.a.b.c.d"
	htu := "http://" + addr + "/"
	proofs, err := signProofs(context.Background(), key, htu, token, 5)
	if err != nil {
		t.Fatal(err)
	}
	jwk := jose.JSONWebKey{Key: &key.PublicKey}
	thumbprint, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := modjose.NewDPoPVerifier(modjose.DPoPConfig{})
	if err != nil {
		t.Fatal(err)
	}
	r := newDPoPRequests(addr, token, proofs)
	var stream []byte
	n := 0
	for buf, ok := r.next(nil); ok; buf, ok = r.next(buf) {
		stream = append(stream, buf...)
		n++
	}
	if n != len(proofs) {
		t.Fatalf("%d requests for %d proofs", n, len(proofs))
	}
	br := bufio.NewReader(bytes.NewReader(stream))
	for i := range n {
		req, err := http.ReadRequest(br)
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		scheme, got, _ := strings.Cut(req.Header.Get("Authorization"), " ")
		if req.Method != http.MethodGet || scheme != "DPoP" || got != token || len(req.Header.Values("DPoP")) != 1 {
			t.Fatalf("request %d: %s %v", i+1, req.Method, req.Header)
		}
		if _, err := verifier.Verify(req.Header.Get("DPoP"), modjose.DPoPRequest{
			Method: req.Method, URL: htu, AccessToken: token, JKT: base64.RawURLEncoding.EncodeToString(thumbprint),
		}); err != nil {
			t.Fatalf("request %d: proof refused: %v", i+1, err)
		}
	}
}

// TestDPoPRatio: (10) is compared with 1/(1/(2) + 1/raw).
func TestDPoPRatio(t *testing.T) {
	rate := func(n int64) *tally {
		return &tally{statuses: map[int]int64{200: n}, elapsed: 1e9}
	}
	r := dpopRound{cached: rate(6000), dpop: rate(2000), raw: 3000}
	if got := r.ratio(); math.Abs(got-1) > 1e-9 {
		t.Fatalf("ratio %v, want 1 (harmonic of 6000 and 3000 is 2000)", got)
	}
	if got := (dpopRound{cached: rate(0), dpop: rate(10), raw: 1}).ratio(); got != 0 {
		t.Fatalf("ratio without (2): %v", got)
	}
}
