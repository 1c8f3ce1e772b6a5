package jose

import (
	"crypto/ecdh"
	"encoding/json"
	"fmt"

	"github.com/lestrrat-go/jwx/v2/jwa"
)

// ephemeralKeyJSON is the epk member of an ECDH-ES header.
type ephemeralKeyJSON struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

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
func checkEphemeralKey(h *joseHeader, curve jwa.EllipticCurveAlgorithm) error {
	raw, ok := h.members["epk"]
	if !ok {
		return fmt.Errorf("%w: epk missing", ErrInvalidEphemeralKey)
	}
	var epk ephemeralKeyJSON
	if err := json.Unmarshal(raw, &epk); err != nil {
		return fmt.Errorf("%w: epk is not a JWK", ErrInvalidEphemeralKey)
	}
	spec, ok := ecdhCurves[curve]
	if !ok || epk.Crv != string(curve) || epk.Kty != spec.kty {
		return fmt.Errorf("%w: epk is not on the key's curve %s", ErrInvalidEphemeralKey, curve)
	}
	x, errX := strictBase64URL.DecodeString(epk.X)
	if errX != nil || len(x) != spec.size {
		return fmt.Errorf("%w: bad x coordinate", ErrInvalidEphemeralKey)
	}
	point := x
	if spec.kty == "EC" {
		y, errY := strictBase64URL.DecodeString(epk.Y)
		if errY != nil || len(y) != spec.size {
			return fmt.Errorf("%w: bad y coordinate", ErrInvalidEphemeralKey)
		}
		point = append(append([]byte{4}, x...), y...)
	}
	if _, err := spec.curve.NewPublicKey(point); err != nil {
		return fmt.Errorf("%w: point is not on the curve", ErrInvalidEphemeralKey)
	}
	return nil
}
