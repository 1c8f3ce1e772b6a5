package mcpjweauth

import (
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func TestSmokeVerify(t *testing.T) {
	dir := t.TempDir()
	key := testRSAKey(t, 0)
	path := writeJWKS(t, dir, "k.json", joseJWK(t, key, "k1", "RSA-OAEP", "enc"))
	keys, err := loadDecryptionKeys(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	v := &verifier{keys: keys, encryptions: defaultContentEncryptions, leeway: 30 * time.Second, maxTokenBytes: 16384, now: func() time.Time { return now }}
	tok := joseEncrypt(t, claimsJSON(t, now, map[string]any{"name": "Ada", "email": "a@b"}), jose.RSA_OAEP, jose.A256GCM, &key.PublicKey, "k1", nil)
	got, err := v.verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", got.claimsJSON)
	t.Logf("%s", keys.publicJWKS)
}
