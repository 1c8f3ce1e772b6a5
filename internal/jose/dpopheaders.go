package jose

import (
	"strings"
	"sync"
)

// maxCachedProofHeaders bounds the proof headers remembered (each at most
// MaxDPoPProofBytes long, so the cache holds at most 8 MiB).
const maxCachedProofHeaders = 1024

// proofHeaders remembers checked proof headers by their encoded form. A
// client sends the same header (typ, alg, its jwk) with every proof, so its
// key is parsed and its thumbprint computed once; the signature of each
// proof is still verified. The header a cached result stands for is byte
// for byte the one checked, so a hit decides exactly as parsing again
// would. When full, an arbitrary entry leaves.
type proofHeaders struct {
	mu      sync.RWMutex
	headers map[string]*dpopHeader
}

func newProofHeaders() *proofHeaders {
	return &proofHeaders{headers: make(map[string]*dpopHeader)}
}

// get returns the checked header of encoded, parsing it with parse on a miss;
// a header parse refuses is not remembered.
func (c *proofHeaders) get(encoded string, parse func(string) (*dpopHeader, error)) (*dpopHeader, error) {
	c.mu.RLock()
	h, ok := c.headers[encoded]
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
	c.headers[strings.Clone(encoded)] = h // not the whole proof it is part of
	c.mu.Unlock()
	return h, nil
}
