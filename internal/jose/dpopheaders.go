package jose

import (
	"crypto/sha256"
	"sync"
)

// maxCachedProofHeaders bounds the proof headers remembered.
const maxCachedProofHeaders = 1024

// proofHeaders remembers checked proof headers by the SHA-256 of their
// encoded form. A client sends the same header (typ, alg, its jwk) with
// every proof, so its key is parsed and its thumbprint computed once; the
// signature of each proof is still verified. The header a cached result
// stands for is byte for byte the one checked, so a hit decides exactly as
// parsing again would. When full, an arbitrary entry leaves.
type proofHeaders struct {
	mu      sync.RWMutex
	headers map[[sha256.Size]byte]*dpopHeader
}

func newProofHeaders() *proofHeaders {
	return &proofHeaders{headers: make(map[[sha256.Size]byte]*dpopHeader)}
}

// get returns the checked header of encoded, parsing it with parse on a miss;
// a header parse refuses is not remembered.
func (c *proofHeaders) get(encoded string, parse func(string) (*dpopHeader, error)) (*dpopHeader, error) {
	key := withBytes(encoded, sha256.Sum256)
	c.mu.RLock()
	h, ok := c.headers[key]
	c.mu.RUnlock()
	if ok {
		return h, nil
	}
	h, err := parse(encoded)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.headers) >= maxCachedProofHeaders {
		for old := range c.headers {
			delete(c.headers, old)
			break
		}
	}
	c.headers[key] = h
	c.mu.Unlock()
	return h, nil
}
