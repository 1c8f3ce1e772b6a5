package mcpjweauth

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/fhswf/caddy-mcp-jwe-auth/internal/josetest"
	gojose "github.com/go-jose/go-jose/v4"
)

// rfc7520Dir holds the JSON copies of the RFC 7520 vectors, kept beside the
// token core's tests of them.
const rfc7520Dir = "internal/jose/testdata/rfc7520"

// readRFC7520Keys decodes the vector whose file name starts with section
// and a dot: the private key of its JWE and its compact token, and for a
// nested vector (RFC 7520 §6) the signer's key.
func readRFC7520Keys(t testing.TB, section string) (encryptKey json.RawMessage, compact string, signKey json.RawMessage) {
	t.Helper()
	type jweVector struct {
		Input struct {
			Key json.RawMessage `json:"key"`
		} `json:"input"`
		Output struct {
			Compact string `json:"compact"`
		} `json:"output"`
	}
	var vec struct {
		jweVector
		Sign struct {
			Input struct {
				Key json.RawMessage `json:"key"`
			} `json:"input"`
		} `json:"sign"`
		Encrypt *jweVector `json:"encrypt"`
	}
	josetest.ReadRFC7520(t, rfc7520Dir, section, &vec)
	if vec.Encrypt != nil {
		return vec.Encrypt.Input.Key, vec.Encrypt.Output.Compact, vec.Sign.Input.Key
	}
	return vec.Input.Key, vec.Output.Compact, nil
}

// TestRFC7520ThroughHandler sends the RFC's tokens through the handler:
// RFC 7520 §5.2 decrypts to prose and §6 to a JWT without iat whose
// exp has long passed, so both are answered 401 invalid_token.
func TestRFC7520ThroughHandler(t *testing.T) {
	t.Run("5_2", func(t *testing.T) {
		key, compact, _ := readRFC7520Keys(t, "5_2")
		h, _ := hardHandler(t, `mcp_jwe_auth {
	key_file `+josetest.WriteFile(t, t.TempDir(), "k.json", key)+`
	scopes name
	allow_unsigned
}`)
		res := hardServe(t, h, "http://mcp.test/mcp", http.Header{"Authorization": {"Bearer " + compact}})
		josetest.CheckRefusal(t, res.status, res.header, res.body, "http://mcp.test", false)
	})
	t.Run("6", func(t *testing.T) {
		key, compact, signKey := readRFC7520Keys(t, "6")
		var signer gojose.JSONWebKey
		if err := signer.UnmarshalJSON(signKey); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		h, _ := hardHandler(t, `mcp_jwe_auth {
	key_file `+josetest.WriteFile(t, dir, "k.json", key)+`
	issuer_keys `+josetest.WriteJWKS(t, dir, "issuer.json", signer.Public())+`
	audience hobbiton.example
	scopes iss
}`)
		res := hardServe(t, h, "http://mcp.test/mcp", http.Header{"Authorization": {"Bearer " + compact}})
		josetest.CheckRefusal(t, res.status, res.header, res.body, "http://mcp.test", false)
	})
}
