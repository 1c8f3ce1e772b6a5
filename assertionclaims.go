package mcpjweauth

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"sync"
)

// assertionClaims are the claims of an identity assertion.
type assertionClaims struct {
	iss, aud string
	iat, exp int64
	jti      [16]byte // random; the claim is its base64url
	// sub, client_id and scope, each left out when empty.
	sub, clientID, scope string
	// The mcp claim: one object for a single message, an array for a
	// batch, left out when no message has a method.
	ops   []operation
	batch bool
}

// appendJSON appends the claims as one JSON object, in the order iss, aud,
// iat, exp, jti, sub, client_id, scope, mcp: the bytes encoding/json writes
// for them, without its reflection and copies on every request.
func (c *assertionClaims) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"iss":`...)
	dst = appendJSONString(dst, c.iss)
	dst = append(dst, `,"aud":`...)
	dst = appendJSONString(dst, c.aud)
	dst = append(dst, `,"iat":`...)
	dst = strconv.AppendInt(dst, c.iat, 10)
	dst = append(dst, `,"exp":`...)
	dst = strconv.AppendInt(dst, c.exp, 10)
	dst = append(dst, `,"jti":"`...)
	dst = base64.RawURLEncoding.AppendEncode(dst, c.jti[:])
	dst = append(dst, '"')
	dst = appendOptionalMember(dst, `,"sub":`, c.sub)
	dst = appendOptionalMember(dst, `,"client_id":`, c.clientID)
	dst = appendOptionalMember(dst, `,"scope":`, c.scope)
	dst = appendMCPMember(dst, c.ops, c.batch)
	return append(dst, '}')
}

// appendMCPMember appends the mcp member, `,"mcp":` and its value, or
// nothing when no operation has a method (ops is empty).
func appendMCPMember(dst []byte, ops []operation, batch bool) []byte {
	if len(ops) == 0 {
		return dst
	}
	dst = append(dst, `,"mcp":`...)
	if !batch {
		return appendMCPClaim(dst, ops[0])
	}
	dst = append(dst, '[')
	for i, op := range ops {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendMCPClaim(dst, op)
	}
	return append(dst, ']')
}

// appendMCPClaim appends the mcp claim of one message: method, then name
// (tools, prompts) or uri (resources), then arguments_sha256, the last two
// left out when empty.
func appendMCPClaim(dst []byte, op operation) []byte {
	dst = append(dst, `{"method":`...)
	dst = appendJSONString(dst, op.method)
	if op.resource {
		dst = appendOptionalMember(dst, `,"uri":`, op.target)
	} else {
		dst = appendOptionalMember(dst, `,"name":`, op.target)
	}
	dst = appendOptionalMember(dst, `,"arguments_sha256":`, op.argumentsSHA256)
	return append(dst, '}')
}

// appendOptionalMember appends name (with its comma and colon) and the
// string value, or nothing when value is empty.
func appendOptionalMember(dst []byte, name, value string) []byte {
	if value == "" {
		return dst
	}
	return appendJSONString(append(dst, name...), value)
}

// appendJSONString appends s as a JSON string, as encoding/json writes it:
// printable ASCII other than ", \, <, > and & as it is, and, should s have
// anything else, the whole of it encoded by encoding/json.
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			quoted, _ := json.Marshal(s) // a string always encodes
			return append(dst, quoted...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// claimsBuffers lend the buffers the claims of an assertion are written
// into; one that grew beyond maxPooledClaims (a batch of long names) is
// left to the garbage collector rather than kept.
var claimsBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledClaims is the largest claims buffer put back into claimsBuffers.
const maxPooledClaims = 16 << 10
