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
	"errors"
	"math"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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

// TestProofVerification: the raw proof verification of (10) is the
// module's proof verifier accepting each proof once, against the requests
// of (10); a new one accepts the same proofs again, a wrong binding
// refuses them, and rawRate stops when the proofs run out.
func TestProofVerification(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const htu, token = "http://127.0.0.1:1/", "eyJ.a.b.c.d"
	proofs, err := signProofs(context.Background(), key, htu, token, 40)
	if err != nil {
		t.Fatal(err)
	}
	jwk := jose.JSONWebKey{Key: &key.PublicKey}
	thumbprint, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	req := modjose.DPoPRequest{Method: "GET", URL: htu, AccessToken: token, JKT: base64.RawURLEncoding.EncodeToString(thumbprint)}
	for run := range 2 {
		verify := proofVerification(proofs, req)
		for i := range proofs {
			if err := verify(); err != nil {
				t.Fatalf("verifier %d, proof %d: %v", run+1, i+1, err)
			}
		}
		if err := verify(); !errors.Is(err, errRanOut) {
			t.Fatalf("verifier %d after the last proof: %v, want errRanOut", run+1, err)
		}
	}
	if err := proofVerification(proofs[:1], modjose.DPoPRequest{Method: "GET", URL: htu, AccessToken: token, JKT: "other"})(); err == nil || errors.Is(err, errRanOut) {
		t.Errorf("a proof for another binding: %v, want a refusal", err)
	}
	twice := proofVerification([]string{proofs[0], proofs[1], proofs[0]}, req)
	for i := range 2 {
		if err := twice(); err != nil {
			t.Fatalf("proof %d: %v", i+1, err)
		}
	}
	if err := twice(); err == nil || errors.Is(err, errRanOut) {
		t.Errorf("a proof checked twice by one verifier: %v, want a refusal", err)
	}
	var checked atomic.Int64
	verify := proofVerification(proofs, req)
	rate, err := rawRate(context.Background(), func() error {
		err := verify()
		if err == nil {
			checked.Add(1)
		}
		return err
	}, time.Hour)
	if err != nil || rate <= 0 || checked.Load() != int64(len(proofs)) {
		t.Errorf("rawRate over %d proofs: %v/s, %v, %d checked", len(proofs), rate, err, checked.Load())
	}
}

// TestDPoPRatio: (10) is compared with 1/(1/(2) + 1/proofs), and, for
// reference, with 1/(1/(2) + 1/raw).
func TestDPoPRatio(t *testing.T) {
	rate := func(n int64) *tally {
		return &tally{statuses: map[int]int64{200: n}, elapsed: 1e9}
	}
	r := dpopRound{cached: rate(6000), dpop: rate(2000), proofs: 3000, raw: 12000}
	if got := r.ratio(); math.Abs(got-1) > 1e-9 {
		t.Fatalf("ratio %v, want 1 (harmonic of 6000 and 3000 is 2000)", got)
	}
	if got := r.rawRatio(); math.Abs(got-0.5) > 1e-9 {
		t.Fatalf("raw ratio %v, want 0.5 (harmonic of 6000 and 12000 is 4000)", got)
	}
	for _, r := range []dpopRound{
		{cached: rate(0), dpop: rate(10), proofs: 1, raw: 1},
		{cached: rate(10), dpop: rate(10), proofs: 0, raw: 0},
	} {
		if got, raw := r.ratio(), r.rawRatio(); got != 0 || raw != 0 {
			t.Fatalf("ratios without (2) or the in-process rates: %v, %v", got, raw)
		}
	}
}
