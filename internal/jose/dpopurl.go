package jose

import (
	"errors"
	"net/url"
	"strings"
)

// NormalizeHTTPURL returns the http or https URL s without its query and
// fragment, normalised as RFC 3986 §6.2.2 and §6.2.3 say: scheme and
// host in lower case, the scheme's default port and an empty port left out,
// percent-encodings in upper case and those of unreserved characters
// decoded, dot segments removed, and an empty path written as "/". Two URLs
// name the same resource for a DPoP proof's htu when their normal forms are
// equal.
func NormalizeHTTPURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", errors.New("not a URL")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", errors.New("not an http or https URL")
	}
	if u.Host == "" || u.User != nil || u.Opaque != "" {
		return "", errors.New("no host, or user information")
	}
	host := strings.ToLower(u.Host)
	if port := u.Port(); port == "" || (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		host = strings.TrimSuffix(strings.TrimSuffix(host, ":"+port), ":")
	}
	path, err := normalizePercentEncoding(u.EscapedPath())
	if err != nil {
		return "", err
	}
	path = removeDotSegments(path)
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path, nil
}

// normalizePercentEncoding writes every percent-encoding in upper case and
// decodes those of unreserved characters (RFC 3986 §2.3).
func normalizePercentEncoding(path string) (string, error) {
	if !strings.Contains(path, "%") {
		return path, nil
	}
	var b strings.Builder
	for i := 0; i < len(path); i++ {
		if path[i] != '%' {
			b.WriteByte(path[i])
			continue
		}
		if i+2 >= len(path) || !isHex(path[i+1]) || !isHex(path[i+2]) {
			return "", errors.New("bad percent-encoding")
		}
		c := unhex(path[i+1])<<4 | unhex(path[i+2])
		if isUnreserved(c) {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(path[i+1:i+3]))
		}
		i += 2
	}
	return b.String(), nil
}

// removeDotSegments is the algorithm of RFC 3986 §5.2.4.
func removeDotSegments(path string) string {
	if !strings.Contains(path, ".") {
		return path
	}
	var out []string
	segments := strings.Split(path, "/")
	for i, segment := range segments {
		last := i == len(segments)-1
		switch segment {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, segment)
		}
	}
	result := strings.Join(out, "/")
	if strings.HasPrefix(path, "/") && !strings.HasPrefix(result, "/") {
		result = "/" + result
	}
	return result
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// isUnreserved reports whether c is an unreserved character of RFC 3986.
func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
