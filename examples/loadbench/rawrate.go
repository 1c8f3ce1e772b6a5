package main

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// rawOperation is the private-key operation that decrypting one token to
// the key takes, done directly with the standard library: rsa.DecryptOAEP
// (SHA-1, as RSA-OAEP) of a content key, or the ECDH of the key with an
// ephemeral public key.
func rawOperation(key *serverKey) (func() error, error) {
	if private, ok := key.private.(*rsa.PrivateKey); ok {
		ciphertext, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, &private.PublicKey, make([]byte, 32), nil)
		if err != nil {
			return nil, err
		}
		return func() error {
			_, err := rsa.DecryptOAEP(sha1.New(), nil, private, ciphertext, nil)
			return err
		}, nil
	}
	private, err := key.ecdhKey()
	if err != nil {
		return nil, err
	}
	ephemeral, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return func() error {
		_, err := private.ECDH(ephemeral.PublicKey())
		return err
	}, nil
}

// errRanOut is what an operation of a limited supply returns once it is
// used up (the proofs of proofVerification): rawRate stops there and
// counts the operations done until then.
var errRanOut = errors.New("ran out")

// rawRate runs op on every core for d, or until op returns errRanOut, and
// returns the operations per second.
func rawRate(ctx context.Context, op func() error, d time.Duration) (float64, error) {
	var done atomic.Int64
	var wg sync.WaitGroup
	var firstErr error
	var once sync.Once
	start := time.Now()
	until := start.Add(d)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && time.Now().Before(until) {
				err := op()
				if errors.Is(err, errRanOut) {
					return
				}
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return 0, fmt.Errorf("raw key operation: %v", firstErr)
	}
	return float64(done.Load()) / time.Since(start).Seconds(), ctx.Err()
}
