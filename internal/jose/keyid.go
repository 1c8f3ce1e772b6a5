package jose

import (
	"crypto"
	"encoding/base64"
	"fmt"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// keyIdentity names a key for as long as it is in use: its kid (possibly
// empty) together with its RFC 7638 SHA-256 thumbprint. The thumbprint tells
// keys without a kid apart, and makes a kid that names new key material a
// different key, so a token verified with the old material is not taken as
// verified with the new one. Identities never leave the process: they are
// neither logged nor used as metric labels.
func keyIdentity(key jwk.Key) (string, error) {
	thumbprint, err := key.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("computing its thumbprint: %v", err)
	}
	return key.KeyID() + "#" + base64.RawURLEncoding.EncodeToString(thumbprint), nil
}

// removedKeyIDs lists the identities in before that are not in after.
func removedKeyIDs(before, after []string) []string {
	kept := make(map[string]struct{}, len(after))
	for _, id := range after {
		kept[id] = struct{}{}
	}
	var removed []string
	for _, id := range before {
		if _, ok := kept[id]; !ok {
			removed = append(removed, id)
		}
	}
	return removed
}

// candidateKeys picks the keys a token with header h may be tried with: the
// key its kid names (ErrUnknownKeyID when none does), or every key of all
// when it names none; of those, the keys fits accepts (ErrNoMatchingKey when
// none is left).
func candidateKeys[K any](h *joseHeader, byKID map[string]K, all []K, fits func(K) bool) ([]K, error) {
	if h.hasKID {
		key, ok := byKID[h.kid]
		if !ok {
			return nil, ErrUnknownKeyID
		}
		all = []K{key}
	}
	var keys []K
	for _, key := range all {
		if fits(key) {
			keys = append(keys, key)
		}
	}
	if len(keys) == 0 {
		return nil, ErrNoMatchingKey
	}
	return keys, nil
}
