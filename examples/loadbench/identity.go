package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"path/filepath"

	jose "github.com/go-jose/go-jose/v4"
)

// Scenario (11): (2) to a site that also signs an identity assertion for
// every request it passes on (identity_assertion), with an Ed25519 key:
// EdDSA signs faster than ES256, so it is the algorithm measured. A GET
// carries no JSON-RPC body, so (11)/(2) is the cost of one signature per
// request and nothing else.
const scenarioIdentity = 11

// identityAudience is the aud of the assertions.
const identityAudience = "https://backend.loadbench.example"

func init() {
	scenarioNames[scenarioIdentity] = "(2) + identity assertion (EdDSA)"
}

// identityAssertionLines are the lines of the identity_assertion block of
// a site whose signing key file is keyFile.
func identityAssertionLines(keyFile string) string {
	return fmt.Sprintf("\t\tidentity_assertion {\n\t\t\tkey_file %q\n\t\t\taudience %s\n\t\t}\n", keyFile, identityAudience)
}

// setUpIdentitySite makes the site of (11) on port: the auth site's
// settings with an identity assertion signed by a new Ed25519 key.
func (b *bench) setUpIdentitySite(port int) error {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("generating the signing key: %v", err)
	}
	b.identity = b.auth
	b.identity.port = port
	b.identity.identityKeyFile = filepath.Join(b.dir, "identity-signing.json")
	return writeJWKS(b.identity.identityKeyFile, jose.JSONWebKey{Key: key, Algorithm: string(jose.EdDSA), Use: "sig"})
}
