package jose

import (
	"crypto/ecdh"
	"encoding/json"
	"fmt"

	"github.com/lestrrat-go/jwx/v2/jwa"
)

// ecdhCurves maps the curves a decryption key may have to crypto/ecdh, which
// refuses points that are not on the curve.
var ecdhCurves = map[jwa.EllipticCurveAlgorithm]struct {
	curve ecdh.Curve
	size  int
	kty   string
}{
	jwa.P256:   {ecdh.P256(), 32, "EC"},
	jwa.P384:   {ecdh.P384(), 48, "EC"},
	jwa.P521:   {ecdh.P521(), 66, "EC"},
	jwa.X25519: {ecdh.X25519(), 32, "OKP"},
}

// checkEphemeralKey makes sure an ECDH-ES header carries an ephemeral public
// key on the decryption key's own curve before that key is used with it.
// Member names are matched exactly: {"KTY":...} has no kty.
func checkEphemeralKey(h *joseHeader, curve jwa.EllipticCurveAlgorithm) error {
	raw, ok := h.members["epk"]
	if !ok {
		return fmt.Errorf("%w: epk missing", ErrInvalidEphemeralKey)
	}
	epk, err := parseStrictObject(raw)
	if err != nil {
		return fmt.Errorf("%w: epk is not a JWK", ErrInvalidEphemeralKey)
	}
	kty, errKty := headerString(epk, "kty")
	crv, errCrv := headerString(epk, "crv")
	spec, ok := ecdhCurves[curve]
	if errKty != nil || errCrv != nil || !ok || crv != string(curve) || kty != spec.kty {
		return fmt.Errorf("%w: epk is not on the key's curve %s", ErrInvalidEphemeralKey, curve)
	}
	x, err := coordinate(epk, "x", spec.size)
	if err != nil {
		return err
	}
	point := x
	if spec.kty == "EC" {
		y, err := coordinate(epk, "y", spec.size)
		if err != nil {
			return err
		}
		point = append(append([]byte{4}, x...), y...)
	}
	if _, err := spec.curve.NewPublicKey(point); err != nil {
		return fmt.Errorf("%w: point is not on the curve", ErrInvalidEphemeralKey)
	}
	return nil
}

// coordinate reads the base64url member name of an ephemeral key, which
// must decode to exactly size bytes.
func coordinate(epk map[string]json.RawMessage, name string, size int) ([]byte, error) {
	text, err := headerString(epk, name)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not a string", ErrInvalidEphemeralKey, name)
	}
	value, err := strictBase64URL.DecodeString(text)
	if err != nil || len(value) != size {
		return nil, fmt.Errorf("%w: bad %s coordinate", ErrInvalidEphemeralKey, name)
	}
	return value, nil
}
