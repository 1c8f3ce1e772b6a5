package main

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"os"

	jose "github.com/go-jose/go-jose/v4"
)

// keyKind is a kind of server key the benchmark can use.
type keyKind struct {
	label string // as printed
	alg   jose.KeyAlgorithm
	bits  int // RSA only; 0 for P-256
}

// keyKinds are the values of -key.
var keyKinds = map[string]keyKind{
	"rsa-2048": {"RSA-2048", jose.RSA_OAEP, 2048},
	"rsa-3072": {"RSA-3072", jose.RSA_OAEP, 3072},
	"rsa-4096": {"RSA-4096", jose.RSA_OAEP, 4096},
	"p-256":    {"P-256", jose.ECDH_ES_A256KW, 0},
}

// serverKid is the kid of every server key; the flood's tokens name it too.
const serverKid = "loadbench"

// serverKey is a private decryption key of one site.
type serverKey struct {
	kind    keyKind
	private any // *rsa.PrivateKey or *ecdsa.PrivateKey
}

// newServerKey generates a key of kind (RSA-4096 takes a second or more).
func newServerKey(kind keyKind) (*serverKey, error) {
	k := &serverKey{kind: kind}
	var err error
	if kind.bits > 0 {
		k.private, err = rsa.GenerateKey(rand.Reader, kind.bits)
	} else {
		k.private, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		return nil, fmt.Errorf("generating a %s key: %v", kind.label, err)
	}
	return k, nil
}

// public is the key tokens are encrypted to.
func (k *serverKey) public() any {
	switch p := k.private.(type) {
	case *rsa.PrivateKey:
		return &p.PublicKey
	case *ecdsa.PrivateKey:
		return &p.PublicKey
	}
	panic("unreachable")
}

// writePrivateJWKS writes the key as the private JWKS file of a site, with
// kid, alg and use, readable by the owner alone.
func (k *serverKey) writePrivateJWKS(path string) error {
	return writeJWKS(path, jose.JSONWebKey{Key: k.private, KeyID: serverKid, Algorithm: string(k.kind.alg), Use: "enc"})
}

// ecdhKey is the key as crypto/ecdh sees it (P-256 only).
func (k *serverKey) ecdhKey() (*ecdh.PrivateKey, error) {
	p, ok := k.private.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("not an EC key")
	}
	return p.ECDH()
}

// issuerKey is the token issuer's ES256 signing key.
type issuerKey struct {
	private *ecdsa.PrivateKey
}

// issuerKid is the kid of the issuer's key.
const issuerKid = "loadbench-issuer"

// newIssuerKey generates the issuer's key.
func newIssuerKey() (*issuerKey, error) {
	p, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating the issuer key: %v", err)
	}
	return &issuerKey{p}, nil
}

// writePublicJWKS writes the issuer's public JWKS (the issuer_keys file).
func (k *issuerKey) writePublicJWKS(path string) error {
	return writeJWKS(path, jose.JSONWebKey{Key: &k.private.PublicKey, KeyID: issuerKid, Algorithm: string(jose.ES256), Use: "sig"})
}

// writeJWKS writes keys as a JWKS file with mode 0600.
func writeJWKS(path string, keys ...jose.JSONWebKey) error {
	data, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	if err != nil {
		return fmt.Errorf("encoding %s: %v", path, err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("writing %s: %v", path, err)
	}
	return nil
}
