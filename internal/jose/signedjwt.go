package jose

// VerifySignedJWT checks a compact JWS, such as an identity assertion,
// against keys (a key set read from a file or fetched from a URL, see
// LoadIssuerKeys and NewRemoteIssuerKeys) by the rules a nested token's
// signature is checked with, and returns its payload. The payload's claims
// are the caller's to check.
func VerifySignedJWT(compact string, keys IssuerKeys) ([]byte, error) {
	payload, _, err := verifyCompactJWS([]byte(compact), keys)
	return payload, err
}
