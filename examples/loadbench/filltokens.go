package main

import (
	"fmt"
	"strings"
	"time"
)

// The adversarial fill's tokens: as large as the module's default
// max_token_bytes lets through, made of many small claims.
const (
	maxTokenBytes  = 16384               // the module's default max_token_bytes
	fillTokenBytes = maxTokenBytes - 128 // what a fill token is padded to; the rest is room for a longer sub
	bulkClaims     = 1000                // small claims per fill token
)

// newBulkMinter prepares minting encrypted-only tokens to key whose
// payload carries, besides the usual claims, bulkClaims small claims
// ("c000": "vv", ...) whose values are sized so that the compact token is
// about fillTokenBytes long. Its tokens longer than maxTokenBytes are
// refused, so none is turned away by the module for its size.
func newBulkMinter(key *serverKey, now time.Time) (*minter, error) {
	m, err := newMinter(key, nil, now)
	if err != nil {
		return nil, err
	}
	m.maxBytes = maxTokenBytes
	m.bulk = bulkClaimSet(0)
	probe, err := m.mint(0)
	if err != nil {
		return nil, err
	}
	// The payload is encrypted as it is and base64url-encoded: every 3
	// more bytes of claim values make 4 more bytes of token.
	extra := (fillTokenBytes - len(probe)) * 3 / 4
	if extra < 0 {
		return nil, fmt.Errorf("%d empty claims already make a token of %d bytes", bulkClaims, len(probe))
	}
	m.bulk = bulkClaimSet(extra)
	return m, nil
}

// bulkClaimSet returns bulkClaims claims whose values hold extra bytes in
// all, spread evenly.
func bulkClaimSet(extra int) map[string]any {
	claims := make(map[string]any, bulkClaims)
	for k := range bulkClaims {
		n := extra / bulkClaims
		if k < extra%bulkClaims {
			n++
		}
		claims[fmt.Sprintf("c%03d", k)] = strings.Repeat("v", n)
	}
	return claims
}
