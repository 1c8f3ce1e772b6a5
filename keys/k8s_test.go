package keys

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestSecret(t *testing.T) {
	jwks := []byte("{\"keys\":[{\"kty\":\"RSA\"}]}\n")
	out, err := Secret("mcp-keys.prod", "team-a", jwks)
	if err != nil {
		t.Fatal(err)
	}
	var secret struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Type       string `json:"type"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
		Data map[string]string `json:"data"`
	}
	if err := yaml.UnmarshalStrict(out, &secret); err != nil {
		t.Fatalf("the Secret is not the expected YAML: %v\n%s", err, out)
	}
	if secret.APIVersion != "v1" || secret.Kind != "Secret" || secret.Type != "Opaque" {
		t.Errorf("apiVersion %q kind %q type %q", secret.APIVersion, secret.Kind, secret.Type)
	}
	if secret.Metadata.Name != "mcp-keys.prod" || secret.Metadata.Namespace != "team-a" {
		t.Errorf("metadata %+v", secret.Metadata)
	}
	if len(secret.Data) != 1 {
		t.Errorf("data has %d entries, want 1", len(secret.Data))
	}
	decoded, err := base64.StdEncoding.DecodeString(secret.Data[SecretDataKey])
	if err != nil {
		t.Fatalf("data.%s is not standard base64: %v", SecretDataKey, err)
	}
	if !bytes.Equal(decoded, jwks) {
		t.Errorf("data.%s decodes to %q, want %q", SecretDataKey, decoded, jwks)
	}
}

func TestSecretNames(t *testing.T) {
	for _, tc := range []struct {
		name, namespace string
		ok              bool
	}{
		{DefaultSecretName, DefaultNamespace, true},
		{"a", "b", true},
		{"a.b-c.d", "x-1", true},
		{strings.Repeat("a", 253), strings.Repeat("b", 63), true},
		{strings.Repeat("a", 254), "ns", false},
		{"name", strings.Repeat("b", 64), false},
		{"", "ns", false},
		{"name", "", false},
		{"Upper", "ns", false},
		{"name", "Upper", false},
		{"-lead", "ns", false},
		{"trail-", "ns", false},
		{"a..b", "ns", false},
		{"a_b", "ns", false},
		{"name", "a.b", false},
		{"name\nkind: Evil", "ns", false},
	} {
		_, err := Secret(tc.name, tc.namespace, []byte("{}"))
		if (err == nil) != tc.ok {
			t.Errorf("Secret(%q, %q): %v, want ok %v", tc.name, tc.namespace, err, tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("error spans lines: %q", err)
		}
	}
}
