package keys

import (
	"crypto"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gojose "github.com/go-jose/go-jose/v4"
)

func TestWriteDPoPKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dpop.json")
	key, err := WriteDPoPKey(path, false)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v; want 0600", info.Mode(), err)
	}
	var jwk gojose.JSONWebKey
	if err := json.Unmarshal(readFile(t, path), &jwk); err != nil || jwk.IsPublic() || jwk.Use != "sig" || jwk.KeyID != "" {
		t.Fatalf("file is not a private signing JWK without kid: %+v %v", jwk, err)
	}
	binding, err := DPoPBinding(key)
	if err != nil {
		t.Fatal(err)
	}
	public := jwk.Public()
	tp, err := public.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if want := base64.RawURLEncoding.EncodeToString(tp); binding["jkt"] != want {
		t.Fatalf("jkt %v, want the go-jose thumbprint %s", binding["jkt"], want)
	}
	if _, err := WriteDPoPKey(path, false); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("existing file replaced without force: %v", err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := WriteDPoPKey(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Fatalf("replaced file has mode %v", info.Mode())
	}
	if b, _ := DPoPBinding(again); b["jkt"] == binding["jkt"] {
		t.Fatal("force wrote the same key")
	}
}
