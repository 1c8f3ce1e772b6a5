package jose

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// Limits of DPoP proofs (RFC 9449).
const (
	// DPoPProofWindow is how far a proof's iat may lie from now, either side.
	DPoPProofWindow = 5 * time.Minute
	// MaxDPoPProofBytes bounds a proof's length; longer ones are refused
	// before any parsing.
	MaxDPoPProofBytes = 8192
	// maxJTIBytes bounds a proof's jti.
	maxJTIBytes = 256
	// dpopType is the typ of every proof (RFC 9449 §4.2).
	dpopType = "dpop+jwt"
)

// defaultDPoPAlgorithms are the proof algorithms accepted when none are configured.
var defaultDPoPAlgorithms = []string{"ES256", "ES384", "EdDSA", "PS256", "RS256"}

// DefaultDPoPAlgorithms lists the proof algorithms accepted by default.
func DefaultDPoPAlgorithms() []string { return slices.Clone(defaultDPoPAlgorithms) }

// CheckDPoPAlgorithms reports the first name in names that is not an
// asymmetric signature algorithm (none and the HMAC family are refused),
// or a name given twice.
func CheckDPoPAlgorithms(names []string) error {
	for i, name := range names {
		if _, ok := signatureAlgorithms[jwa.SignatureAlgorithm(name)]; !ok {
			return fmt.Errorf("dpop_algs: '%s' is not an accepted asymmetric signature algorithm (accepted: %s)", name, strings.Join(signatureAlgorithmNames(), " "))
		}
		if slices.Contains(names[:i], name) {
			return fmt.Errorf("dpop_algs: '%s' is given twice", name)
		}
	}
	return nil
}

// signatureAlgorithmNames lists the asymmetric signature algorithms, sorted.
func signatureAlgorithmNames() []string {
	names := make([]string, 0, len(signatureAlgorithms))
	for alg := range signatureAlgorithms {
		names = append(names, alg.String())
	}
	slices.Sort(names)
	return names
}

// DPoPConfig is what a DPoPVerifier checks proofs against.
type DPoPConfig struct {
	// Algorithms are the accepted proof algorithms; empty means
	// DefaultDPoPAlgorithms.
	Algorithms []string
	// Nonces, when set, makes every proof carry a nonce derived from this
	// verifier's private key set (see DPoPVerifier.Nonce).
	Nonces *Verifier
	// ReplayBytes bounds the memory of the jti replay store; 0 means
	// DefaultReplayBytes.
	ReplayBytes int64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// DPoPVerifier checks DPoP proofs (RFC 9449 §4.3) and remembers
// their jti for as long as they could be accepted, so none is accepted
// twice by this instance. It is safe for concurrent use.
type DPoPVerifier struct {
	algorithms []jwa.SignatureAlgorithm
	verifiers  map[jwa.SignatureAlgorithm]jws.Verifier // the JOSE library's, one per algorithm
	names      []string
	nonces     *nonceSource // nil: no nonce required
	replay     *replayStore
	headers    *proofHeaders
	now        func() time.Time
}

// NewDPoPVerifier checks cfg and returns a verifier for it.
func NewDPoPVerifier(cfg DPoPConfig) (*DPoPVerifier, error) {
	names := cfg.Algorithms
	if len(names) == 0 {
		names = defaultDPoPAlgorithms
	}
	if err := CheckDPoPAlgorithms(names); err != nil {
		return nil, err
	}
	v := &DPoPVerifier{names: slices.Clone(names), now: cfg.Now, verifiers: make(map[jwa.SignatureAlgorithm]jws.Verifier)}
	for _, name := range names {
		alg := jwa.SignatureAlgorithm(name)
		verifier, err := jws.NewVerifier(alg)
		if err != nil {
			return nil, fmt.Errorf("dpop_algs: %s: %v", name, err)
		}
		v.algorithms = append(v.algorithms, alg)
		v.verifiers[alg] = verifier
	}
	if v.now == nil {
		v.now = time.Now
	}
	if cfg.Nonces != nil {
		v.nonces = &nonceSource{keys: cfg.Nonces}
	}
	v.replay = newReplayStore(cfg.ReplayBytes)
	v.headers = newProofHeaders()
	return v, nil
}

// Algorithms are the accepted proof algorithms, in configured order.
func (v *DPoPVerifier) Algorithms() []string { return v.names }

// DPoPRequest is what a proof must match: the request it came with and the
// access token it is presented with.
type DPoPRequest struct {
	// Method is the request's HTTP method.
	Method string
	// URL is the URL the client requested: scheme, authority and path,
	// without query or fragment.
	URL string
	// AccessToken is the token of the Authorization header.
	AccessToken string
	// JKT is the thumbprint the token is bound to (its cnf.jkt).
	JKT string
}

// DPoPResult is what a valid proof tells the caller.
type DPoPResult struct {
	// RenewNonce is set when nonces are required and the proof's nonce
	// nears its end: the answer should carry a fresh one (Nonce).
	RenewNonce bool
}

// dpopHeader is the checked header of a proof.
type dpopHeader struct {
	alg jwa.SignatureAlgorithm
	key *proofKey
}

// dpopClaims are the checked claims of a proof.
type dpopClaims struct {
	// The string claims, as their JSON text without quotes when that has
	// no escapes (the common case, then without a copy), else decoded.
	jti, htm, htu, ath, nonce []byte
	iat                       float64
}

// Verify checks proof against req: its form and header before any key
// work, then its claims, its key against the token's binding, the
// signature, and last its jti, so that only a proof that passed every
// other check is remembered. Every error matches ErrInvalidDPoPProof;
// a missing or stale nonce matches ErrDPoPNonce too.
func (v *DPoPVerifier) Verify(proof string, req DPoPRequest) (DPoPResult, error) {
	result, err := v.verify(proof, req)
	if err != nil {
		return result, fmt.Errorf("%w: %w", ErrInvalidDPoPProof, err)
	}
	return result, nil
}

func (v *DPoPVerifier) verify(proof string, req DPoPRequest) (DPoPResult, error) {
	var result DPoPResult
	if len(proof) > MaxDPoPProofBytes {
		return result, fmt.Errorf("%w: longer than %d bytes", ErrNotCompact, MaxDPoPProofBytes)
	}
	// The base64 decoder skips CR and LF; a compact proof has neither.
	if strings.Count(proof, ".") != jwsCompactParts-1 || strings.IndexByte(proof, '\n') >= 0 || strings.IndexByte(proof, '\r') >= 0 {
		return result, fmt.Errorf("%w: want %d parts", ErrNotCompact, jwsCompactParts)
	}
	first, last := strings.IndexByte(proof, '.'), strings.LastIndexByte(proof, '.')
	h, err := v.headers.get(proof[:first], v.parseHeader)
	if err != nil {
		return result, err
	}
	c, err := parseDPoPClaims(proof[first+1 : last])
	if err != nil {
		return result, err
	}
	now := v.now()
	if err := c.check(req, now); err != nil {
		return result, err
	}
	if v.nonces != nil {
		if result.RenewNonce, err = v.nonces.check(string(c.nonce), now); err != nil {
			return result, err
		}
	}
	if subtle.ConstantTimeCompare([]byte(h.key.thumbprint), []byte(req.JKT)) != 1 {
		return result, ErrDPoPThumbprint
	}
	if err := h.key.verify(proof[:last], proof[last+1:], v.verifiers[h.alg]); err != nil {
		return result, err
	}
	// iat lies within the window of now, so it fits in nanoseconds.
	expires := time.Unix(0, int64(c.iat*float64(time.Second))).Add(DPoPProofWindow)
	if !v.replay.add(h.key.thumbprint, c.jti, expires, now) {
		return result, ErrDPoPReplay
	}
	return result, nil
}

// parseHeader checks the proof's encoded protected header: canonical
// base64url of a strict JSON object with exactly typ dpop+jwt, an accepted
// alg and a public jwk that fits it. crit, zip, kid, x5c and every other
// member are refused.
func (v *DPoPVerifier) parseHeader(encoded string) (*dpopHeader, error) {
	raw, err := strictBase64URL.DecodeString(encoded)
	if err != nil || len(raw) == 0 {
		return nil, fmt.Errorf("%w: the header is not canonical base64url", ErrNotCompact)
	}
	members, err := parseStrictObject(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDPoPHeader, err)
	}
	for name := range members {
		if name != "typ" && name != "alg" && name != "jwk" {
			return nil, fmt.Errorf("%w: member %s", ErrDPoPHeader, headerValueForLog(name))
		}
	}
	typ, err := headerString(members, "typ")
	if err != nil || !strings.EqualFold(typ, dpopType) {
		return nil, fmt.Errorf("%w: typ is not %s", ErrDPoPHeader, dpopType)
	}
	name, err := headerString(members, "alg")
	if err != nil || !slices.Contains(v.algorithms, jwa.SignatureAlgorithm(name)) {
		return nil, fmt.Errorf("%w: %s", ErrAlgorithmNotAllowed, headerValueForLog(name))
	}
	alg := jwa.SignatureAlgorithm(name)
	raw, ok := members["jwk"]
	if !ok {
		return nil, fmt.Errorf("%w: no jwk", ErrDPoPHeader)
	}
	key, err := parseProofKey(raw, alg)
	if err != nil {
		return nil, err
	}
	return &dpopHeader{alg: alg, key: key}, nil
}

// parseDPoPClaims reads the encoded payload of a proof: a strict JSON
// object with string jti (non-empty, bounded), htm and htu, a numeric iat,
// and, when present, string ath and nonce.
func parseDPoPClaims(encoded string) (*dpopClaims, error) {
	payload, err := strictBase64URL.DecodeString(encoded)
	if err != nil {
		return nil, fmt.Errorf("%w: payload is not base64url", ErrDPoPClaims)
	}
	var flat [maxFlatMembers]flatMember
	members, err := proofClaims(payload, &flat)
	if err != nil {
		return nil, err
	}
	c := &dpopClaims{}
	for _, claim := range []struct {
		name     string
		dst      *[]byte
		required bool
	}{{"jti", &c.jti, true}, {"htm", &c.htm, true}, {"htu", &c.htu, true}, {"ath", &c.ath, false}, {"nonce", &c.nonce, false}} {
		value, ok := member(members, claim.name)
		if !ok {
			if claim.required {
				return nil, fmt.Errorf("%w: %s missing", ErrDPoPClaims, claim.name)
			}
			continue
		}
		if *claim.dst, ok = jsonString(value); !ok {
			return nil, fmt.Errorf("%w: %s is not a string", ErrDPoPClaims, claim.name)
		}
	}
	if len(c.jti) == 0 || len(c.jti) > maxJTIBytes {
		return nil, fmt.Errorf("%w: jti empty or longer than %d bytes", ErrDPoPClaims, maxJTIBytes)
	}
	iat, ok := member(members, "iat")
	if !ok {
		return nil, fmt.Errorf("%w: iat missing", ErrDPoPClaims)
	}
	if c.iat, err = numericDate("iat", iat); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDPoPClaims, err)
	}
	return c, nil
}

// proofClaims reads a proof's payload as a strict JSON object (valid
// UTF-8, no member name twice at any depth, also not in two letter cases)
// and returns its members: in one pass when it is flat, as proofs are,
// otherwise the general way.
func proofClaims(payload []byte, flat *[maxFlatMembers]flatMember) ([]flatMember, error) {
	if !utf8.Valid(payload) || !json.Valid(payload) {
		return nil, fmt.Errorf("%w: not valid UTF-8 JSON", ErrDPoPClaims)
	}
	if n, repeated, ok := flatMembers(payload, flat); ok {
		if repeated {
			return nil, fmt.Errorf("%w: %v", ErrDPoPClaims, ErrDuplicateMember)
		}
		return flat[:n], nil
	}
	if err := checkMemberNames(payload); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDPoPClaims, err)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(payload, &members); err != nil || members == nil {
		return nil, fmt.Errorf("%w: not a JSON object", ErrDPoPClaims)
	}
	all := make([]flatMember, 0, len(members))
	for name, value := range members {
		all = append(all, flatMember{name: []byte(name), value: value})
	}
	return all, nil
}

// member finds the value of the member name.
func member(members []flatMember, name string) (json.RawMessage, bool) {
	for _, m := range members {
		if string(m.name) == name {
			return m.value, true
		}
	}
	return nil, false
}

// jsonString reads a JSON string value (valid JSON, as json.Valid
// checked): without escapes it is the text between the quotes, taken as it
// is; otherwise it is decoded.
func jsonString(raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return nil, false
	}
	if !bytes.ContainsRune(raw, '\\') {
		return raw[1 : len(raw)-1], true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return nil, false
	}
	return []byte(s), true
}

// check applies the claim rules that need no key: htm, htu, iat and ath.
func (c *dpopClaims) check(req DPoPRequest, now time.Time) error {
	if string(c.htm) != req.Method {
		return ErrDPoPMethod
	}
	// A client names the URL as it sent it, most often exactly as the
	// caller spells it; only other spellings are normalised to compare.
	if string(c.htu) != req.URL {
		want, err := NormalizeHTTPURL(req.URL)
		if err != nil {
			return fmt.Errorf("%w: the request URL: %v", ErrDPoPURL, err)
		}
		if got, err := NormalizeHTTPURL(string(c.htu)); err != nil || got != want {
			return ErrDPoPURL
		}
	}
	nowSeconds := float64(now.UnixNano()) / float64(time.Second)
	if math.Abs(nowSeconds-c.iat) > DPoPProofWindow.Seconds() {
		return ErrDPoPTime
	}
	hash := withBytes(req.AccessToken, sha256.Sum256)
	var ath [43]byte // base64url of 32 bytes
	base64.RawURLEncoding.Encode(ath[:], hash[:])
	if !bytes.Equal(c.ath, ath[:]) {
		return ErrDPoPTokenHash
	}
	return nil
}
