package keys

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
)

// WriteDPoPKey writes a new P-256 private JWK (ES256), the key of a DPoP
// client, to path with mode 0600, and returns it. An existing file is
// replaced only with force.
func WriteDPoPKey(path string, force bool) (*jose.Key, error) {
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating key: %v", err)
	}
	key, err := jose.NewDPoPKey(raw)
	if err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(key, "", "  ")
	if err != nil {
		return nil, err
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("%s exists: use --force to replace it", path)
	}
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(0o600); err != nil { // a replaced file keeps its mode otherwise
		f.Close()
		return nil, err
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing %s: %v", path, err)
	}
	return key, f.Close()
}

// DPoPBinding is the cnf claim that binds a token to the DPoP key key
// (RFC 9449 §6.1): its RFC 7638 thumbprint as jkt.
func DPoPBinding(key *jose.Key) (map[string]any, error) {
	jkt, err := key.Thumbprint()
	if err != nil {
		return nil, err
	}
	return map[string]any{"jkt": jkt}, nil
}
