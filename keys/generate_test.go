package keys

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"strings"
	"testing"

	gojose "github.com/go-jose/go-jose/v4"
)

func TestNewKey(t *testing.T) {
	for _, tc := range []struct {
		alg      string
		bits     int
		wantBits int // RSA modulus size; 0 for the P-256 key
	}{
		{AlgRSAOAEP, testBits, testBits},
		{AlgRSAOAEP256, 3072, 3072},
		{AlgECDHESA256KW, 0, 0},
	} {
		t.Run(tc.alg, func(t *testing.T) {
			key, err := NewKey(tc.alg, tc.bits)
			if err != nil {
				t.Fatalf("NewKey: %v", err)
			}
			data, err := json.Marshal(key)
			if err != nil {
				t.Fatal(err)
			}
			var jk gojose.JSONWebKey
			if err := jk.UnmarshalJSON(data); err != nil {
				t.Fatalf("go-jose cannot parse the key: %v", err)
			}
			if jk.Algorithm != tc.alg || jk.Use != "enc" {
				t.Errorf("alg %q use %q, want %q and enc", jk.Algorithm, jk.Use, tc.alg)
			}
			if want := joseThumbprint(t, jk); jk.KeyID != want {
				t.Errorf("kid %q, want the RFC 7638 thumbprint %q", jk.KeyID, want)
			}
			switch k := jk.Key.(type) {
			case *rsa.PrivateKey:
				if got := k.N.BitLen(); got != tc.wantBits {
					t.Errorf("modulus has %d bits, want %d", got, tc.wantBits)
				}
			case *ecdsa.PrivateKey:
				if tc.wantBits != 0 || k.Curve != elliptic.P256() {
					t.Errorf("got a %s key for %s", k.Curve.Params().Name, tc.alg)
				}
			default:
				t.Errorf("got a %T", jk.Key)
			}
		})
	}
}

func TestNewKeyDefaultSize(t *testing.T) {
	if testing.Short() {
		t.Skip("generating a 4096-bit key is slow")
	}
	key, err := NewKey(AlgRSAOAEP, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := key.RSABits()
	if err != nil {
		t.Fatal(err)
	}
	if got != DefaultRSABits {
		t.Errorf("default key has %d bits, want %d", got, DefaultRSABits)
	}
}

func TestNewKeyRefuses(t *testing.T) {
	for _, tc := range []struct {
		alg  string
		bits int
		want string
	}{
		{AlgRSAOAEP, 1024, "too small"},
		{AlgRSAOAEP256, 2047, "too small"},
		{AlgRSAOAEP, 2052, "multiple of 8"},
		{AlgRSAOAEP, MaxRSABits + 8, "too large"},
		{AlgRSAOAEP, -1, "too small"},
		{AlgECDHESA256KW, 2048, "does not apply"},
		{"RSA1_5", 0, `unknown algorithm "RSA1_5"`},
		{"rsa-oaep", 0, "unknown algorithm"},
		{"", 0, "unknown algorithm"},
	} {
		_, err := NewKey(tc.alg, tc.bits)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewKey(%q, %d) = %v, want an error containing %q", tc.alg, tc.bits, err, tc.want)
		}
	}
}
