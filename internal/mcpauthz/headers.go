package mcpauthz

import (
	"encoding/base64"
	"net/http"
	"strings"
)

// The request metadata headers of MCP 2026-07-28, in canonical form.
const (
	headerProtocolVersion = "Mcp-Protocol-Version"
	headerMethod          = "Mcp-Method"
	headerName            = "Mcp-Name"
)

// firstModernVersion is the first protocol version whose requests carry
// their metadata in headers and hold one message each.
const firstModernVersion = "2026-07-28"

// isModernVersion reports whether v is a protocol version (a date
// YYYY-MM-DD) of 2026-07-28 or later.
func isModernVersion(v string) bool {
	if len(v) != len(firstModernVersion) {
		return false
	}
	for i := 0; i < len(v); i++ {
		if i == 4 || i == 7 {
			if v[i] != '-' {
				return false
			}
		} else if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return v >= firstModernVersion
}

// isModern reports whether a POST is of the 2026-07-28 era: its
// MCP-Protocol-Version header or the protocol version in the _meta of one
// of its messages names 2026-07-28 or later.
func isModern(header http.Header, msgs []Message) bool {
	for _, v := range header[headerProtocolVersion] {
		if isModernVersion(v) {
			return true
		}
	}
	for i := range msgs {
		if msgs[i].hasVersion && isModernVersion(msgs[i].version) {
			return true
		}
	}
	return false
}

// headersAgree reports whether the metadata headers of a request agree
// with its message m. In either era, a header present must hold one value
// that equals the body's: MCP-Protocol-Version the version in _meta (when
// both are there), Mcp-Method the method, Mcp-Name params.name or
// params.uri. In the 2026-07-28 era a request (a message with an id) must
// carry both versions, Mcp-Method and, when it names a tool, prompt or
// resource, Mcp-Name; MCP defines no header a notification must carry.
func headersAgree(header http.Header, m *Message, modern bool) bool {
	versions := header[headerProtocolVersion]
	switch {
	case len(versions) > 1:
		return false
	case modern && m.ID != nil && (len(versions) == 0 || !m.hasVersion):
		return false
	case len(versions) == 1 && m.hasVersion && versions[0] != m.version:
		return false
	}
	if !m.HasMethod {
		return true
	}
	required := modern && m.ID != nil
	if !headerEquals(header[headerMethod], m.Method, false, required) {
		return false
	}
	switch m.Method {
	case "tools/call", "prompts/get", "resources/read":
		return headerEquals(header[headerName], m.Target, true, required)
	case "resources/subscribe":
		return headerEquals(header[headerName], m.Target, true, false)
	}
	return true
}

// headerEquals reports whether a header's values are one value equal to
// want (after decoding the base64 form when encoded allows it), or no
// value when the header is not required.
func headerEquals(values []string, want string, encoded, required bool) bool {
	switch len(values) {
	case 0:
		return !required
	case 1:
	default:
		return false
	}
	got := values[0]
	if encoded {
		var ok bool
		if got, ok = decodeHeaderValue(got); !ok {
			return false
		}
	} else if !isHeaderText(got) {
		return false
	}
	return got == want
}

// The markers around a base64-encoded header value.
const (
	base64Prefix = "=?base64?"
	base64Suffix = "?="
)

// decodeHeaderValue decodes an Mcp-Name or Mcp-Param value: the value as
// it is, or the standard base64 (with padding) between =?base64? and ?=.
// A value with a byte outside printable ASCII, SP and HTAB, or a broken
// base64 form, is refused.
func decodeHeaderValue(v string) (string, bool) {
	if !isHeaderText(v) {
		return "", false
	}
	inner, ok := strings.CutPrefix(v, base64Prefix)
	if !ok {
		return v, true
	}
	if inner, ok = strings.CutSuffix(inner, base64Suffix); !ok {
		return "", false
	}
	decoded, err := base64.StdEncoding.Strict().DecodeString(inner)
	if err != nil {
		return "", false
	}
	return string(decoded), true
}

// isHeaderText reports whether v holds only printable ASCII, SP and HTAB,
// the bytes MCP allows in a header value.
func isHeaderText(v string) bool {
	for i := 0; i < len(v); i++ {
		if !isQuotable(v[i]) {
			return false
		}
	}
	return true
}
