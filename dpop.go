package mcpjweauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/jose"
)

// Values of the dpop setting.
const (
	dpopOff      = "off"
	dpopAllowed  = "allowed"
	dpopRequired = "required"
)

// DPoP header names (RFC 9449): the proof of a request, and the nonce an
// answer hands the client.
const (
	dpopHeader      = "Dpop"
	dpopNonceHeader = "DPoP-Nonce"
)

// senderConstraint checks that the presenter of a token holds the key the
// token is bound to: a DPoP proof (RFC 9449) or the TLS client certificate
// (RFC 8705). It exists unless dpop is off; a bound token is refused then.
type senderConstraint struct {
	required bool
	proofs   *jose.DPoPVerifier
	// challengeScheme is the DPoP scheme with its algs parameter, as
	// challenges begin.
	challengeScheme string
	resource        *url.URL // the configured resource; nil when none
}

// credential is what a request presents: its token, whether it came with
// the DPoP scheme, and then its proof.
type credential struct {
	token  string
	dpop   bool
	proof  string // the one DPoP header; "" when there is none
	proofs int    // how many DPoP headers the request has
}

// checkDPoPMode checks the dpop setting and the settings that depend on it.
func (h *Handler) checkDPoPMode() error {
	switch h.DPoP {
	case "", dpopAllowed, dpopRequired:
	case dpopOff:
		if h.DPoPNonce {
			return fmt.Errorf("dpop_nonce: needs dpop allowed or required, not off")
		}
		if len(h.DPoPAlgs) > 0 {
			return fmt.Errorf("dpop_algs: needs dpop allowed or required, not off")
		}
	default:
		return fmt.Errorf("dpop: '%s' is not off, allowed or required", h.DPoP)
	}
	return jose.CheckDPoPAlgorithms(h.DPoPAlgs)
}

// newSenderConstraint prepares the DPoP checks of h, or returns nil when
// dpop is off.
func (h *Handler) newSenderConstraint() (*senderConstraint, error) {
	if h.DPoP == dpopOff {
		return nil, nil
	}
	cfg := jose.DPoPConfig{Algorithms: h.DPoPAlgs, Now: h.now}
	if h.DPoPNonce {
		cfg.Nonces = h.verifier
	}
	proofs, err := jose.NewDPoPVerifier(cfg)
	if err != nil {
		return nil, err
	}
	s := &senderConstraint{
		required:        h.DPoP == dpopRequired,
		proofs:          proofs,
		challengeScheme: `DPoP algs="` + strings.Join(proofs.Algorithms(), " ") + `"`,
	}
	if h.Resource != "" {
		if s.resource, err = url.Parse(h.Resource); err != nil {
			return nil, fmt.Errorf("resource: %v", err)
		}
	}
	return s, nil
}

// check applies the token's binding to the request: a DPoP-bound token
// needs the DPoP scheme and a valid proof, an unbound one the Bearer
// scheme (and is refused by dpop required), a certificate-bound one the
// client certificate of the TLS connection. It reports whether the answer
// should carry a fresh nonce.
func (s *senderConstraint) check(r *http.Request, cred credential, cnf jose.Confirmation) (renewNonce bool, err error) {
	if cnf.X5TS256 != "" {
		if err := checkCertificateBinding(r, cnf.X5TS256); err != nil {
			return false, err
		}
	}
	if s == nil {
		if cnf.JKT != "" {
			return false, ErrDPoPOff
		}
		return false, nil
	}
	switch {
	case cred.dpop && cnf.JKT == "":
		return false, ErrUnboundTokenAsDPoP
	case !cred.dpop && cnf.JKT != "":
		return false, ErrBoundTokenAsBearer
	case !cred.dpop && s.required:
		return false, ErrDPoPRequired
	case !cred.dpop:
		return false, nil
	case cred.proofs == 0:
		return false, ErrNoDPoPProof
	case cred.proofs > 1:
		return false, fmt.Errorf("%w: %w", jose.ErrInvalidDPoPProof, ErrMultipleDPoPProofs)
	}
	result, err := s.proofs.Verify(cred.proof, jose.DPoPRequest{
		Method:      r.Method,
		URL:         s.requestURL(r),
		AccessToken: cred.token,
		JKT:         cnf.JKT,
	})
	return result.RenewNonce, err
}

// requestURL is the URL the client requested, for a proof's htu: the
// scheme and authority of resource when it is set, otherwise of the
// request, with the path the client requested before any rewrite.
func (s *senderConstraint) requestURL(r *http.Request) string {
	if s.resource != nil {
		return s.resource.Scheme + "://" + s.resource.Host + requestedPath(r)
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + requestedPath(r)
}

// checkCertificateBinding accepts a certificate-bound token (RFC 8705
// §3) only over TLS whose client certificate has the token's
// SHA-256 thumbprint.
func checkCertificateBinding(r *http.Request, thumbprint string) error {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return ErrNoClientCertificate
	}
	sum := sha256.Sum256(r.TLS.PeerCertificates[0].Raw)
	if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(thumbprint)) != 1 {
		return ErrCertificateMismatch
	}
	return nil
}

// dropProof removes the request's DPoP header once it has been read, unless
// forward_authorization passes it on: the next handler has no use for a
// proof that another replica might accept for a few minutes. (Caddy's
// access log records the headers as they arrived; docs/security.md gives
// the log filter that leaves the proof out.)
func (h *Handler) dropProof(r *http.Request) {
	if !h.ForwardAuthorization {
		r.Header.Del(dpopHeader)
	}
}

// usesDPoP reports whether the request's Authorization header names the
// DPoP scheme, for the scheme of a 403 challenge.
func usesDPoP(r *http.Request) bool {
	values := r.Header.Values("Authorization")
	if len(values) != 1 {
		return false
	}
	scheme, _, _ := strings.Cut(strings.TrimSpace(values[0]), " ")
	return strings.EqualFold(scheme, "DPoP")
}
