package jose

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/regularfile"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// Limits of one fetch of the issuer's JWKS.
const (
	issuerKeysFetchTimeout = 10 * time.Second
	maxIssuerKeysBytes     = 1 << 20
	maxIssuerKeysRedirects = 5
)

// issuerKeysClient fetches the issuer's JWKS for jwk.Cache and jwk.Fetch
// (it implements jwk.HTTPClient). Any answer but 200 is an error, a body
// over maxIssuerKeysBytes is refused, and a redirect must keep to the
// issuer_keys URL rules.
type issuerKeysClient struct {
	http *http.Client
	ctx  context.Context // ends when the config is unloaded
}

// newIssuerKeysClient makes a client that trusts the system's CAs and, when
// caFile names one, the CA certificates in that PEM file.
func newIssuerKeysClient(caFile string) (*issuerKeysClient, error) {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pool, err := issuerKeysRootCAs(caFile)
		if err != nil {
			return nil, err
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &issuerKeysClient{
		http: &http.Client{
			Transport:     transport,
			Timeout:       issuerKeysFetchTimeout,
			CheckRedirect: checkIssuerKeysRedirect,
		},
		ctx: context.Background(),
	}, nil
}

// issuerKeysRootCAs is the system pool plus the certificates of caFile.
func issuerKeysRootCAs(caFile string) (*x509.CertPool, error) {
	pem, err := regularfile.Read(caFile, maxCAFileBytes)
	if err != nil {
		return nil, fmt.Errorf("issuer_keys_ca %s: %v", caFile, err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("issuer_keys_ca %s: no PEM certificate found", caFile)
	}
	return pool, nil
}

// checkIssuerKeysRedirect follows a redirect only to a URL that issuer_keys
// itself could name, and never from https to plain http: plain http is
// followed only from a loopback http URL (the configured one) to a
// loopback host, so a redirect cannot downgrade the fetch.
func checkIssuerKeysRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxIssuerKeysRedirects {
		return fmt.Errorf("stopped after %d redirects", len(via))
	}
	if err := checkIssuerKeysURL(req.URL); err != nil {
		return fmt.Errorf("redirect to %s: %v", redactedURL(req.URL), err)
	}
	if req.URL.Scheme == "http" {
		for _, previous := range via {
			if previous.URL.Scheme != "http" {
				return fmt.Errorf("redirect to %s: from https to plain http", redactedURL(req.URL))
			}
		}
	}
	return nil
}

// redactedURL is u for an error message, without credentials or query.
func redactedURL(u *url.URL) string {
	shown := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return shown.String()
}

// Get fetches u and returns the response with its whole body read, when
// the answer is 200 and the body not too large.
func (c *issuerKeysClient) Get(u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(c.ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("unexpected status %s", res.Status)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxIssuerKeysBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the body: %v", err)
	}
	if len(body) > maxIssuerKeysBytes {
		return nil, fmt.Errorf("the body is larger than %d bytes", maxIssuerKeysBytes)
	}
	// A JSON object must spell its member names exactly, as a key file
	// must; anything else is left for the JWK set parser to refuse.
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) == nil {
		if err := checkKeyMemberNames(body, top); err != nil {
			return nil, err
		}
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	return res, nil
}

// fetchFailure is the error of a failed fetch of location without the
// prefixes with which jwx, httprc and net/http each name the URL again, so
// that a message that names the URL once says "unexpected status 503
// Service Unavailable" rather than "failed to fetch URL: failed to fetch
// URL: unexpected status ...". Other text is kept as it is.
func fetchFailure(location string, err error) error {
	quoted := strconv.Quote(location)
	prefixes := []string{
		"refresh error (" + quoted + "): ",
		"failed to fetch " + quoted + ": ",
		"failed to transform HTTP response for " + quoted + ": ",
		"failed to parse JWK set at " + quoted + ": ",
		"failed to execute PostFetch: ",
		"Get " + quoted + ": ",
	}
	msg := err.Error()
	for stripped := true; stripped; {
		stripped = false
		for _, prefix := range prefixes {
			if rest, ok := strings.CutPrefix(msg, prefix); ok && rest != "" {
				msg, stripped = rest, true
			}
		}
	}
	return errors.New(msg)
}

// IsIssuerKeysURL reports whether issuer_keys names a URL rather than a file.
func IsIssuerKeysURL(location string) bool {
	return strings.Contains(location, "://")
}

// CheckIssuerKeysLocation checks issuer_keys when it is a URL: https, or
// http to a loopback host (127.0.0.0/8, ::1, localhost); no credentials,
// since the URL is logged.
func CheckIssuerKeysLocation(location string) error {
	if !IsIssuerKeysURL(location) {
		return nil
	}
	u, err := url.Parse(location)
	if err != nil {
		return fmt.Errorf("issuer_keys: '%s' is not a valid URL: %v", location, err)
	}
	if err := checkIssuerKeysURL(u); err != nil {
		return fmt.Errorf("issuer_keys: '%s' %v", location, err)
	}
	return nil
}

// checkIssuerKeysURL applies the issuer_keys URL rules to u.
func checkIssuerKeysURL(u *url.URL) error {
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return errors.New("must be an https URL (or http to a loopback host) or a file path")
	case u.Host == "" || u.Hostname() == "":
		return errors.New("has no host")
	case u.User != nil:
		return errors.New("must not carry credentials (the URL is logged)")
	case u.Fragment != "":
		return errors.New("must not have a fragment")
	case u.Scheme == "http" && !isLoopbackHost(u.Hostname()):
		return errors.New("uses http: plain http is allowed only for a loopback host (127.0.0.0/8, ::1, localhost); use https")
	}
	return nil
}

// isLoopbackHost reports whether host is localhost or a loopback address.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Interface guard
var _ jwk.HTTPClient = (*issuerKeysClient)(nil)
