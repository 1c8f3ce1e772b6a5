package jose

import (
	"errors"

	"github.com/lestrrat-go/jwx/v2/jwa"
)

// ReplaceKeys makes keys the server's private key set, at once for every
// token inspected from now on, and returns the identities of the keys that
// left the set (see VerifiedToken.KeyIDs). PublicJWKS publishes the new set
// from now on. A token already inspected is opened with the keys it was
// inspected with.
func (v *Verifier) ReplaceKeys(keys *DecryptionKeys) ([]string, error) {
	if keys == nil {
		return nil, errors.New("no decryption keys")
	}
	old := v.keys.Swap(keys)
	return removedKeyIDs(old.keyIDs(), keys.keyIDs()), nil
}

// ReplaceIssuerKeys makes set the issuer's signature keys, for a verifier
// whose issuer keys came from a file (an *IssuerKeySet in VerifierConfig),
// and returns the identities of the keys that left the set.
func (v *Verifier) ReplaceIssuerKeys(set *IssuerKeySet) ([]string, error) {
	if set == nil {
		return nil, errors.New("no issuer keys")
	}
	if v.fileIssuers.Load() == nil {
		return nil, errors.New("the verifier's issuer keys do not come from a file")
	}
	old := v.fileIssuers.Swap(set)
	return removedKeyIDs(old.keyIDs(), set.keyIDs()), nil
}

// KeyIDs lists the identities of every key the verifier uses now: the
// decryption keys and the issuer's keys. A cache kept from an earlier
// configuration drops the tokens whose keys are not among them.
func (v *Verifier) KeyIDs() []string {
	ids := v.keys.Load().keyIDs()
	if v.issuers != nil {
		ids = append(ids, v.issuers.keyIDs()...)
	}
	return ids
}

// fileIssuerKeys are the issuer's keys read from a file, looked up in the
// verifier's current set each time so that ReplaceIssuerKeys takes effect
// at once.
type fileIssuerKeys struct{ v *Verifier }

// candidates looks the keys up in the current set.
func (f fileIssuerKeys) candidates(h *joseHeader, alg jwa.SignatureAlgorithm) ([]*verificationKey, error) {
	return f.v.fileIssuers.Load().candidates(h, alg)
}

// keyIDs lists the identities of the current set's keys.
func (f fileIssuerKeys) keyIDs() []string { return f.v.fileIssuers.Load().keyIDs() }
